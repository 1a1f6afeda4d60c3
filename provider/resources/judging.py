"""From resource inputs to what :mod:`provider.prediction` judges (provider side).

The program passes, besides each value, *references* into its own graph: a
:class:`SigningProfile` declared in the program is named by its URN (``ref``) even before
its version ARN exists. Here those inputs, with unknowns, become a
:class:`~provider.prediction.KnownConfig` and the prediction's code; what exists already
is looked up in the backend (a stored config, a package's facts, a profile's version).
The findings said on resources are phrased here too, with remedies a Pulumi user can do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from provider.backends.base import Backend
from provider.deployed import DeployedArtifact, facts_of_deployed
from provider.errors import CodesignError
from provider.objects import S3Object
from provider.prediction import (
    KnownCode,
    KnownConfig,
    PendingSignature,
    Prediction,
    Publisher,
    combined,
    predict,
)
from provider.resources._base import is_unknown
from provider.resources.report import finding
from provider.verdict import ArtifactFacts, Decision, FailedCheck, Reason


def _known(value: Any) -> Any:
    return None if value is None or is_unknown(value) else value


def profile_arn(backend: Backend | None, name: Any) -> str | None:
    """The current version ARN of profile ``name``, when it exists already."""
    if _known(name) is None or backend is None:
        return None
    try:
        return backend.signing_profile(str(name)).profile_version_arn
    except CodesignError:
        return None  # a profile this update creates


def _publishers(inputs: dict[str, Any], backend: Backend | None) -> tuple[Publisher, ...] | None:
    refs = inputs.get("publisher_refs")
    allowed = inputs.get("allowed_publishers")
    if isinstance(refs, list):
        publishers = []
        for index, ref in enumerate(refs):
            ref = ref if isinstance(ref, dict) else {}
            arn = (
                _known(allowed[index])
                if isinstance(allowed, list) and index < len(allowed)
                else None
            )
            arn = arn or _known(ref.get("arn"))
            urn = _known(ref.get("ref"))
            if arn is None and urn is not None:
                # Known to the program as a profile: an existing one (being updated) has
                # its version ARN in the backend; otherwise this update creates it.
                arn = profile_arn(backend, ref.get("profile_name"))
            publishers.append(
                Publisher(None if arn is None else str(arn), None if urn is None else str(urn))
            )
        return tuple(publishers)
    if isinstance(allowed, list):
        return tuple(Publisher(_known(a)) for a in allowed)
    return None


def known_config(inputs: dict[str, Any], backend: Backend | None) -> KnownConfig | None:
    """The code signing config a function is deployed under, as far as known; ``None``
    when it has none. With no ``backend`` (a policy pack, say), from the inputs alone:
    nothing that exists is looked up."""
    arn = inputs.get("code_signing_config_arn")
    policy = inputs.get("code_signing_policy")
    if arn is None and policy is None:
        return None
    if policy is not None:
        known_policy = _known(policy)
        return KnownConfig(
            None if known_policy is None else str(known_policy),
            _publishers(inputs, backend),
            _known(arn),
        )
    if is_unknown(arn) or backend is None:
        return KnownConfig(None, None, _known(arn))
    return KnownConfig.of(backend.csc_policy_of(str(arn)))


def location_of(code: Any) -> Path | S3Object | None:
    """Code as an input gives it: ``s3://bucket/key[?versionId=V]`` or a local path
    (``None`` while unknown)."""
    if code is None or is_unknown(code):
        return None
    if isinstance(code, Path | S3Object):
        return code
    text = str(code)
    return S3Object.parse(text, "code") if text.startswith("s3:/") else Path(text)


#: How a caller with no backend (a policy pack) reads a .zip: ``(path, name) -> facts``,
#: or ``None`` when nothing can be known of it.
FileReader = Callable[[Path, str], KnownCode]


def known_code(
    code: Any,
    package: Any,
    backend: Backend | None,
    name: str,
    read: FileReader | None = None,
) -> KnownCode:
    """What is known of ``code`` (a local .zip or directory: zipped unsigned; or an S3
    object), or, while it is unknown, of the :class:`SignedPackage` ``package`` that will
    sign it. With no ``backend``, a local .zip is read with ``read`` when given (else
    nothing is read: the signer's records are the backend's)."""
    location = location_of(code)
    if isinstance(location, Path) and location.is_dir():
        return ArtifactFacts(name=name, signed=False)
    if location is not None and backend is not None:
        return backend.package_facts(location, name=name)
    if isinstance(location, Path) and read is not None:
        return read(location, name)
    if isinstance(location, S3Object):
        return None  # an existing object: only a backend reads its signing job's records
    if isinstance(package, dict):
        arn = _known(package.get("profile_version_arn")) or profile_arn(
            backend, package.get("profile_name")
        )
        return PendingSignature(_known(package.get("signer_ref")), arn)
    return None


def reported_facts(backend: Backend, artifact: DeployedArtifact, name: str) -> ArtifactFacts | None:
    """The facts of deployed code from the signer Lambda reports for it
    (:func:`provider.deployed.facts_of_deployed`: its signing job's and profile's records,
    and whether it is still the object the job signed); ``None`` when Lambda reports no
    signer, and the caller judges what it recorded deploying instead."""
    if not artifact.signed:
        return None
    return facts_of_deployed(artifact, backend, name=name, signed_sha256=backend.signed_sha256)


def layer_label(index: int, layer: dict[str, Any]) -> str:
    """How the ``index``-th entry of a function's ``layers`` input is named: its version
    ARN when known, else its layer name, else its position."""
    name = layer.get("name")
    arn = layer.get("arn")
    if not is_unknown(arn) and arn:
        return f"layer {arn}"
    return f"layer {name}" if name and not is_unknown(name) else f"layer #{index + 1}"


def layer_code(
    backend: Backend | None, layer: dict[str, Any], name: str, read: FileReader | None = None
) -> KnownCode:
    """A layer entry as published (by ARN, where ``backend`` keeps its content), else its
    code, else the package that will sign it."""
    arn = layer.get("arn")
    if backend is not None and arn and not is_unknown(arn):
        published = backend.layer_version_code(str(arn))
        if published is not None:
            return known_code(published, None, backend, name)
    return known_code(layer.get("code"), layer.get("package"), backend, name, read)


_INTEGRITY_REMEDY = (
    "rebuild the code and deploy it from a SignedPackage; never modify a signed package"
)
#: What a Pulumi user does about a failed check, by why it failed.
_PULUMI_REMEDIES = {
    Reason.MALFORMED: _INTEGRITY_REMEDY,
    Reason.CHANGED: _INTEGRITY_REMEDY,
    Reason.UNVERIFIED_KEY: _INTEGRITY_REMEDY,
    Reason.NOT_SIGNED: (
        "deploy the code from a SignedPackage signed by a profile the code signing config lists"
    ),
    Reason.NOT_ALLOWED: (
        "add the SigningProfile (or its profile_version_arn) to the "
        "CodeSigningConfig's allowed_publishers, or sign with a profile it lists"
    ),
    Reason.EXPIRED: (
        "sign the package again with a new signing job: for a SignedPackage, "
        "`pulumi up --replace <its URN>`, or set its renew_before"
    ),
    Reason.SIGNATURE_REVOKED: (
        "sign the package again with a new signing job: a SignedPackage does so on "
        "the next `pulumi up`"
    ),
    Reason.PROFILE_REVOKED: (
        "create a new SigningProfile (a new profile version), add it to the "
        "CodeSigningConfig's allowed_publishers, and sign the package with it"
    ),
}


def pulumi_remedy(failed: FailedCheck) -> str:
    """What a Pulumi user does about one failed check."""
    return _PULUMI_REMEDIES[failed.reason]


def remedies(predictions: Sequence[Prediction]) -> str:
    """The distinct remedies of the failed checks, in order."""
    return "; ".join(dict.fromkeys(pulumi_remedy(f) for p in predictions for f in p.failed))


def deploy_findings(predictions: Sequence[Prediction]) -> list[dict[str, str]]:
    """What a preview says of a deploy this update makes (code and layers)."""
    decision = combined(p.decision for p in predictions)
    said = "; ".join(p.message for p in predictions if p.decision in (decision, Decision.REJECT))
    if decision is Decision.REJECT:
        fix = remedies([p for p in predictions if p.decision is Decision.REJECT])
        return [finding("error", f"code signing: {said}. To fix: {fix}")]
    if decision is Decision.WARN:
        return [finding("warning", f"code signing: {said}. To trust it: {remedies(predictions)}")]
    if decision is Decision.UNKNOWN:
        return [finding("warning", f"code signing: {said}")]
    return [finding("info", f"code signing: {'; '.join(p.message for p in predictions)}")]


def signer_note(backend: Backend, package: Any) -> str:
    """Said with the standing of code from a :class:`SignedPackage` whose profile can sign
    no more (canceled or revoked): signing the package again cannot be the fix."""
    name = _known(package.get("profile_name")) if isinstance(package, dict) else None
    if name is None:
        return ""
    try:
        profile = backend.signing_profile(str(name))
    except CodesignError:
        return ""
    if profile.active:
        return ""
    return f"; its SignedPackage cannot be signed again: profile {name!r} is {profile.status}"


def standing_findings(predictions: Sequence[Prediction], note: str = "") -> list[dict[str, str]]:
    """What a preview says of code already deployed and not redeployed: always warnings.
    ``note`` is added to what is said of the function's code (the first prediction)."""
    out = []
    for index, p in enumerate(predictions):
        if p.decision is Decision.ALLOW:
            continue
        if p.decision is Decision.REJECT:
            next_deploy = f"its next code deploy would be rejected with {p.exception}"
        elif p.decision is Decision.WARN:
            next_deploy = "its next code deploy would go ahead with a warning under Warn"
        else:
            next_deploy = f"the verdict of its next code deploy is UNKNOWN ({p.waiting_for})"
        detail = f" ({p.reasons})" if p.failed else ""
        fix = f"; to fix: {remedies([p])}" if p.failed else ""
        said = note if index == 0 and p.failed else ""
        out.append(
            finding(
                "warning",
                f"code signing: the deployed {p.name}{detail} keeps running; {next_deploy}"
                f"{said}{fix}",
            )
        )
    return out


def standing_document(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """The stable record of deployed code's standing, code first, then layers (no names or
    instants, so a prediction and the deployed code's evaluation compare equal): state and
    refresh diffs show a change of it, and only a change."""
    return {
        "decision": combined(p.decision for p in predictions).value,
        "artifacts": [
            {
                "decision": p.decision.value,
                "policy": p.policy,
                "failed_checks": [f"{f.check.value}: {f.message}" for f in p.failed],
            }
            for p in predictions
        ],
    }


def judge(
    named: Sequence[tuple[str, KnownCode]], view: KnownConfig, at: datetime
) -> list[Prediction]:
    """Predict each named artifact under ``view`` at ``at``."""
    return [predict(name, code, view, at) for name, code in named]
