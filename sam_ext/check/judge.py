"""The typed model judged by the one prediction: each function's code under its config, each
layer under the config of every function that uses it (the worst use is reported).

Nothing here decides: :func:`provider.prediction.predict` does, over what the backend
knows of the code (``file_facts`` for a local signed package, ``package_facts`` for an S3
object, a :class:`~provider.prediction.PendingSignature` for code ``--signing-profiles``
would sign), and this module says it as a :class:`~sam_ext.check.findings.Finding` with a
remedy the user can run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from provider.arns import parse_profile_version_arn
from provider.errors import CodesignError, NotFoundError, ValidationError
from provider.lookups import carried, looked_up
from provider.package import PackageError, read_layout
from provider.prediction import KnownCode, KnownConfig, PendingSignature, Prediction, predict
from provider.statuses import ArtifactKind, ProfileStatus
from provider.verdict import SEVERITY, ArtifactFacts, Check, Decision, Reason
from provider.workers import run_all
from sam_ext.check.findings import Finding, Standing
from sam_ext.check.model import CodeKind, LambdaResource, TemplateModel
from sam_ext.packaging.csc import CscResolution, is_profile_version_arn
from sam_ext.signing_profiles import SigningProfileRef

if TYPE_CHECKING:
    from provider.backends.base import Backend
    from provider.backends.values import SigningProfile

_ALL = frozenset(Check)
#: S3 objects looked up at once (each waits on S3 and Signer, not on this process).
LOOKUPS = 16
_STANDING = {
    Decision.ALLOW: Standing.ALLOW,
    Decision.WARN: Standing.WARN,
    Decision.REJECT: Standing.REJECT,
    Decision.UNKNOWN: Standing.UNKNOWN,
}


def _unknown(name: str, why: str) -> ArtifactFacts:
    return ArtifactFacts(name, unknown=_ALL, undecided=why)


def _profile_name(arn: str) -> str | None:
    try:
        return parse_profile_version_arn(arn).name
    except ValidationError:  # one that is no version ARN may still name the profile
        named = _NAMED.search(arn)
        return named[1] if named else None


#: The profile name in something shaped like a profile version ARN.
_NAMED = re.compile(r"/signing-profiles/([a-zA-Z0-9_]{2,64})/[a-zA-Z0-9]{10}$")


@dataclass(frozen=True)
class _Judged:
    prediction: Prediction
    resource: LambdaResource
    config: CscResolution


class Judge:
    """Judges a template model on a backend at an instant."""

    def __init__(self, backend: Backend, at: datetime) -> None:
        self.backend = backend
        self.at = at
        self._code: dict[tuple[CodeKind, str, SigningProfileRef | None], KnownCode] = {}

    # --- the code, as the prediction knows it ------------------------------------------
    def _local_facts(self, path: Path, name: str) -> ArtifactFacts:
        if path.is_dir():
            return ArtifactFacts(name, signed=False)  # packaged into a new, unsigned .zip
        try:
            return self.backend.file_facts(path, name=name)
        except ValidationError:
            pass  # a backend that judges no local files (aws): is the file signed at all?
        try:
            layout = read_layout(path.read_bytes())
        except PackageError as exc:
            return ArtifactFacts(name, malformed=exc.message)
        except OSError as exc:
            return _unknown(name, f"{path} cannot be read ({exc.strerror})")
        if layout is None:
            return ArtifactFacts(name, signed=False)
        return _unknown(
            name,
            f"{path} carries a signature that this backend verifies only once it is in S3",
        )

    def _pending(self, resource: LambdaResource, name: str) -> KnownCode:
        profile = resource.signing_profile
        assert profile is not None
        try:
            found = self._profile(profile)
        except CodesignError as exc:
            return _unknown(
                name,
                f"--signing-profiles names the profile {profile.profile_name}, which cannot "
                f"be read ({exc.message})",
            )
        if found.status is not ProfileStatus.ACTIVE:
            return _unknown(
                name,
                f"--signing-profiles names the profile {profile.profile_name}, which is "
                f"{found.status} and starts no signing job",
            )
        return PendingSignature(profile_version_arn=found.profile_version_arn)

    def _check_profiles(self, model: TemplateModel) -> None:
        """A ``--signing-profiles`` profile that does not exist is bad input, raised as
        ``sam-ext package`` raises it (its look-up's NotFoundError); one that cannot be
        read for another reason leaves its resources UNKNOWN, said per finding."""
        for resource in model.resources:
            if resource.signing_profile is not None:
                try:
                    self._profile(resource.signing_profile)
                except NotFoundError:
                    raise
                except CodesignError:
                    pass

    def _profile(self, profile: SigningProfileRef) -> SigningProfile:
        """GetSigningProfile, once per profile in the check's look-up scope (or its error,
        raised again)."""
        return looked_up(
            ("signing_profile", profile.profile_name, profile.profile_owner or ""),
            lambda: self.backend.signing_profile(
                profile.profile_name, profile_owner=profile.profile_owner
            ),
        )

    @staticmethod
    def _key(resource: LambdaResource) -> tuple[CodeKind, str, SigningProfileRef | None]:
        # Judged once per package (and profile that would sign it), not per resource.
        code = resource.code
        where = code.path or (code.s3.uri if code.s3 else resource.path)
        return (code.kind, str(where), resource.signing_profile)

    def prefetch(self, model: TemplateModel) -> None:
        """Read the S3 objects of ``model`` at once (each is a few requests that wait on
        the service), at most :data:`LOOKUPS` at a time, on the project's one pool; each
        thread reads through this check's look-ups (:func:`provider.lookups.carried`)."""
        wanted = {
            self._key(r): r
            for r in model.resources
            if r.code.kind is CodeKind.S3 and self._key(r) not in self._code
        }
        if len(wanted) < 2:
            return
        read = run_all(
            carried(self._read_named), list(wanted.values()), workers=LOOKUPS, name="check"
        )
        self._code.update(zip(wanted, read, strict=True))

    def code(self, resource: LambdaResource, name: str) -> KnownCode:
        """What the prediction knows of ``resource``'s code (cached per package)."""
        key = self._key(resource)
        if key not in self._code:
            self._code[key] = self._read_code(resource, name)
        found = self._code[key]
        if isinstance(found, ArtifactFacts):
            return ArtifactFacts(**{**found.__dict__, "name": name})
        return found

    def _read_named(self, resource: LambdaResource) -> KnownCode:
        return self._read_code(resource, _name(resource))

    def _read_code(self, resource: LambdaResource, name: str) -> KnownCode:
        code = resource.code
        if code.local and resource.signing_profile is not None:
            return self._pending(resource, name)
        if code.local and code.path is not None:
            return self._local_facts(code.path, name)
        if code.kind is CodeKind.INLINE:
            return ArtifactFacts(name, signed=False)
        if code.kind is CodeKind.S3 and code.s3 is not None:
            try:
                return self.backend.package_facts(code.s3, name=name)
            except CodesignError as exc:
                return _unknown(name, f"{code.s3.uri} cannot be judged here ({exc.message})")
        return _unknown(name, code.reason or "the code is not known until deploy")

    # --- findings ----------------------------------------------------------------------
    def findings(self, model: TemplateModel, package_template: Path) -> list[Finding]:
        """One finding per function and layer of ``model``, in template order."""
        self._check_profiles(model)
        self.prefetch(model)
        functions = [r for r in model.resources if r.kind is ArtifactKind.FUNCTION]
        found: list[Finding] = []
        for resource in model.resources:
            if resource.kind is ArtifactKind.FUNCTION:
                found.append(self._function(resource, package_template))
            else:
                users = [
                    f
                    for f in functions
                    if f.template == resource.template
                    and f.nested_in == resource.nested_in
                    and resource.logical_id in f.layers
                ]
                found.append(self._layer(resource, users, package_template))
        return found

    def _function(self, resource: LambdaResource, package_template: Path) -> Finding:
        name = _name(resource)
        if resource.code.kind is CodeKind.IMAGE:
            return _finding(
                resource,
                Standing.NOT_APPLICABLE,
                f"{name}: a container image; Lambda's code signing does not apply to "
                "container images (its config, if any, is not checked)",
            )
        config = resource.config
        known = config.known_config() if config is not None else None
        if config is None or known is None:
            return _finding(
                resource,
                Standing.NO_CONFIG,
                f"{name}: no code signing config; Lambda deploys any code, signed or not",
                remedy="Attach a code signing config (CodeSigningConfigArn) whose policy is "
                "Enforce to have Lambda check this function's code.",
            )
        judged = _Judged(predict(name, self.code(resource, name), known, self.at), resource, config)
        return _said(judged, known, package_template)

    def _layer(
        self, resource: LambdaResource, users: list[LambdaResource], package_template: Path
    ) -> Finding:
        name = _name(resource)
        judged: list[_Judged] = []
        for user in users:
            config = user.config
            known = config.known_config() if config is not None else None
            if user.code.kind is CodeKind.IMAGE or config is None or known is None:
                continue
            label = f"{name} (a layer of {_name(user)})"
            prediction = predict(label, self.code(resource, label), known, self.at)
            judged.append(_Judged(prediction, resource, config))
        if not judged:
            return _finding(
                resource,
                Standing.NO_CONFIG,
                f"{name}: no function of this template with a code signing config uses "
                "this layer; Lambda checks a layer under the config of each function that "
                "uses it, when that function deploys",
            )
        worst = max(judged, key=lambda j: SEVERITY.index(j.prediction.decision))
        known = worst.config.known_config()
        assert known is not None
        return _said(worst, known, package_template)


def _name(resource: LambdaResource) -> str:
    return resource.construct_path or resource.path


def _finding(
    resource: LambdaResource,
    standing: Standing,
    message: str,
    *,
    policy: str | None = None,
    check: str | None = None,
    exception: str | None = None,
    remedy: str | None = None,
) -> Finding:
    return Finding(
        template=resource.template,
        logical_id=resource.logical_id,
        resource_type=resource.resource_type,
        construct_path=resource.construct_path,
        standing=standing,
        policy=policy,
        check=check,
        exception=exception,
        message=message,
        remedy=remedy,
        nested_in=resource.nested_in,
    )


def package_command(template: Path, resource_id: str, profile: str) -> str:
    """The ``sam-ext package`` command that signs one function's or layer's code."""
    pair = f"{resource_id}={profile}"
    if template.is_relative_to(Path.cwd()):
        template = template.relative_to(Path.cwd())
    return (
        f"sam-ext package --template-file {shlex.quote(str(template))} "
        f"--signing-profiles {shlex.quote(pair)}"
    )


#: How CDK's ``signer.SigningProfile.from_signing_profile_attributes`` writes a profile
#: version ARN: ``arn:...:ACCOUNT://signing-profiles/NAME/VERSION``.
_CDK_DOUBLE_SLASH = "://signing-profiles/"


def _not_version_arns(
    prediction: Prediction, known: KnownConfig, remedy: str | None, resource: LambdaResource
) -> tuple[str, str] | None:
    """When the mismatch check failed under a config listing a publisher that is no
    signing profile version ARN (so no signature can match it): what to add to the
    message, and the remedy (listing the exact ARN; then ``remedy``, when the code is
    unsigned)."""
    if not any(f.check is Check.MISMATCH for f in prediction.failed):
        return None
    bad = [a for a in known.known_arns if not is_profile_version_arn(a)]
    if not bad:
        return None
    shape = "Signer's are arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME/VERSION"
    said = "; ".join(
        f"the config's publisher {a} is not a signing profile version ARN ("
        + (
            "CDK's signer.SigningProfile.from_signing_profile_attributes writes it with a "
            "double slash after the account; "
            if _CDK_DOUBLE_SLASH in a
            else ""
        )
        + f"{shape})"
        for a in bad
    )
    said += "; no signature can match it" if len(bad) == 1 else "; no signature can match them"
    example = next(
        (
            fixed
            for a in bad
            if is_profile_version_arn(fixed := a.replace(_CDK_DOUBLE_SLASH, ":/signing-profiles/"))
        ),
        "arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME/VERSION",
    )
    fix = (
        "List the exact profile version ARN Signer gives (e.g. "
        f"{example}) in AllowedPublishers.SigningProfileVersionArns: in CDK, "
        'cfn_csc.add_property_override("AllowedPublishers.SigningProfileVersionArns", [arn]) '
        "as examples/cdk/app.py does, with the ARN from the administrator's profile "
        "(sam-ext profile get --profile-name NAME, or aws signer get-signing-profile)"
    )
    unsigned = any(f.reason is Reason.NOT_SIGNED for f in prediction.failed)
    if unsigned and remedy and resource.code.local:
        fix += "; then sign: " + remedy
    return said, fix


def _said(judged: _Judged, known: KnownConfig, package_template: Path) -> Finding:
    prediction, resource, config = judged.prediction, judged.resource, judged.config
    standing = _STANDING[prediction.decision]
    check: str | None = None
    if prediction.failed:
        check = prediction.failed[0].check.value
    elif prediction.undecided:
        check = next(iter(prediction.undecided)).value
    message = prediction.message
    remedy: str | None = None
    # How the author names it to `sam-ext package`: a CDK construct path as written in the
    # app (Shop/Checkout), else the logical id (or the path down nested stacks).
    resource_id = resource.path
    if resource.construct_path and not resource.nested_in:
        resource_id = resource.construct_path.removesuffix("/Resource")
    names = [n for a in known.known_arns if (n := _profile_name(a))]
    profile = names[0] if names else "PROFILE"
    if config.only_template_profiles and standing is not Standing.ALLOW:
        created = ", ".join(config.template_profiles)
        outcome = ", ".join(p for p in (prediction.policy, prediction.exception) if p)
        if prediction.policy is not None:
            consequence = f"so this deploy cannot satisfy it ({outcome})"
        else:  # UNKNOWN: whether a mismatch is refused is the policy's to say
            why = f" ({config.unknown_reason})" if config.unknown_reason else ""
            consequence = (
                f"so no package of this deploy can match its publishers; its policy is not "
                f"known before deploy{why}, so whether Lambda would reject the deploy or only "
                "warn is not known"
            )
        message = (
            f"{_name(resource)}: its code signing config {known.arn or ''} lists only signing "
            f"profiles this template creates ({created}); no package can be signed by a "
            f"profile that does not exist yet, {consequence}"
        ).replace("config  lists", "config lists")
        remedy = (
            "Create the signing profile first (its own stack, or sam-ext profile put "
            "--profile-name NAME), list its version ARN in the code signing config (in CDK: "
            "signer.SigningProfile.from_signing_profile_attributes, with AllowedPublishers "
            "overridden to that exact ARN as examples/cdk/app.py does), then sign: "
            + package_command(package_template, resource_id, "NAME")
        )
    elif standing is not Standing.ALLOW:
        if config.policy is None and config.unknown_reason and standing is Standing.UNKNOWN:
            message += (
                f"; the code signing config is not known before deploy: {config.unknown_reason}"
            )
        reasons = {f.reason for f in prediction.failed}
        if resource.code.local and (Reason.NOT_SIGNED in reasons or Reason.NOT_ALLOWED in reasons):
            remedy = package_command(package_template, resource_id, profile)
        elif prediction.failed:
            remedy = prediction.failed[0].remedy
        explained = _not_version_arns(prediction, known, remedy, resource)
        if explained is not None:
            message = f"{message}; {explained[0]}"
            remedy = explained[1]
    return _finding(
        resource,
        standing,
        message,
        policy=prediction.policy,
        check=check,
        exception=prediction.exception,
        remedy=remedy,
    )
