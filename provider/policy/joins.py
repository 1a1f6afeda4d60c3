"""Which config governs each function, which package its code is, and the verdict (pure).

Everything here is a function of the stack's resources (:class:`~provider.policy.shapes.
Resource`, plain wire-shaped dicts) and an instant; the only facts not read from them, those
of a local .zip that no ``SignedPackage`` of the stack made, come from a callback the
caller supplies (:mod:`provider.policy.evidence` reads the file). Verdicts come from the
project's one :func:`provider.verdict.decide`.

Joins, in the order tried:

- function -> config: the config resource its code signing config input depends on (the
  program's own graph, known before anything exists), else the config whose ``arn`` equals
  the function's ARN, else (this project's ``LambdaFunction``) the policy and publishers the
  function carries itself;
- function or layer -> package: the ``SignedPackage`` its code inputs depend on, else the one
  whose ``bucket``/``key`` (and ``object_version`` when both are known) or ``location`` equal
  the code's;
- package -> signer: its ``profile_version_arn``, else the signing profile its
  ``profile_name`` depends on; a config lists that signer when its publishers hold the ARN or
  depend on that same profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from provider.clock import parse_instant
from provider.errors import CodesignError
from provider.policy.shapes import (
    ConfigView,
    FunctionView,
    LayerView,
    LocalFile,
    PackageView,
    ProfileView,
    Resource,
    S3Object,
    config_view,
    function_view,
    layer_view,
    package_view,
    profile_view,
)
from provider.policy.wire import Unknown
from provider.validity import ValidityPeriod
from provider.verdict import ArtifactFacts, Check, CscPolicy, Verdict, decide

#: Facts of a local .zip no package of the stack made: ``(path, function) -> facts``.
FileFacts = Callable[[str, FunctionView], ArtifactFacts]


@dataclass(frozen=True)
class Stack:
    """The resources of one preview, indexed by kind."""

    functions: tuple[FunctionView, ...]
    configs: dict[str, ConfigView]
    packages: dict[str, PackageView]
    layers: dict[str, LayerView]
    profiles: dict[str, ProfileView]

    @classmethod
    def of(cls, resources: Iterable[Resource]) -> Stack:
        """Index ``resources`` by what the pack knows of them."""
        functions: list[FunctionView] = []
        configs: dict[str, ConfigView] = {}
        packages: dict[str, PackageView] = {}
        layers: dict[str, LayerView] = {}
        profiles: dict[str, ProfileView] = {}
        for resource in resources:
            if (function := function_view(resource)) is not None:
                functions.append(function)
            elif (config := config_view(resource)) is not None:
                configs[resource.urn] = config
            elif (package := package_view(resource)) is not None:
                packages[resource.urn] = package
            elif (layer := layer_view(resource)) is not None:
                layers[resource.urn] = layer
            elif (profile := profile_view(resource)) is not None:
                profiles[resource.urn] = profile
        return cls(tuple(functions), configs, packages, layers, profiles)


@dataclass(frozen=True)
class Prediction:
    """What the next deploy of one function's code, or of one of its layers, would meet."""

    function: FunctionView
    #: ``function F`` or ``layer L of function F``.
    label: str
    config: ConfigView | None
    #: ``None`` when the pack cannot decide (then ``undecided`` says why).
    verdict: Verdict | None
    undecided: str | None = None
    package: PackageView | None = None

    @property
    def deploying(self) -> bool:
        """Whether this update deploys the code (else the verdict is its standing: what the
        next code deploy would meet, while the deployed code keeps running)."""
        return self.function.deploys_code

    @property
    def expires_at(self) -> datetime | None:
        """When the signature that is or will be deployed expires, when known."""
        return self.verdict.facts.expires_at if self.verdict else None


@dataclass(frozen=True)
class Undecided:
    """Why the pack cannot decide (an input unknown until deploy, a config or code it
    cannot see): said, never taken as "allowed"."""

    reason: str


def config_for(function: FunctionView, stack: Stack) -> ConfigView | Undecided | None:
    """The config governing ``function``; ``None`` when it has none."""
    for urn in function.csc_dependencies:
        if urn in stack.configs:
            return stack.configs[urn]
    arn = function.csc_arn
    if isinstance(arn, str):
        for config in stack.configs.values():
            if config.arn == arn:
                return config
    if function.inline_policy is not None and function.inline_publishers is not None:
        # LambdaFunction(code_signing_config=CodeSigningConfig(...)) carries both.
        return ConfigView(
            function.resource,
            arn=arn,
            policy=function.inline_policy,
            publishers=function.inline_publishers,
            publisher_dependencies=function.csc_dependencies,
        )
    if arn is None:
        return None
    if isinstance(arn, Unknown):
        return Undecided("its code signing config ARN is not known until deploy")
    return Undecided(f"its code signing config {arn} is not declared in this stack")


def package_for(
    code: object, dependencies: Sequence[str], stack: Stack
) -> tuple[PackageView | None, bool]:
    """The ``SignedPackage`` that ``code`` is, and whether the code takes that package's
    own outputs (a dependency, so the same object for certain)."""
    for urn in dependencies:
        if urn in stack.packages:
            return stack.packages[urn], True
    for package in stack.packages.values():
        if (
            isinstance(code, S3Object)
            and isinstance(code.bucket, str)
            and isinstance(code.key, str)
        ):
            if (package.bucket, package.key) != (code.bucket, code.key):
                continue
            versions = (package.object_version, code.version)
            if all(isinstance(v, str) for v in versions) and versions[0] != versions[1]:
                continue
            return package, False
        if isinstance(code, LocalFile) and isinstance(code.path, str):
            if package.location != code.path:
                continue
            return package, False
    return None, False


def _instant(value: object, what: str) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value, field=what)
    except CodesignError:
        return None


def _profile_token(profile: ProfileView) -> str:
    """How a signer whose version ARN is not known yet is named (and matched)."""
    return f"the new version of signing profile {profile.resource.name}"


def _signer(package: PackageView, stack: Stack) -> tuple[str | None, ProfileView | None]:
    """The package's signer: a version ARN (or a profile token), and its profile if known."""
    profile = next(
        (stack.profiles[u] for u in package.profile_dependencies if u in stack.profiles), None
    )
    if profile is None and isinstance(package.profile_version_arn, str):
        profile = next(
            (
                p
                for p in stack.profiles.values()
                if p.profile_version_arn == package.profile_version_arn
            ),
            None,
        )
    if isinstance(package.profile_version_arn, str):
        return package.profile_version_arn, profile
    if profile is not None:
        if isinstance(profile.profile_version_arn, str):
            return profile.profile_version_arn, profile
        return _profile_token(profile), profile
    return None, None


def _publishers(config: ConfigView, stack: Stack) -> tuple[tuple[str, ...], bool]:
    """The config's allowed publishers as ARNs or profile tokens, and whether that list is
    complete (every unknown entry is accounted for by a profile it depends on)."""
    allowed: list[str] = []
    unknown_entries = 0
    if isinstance(config.publishers, Unknown):
        unknown_entries = -1  # the whole list is unknown
    else:
        for entry in config.publishers:
            if isinstance(entry, str):
                allowed.append(entry)
            elif entry is not None:
                unknown_entries += 1
    dependents = [stack.profiles[u] for u in config.publisher_dependencies if u in stack.profiles]
    for profile in dependents:
        allowed.append(_profile_token(profile))
        if isinstance(profile.profile_version_arn, str):
            allowed.append(profile.profile_version_arn)
    complete = bool(dependents) if unknown_entries < 0 else unknown_entries <= len(dependents)
    return tuple(dict.fromkeys(allowed)), complete


def package_facts(
    package: PackageView,
    stack: Stack,
    at: datetime,
    *,
    name: str,
    same_object: bool,
    code: object,
) -> ArtifactFacts:
    """What is known of the signature a package holds, or of the one it is about to make."""
    signer, profile = _signer(package, stack)
    unknown: set[Check] = set()
    signed_at = _instant(package.signed_at, "signed_at")
    expires_at = _instant(package.expires_at, "signature_expires_at")
    if isinstance(package.job_id, str) and signed_at is not None:
        # An existing signature, read from the package's outputs.
        revoked_reason = None
        if package.revoked is True or isinstance(package.revocation_reason, str):
            reason = package.revocation_reason
            revoked_reason = (
                reason
                if isinstance(reason, str)
                else f"SignedPackage {package.resource.name} reports it revoked"
            )
        elif isinstance(package.revoked, Unknown) or isinstance(package.revocation_reason, Unknown):
            unknown.add(Check.REVOCATION)
        integrity_error = None
        if not same_object:
            integrity_error, undecidable = _same_bytes(package, code)
            if undecidable:
                unknown.add(Check.INTEGRITY)
        return ArtifactFacts(
            name=name,
            signed=True,
            integrity_error=integrity_error,
            profile_version_arn=signer,
            job_id=package.job_id,
            signed_at=signed_at,
            expires_at=expires_at,
            profile_revoked_from=_instant(profile.revoked_from, "revocation_effective_from")
            if profile
            else None,
            signature_revoked_reason=revoked_reason,
            unknown=frozenset(unknown),
        )
    # A signature still to be made (a new or replaced package): made now, by its profile,
    # valid for the profile's validity.
    predicted_expiry = None
    if profile is not None and not isinstance(profile.validity, Unknown):
        try:
            validity = ValidityPeriod.from_document(dict(profile.validity or {}) or None)
            predicted_expiry = validity.expiry_from(at)
        except CodesignError:
            predicted_expiry = None
    if signer is None:
        unknown.add(Check.MISMATCH)
    return ArtifactFacts(
        name=name,
        signed=True,
        profile_version_arn=signer,
        signed_at=at,
        expires_at=predicted_expiry,
        profile_revoked_from=_instant(profile.revoked_from, "revocation_effective_from")
        if profile
        else None,
        unknown=frozenset(unknown),
    )


def _same_bytes(package: PackageView, code: object) -> tuple[str | None, bool]:
    """Whether the code matched by value is the package's signed object:
    ``(integrity error, undecidable)``."""
    if isinstance(code, LocalFile):
        if isinstance(code.sha384, str) and isinstance(package.digest, str):
            if code.sha384 != package.digest:
                return (
                    f"the .zip deployed differs from the signed object of SignedPackage "
                    f"{package.resource.name} (SHA-384 {code.sha384[:16]}... is not "
                    f"{package.digest[:16]}...)",
                    False,
                )
            return None, False
        return None, True
    if isinstance(code, S3Object):
        # An S3 object version never changes; the key's latest version can.
        versions = (code.version, package.object_version)
        return None, not all(isinstance(v, str) for v in versions)
    return None, True


def _judge(
    facts: ArtifactFacts, config: ConfigView, stack: Stack, at: datetime
) -> Verdict | Undecided:
    if not isinstance(config.policy, str):
        return Undecided(
            f"the policy of code signing config {config.resource.name} is not known until deploy"
        )
    allowed, complete = _publishers(config, stack)
    if facts.signed and facts.profile_version_arn not in allowed and not complete:
        # Not listed among the known entries, and some entries are unknown: undecidable.
        facts = replace(facts, unknown=facts.unknown | {Check.MISMATCH})
    arn = config.arn if isinstance(config.arn, str) else None
    return decide(facts, CscPolicy(allowed, config.policy, arn), at)


def _instant_of(function: FunctionView, default: datetime) -> datetime:
    return _instant(function.now, "codesign:now") or default


def _code_facts(
    label: str,
    code: object,
    dependencies: Sequence[str],
    function: FunctionView,
    stack: Stack,
    at: datetime,
    file_facts: FileFacts,
) -> tuple[ArtifactFacts | Undecided, PackageView | None]:
    package, same = package_for(code, dependencies, stack)
    if package is not None:
        return package_facts(package, stack, at, name=label, same_object=same, code=code), package
    if isinstance(code, LocalFile) and isinstance(code.path, str):
        return replace(file_facts(code.path, function), name=label), None
    if isinstance(code, S3Object):
        where = "/".join(str(p) for p in (code.bucket, code.key) if isinstance(p, str))
        return Undecided(
            f"its code (s3://{where or '...'}) is no SignedPackage's object in this stack"
        ), None
    what = getattr(code, "what", "not known until deploy")
    return Undecided(f"its code is {what}, whose signature the pack cannot read"), None


def predict(stack: Stack, at: datetime, file_facts: FileFacts) -> list[Prediction]:
    """The predicted verdict of every function's and layer's next deploy, in stack order.

    Functions without a config and container image functions have none (the
    ``lambda-code-signing-required`` policy speaks of those).
    """
    predictions: list[Prediction] = []
    for function in stack.functions:
        if function.image:
            continue
        config = config_for(function, stack)
        if config is None:
            continue
        when = _instant_of(function, at)
        subjects: list[tuple[str, object, Sequence[str]]] = [
            (function.label, function.code, function.code_dependencies)
        ]
        for layer in _layers_of(function, stack):
            subjects.append(
                (
                    f"layer {layer.resource.name} of {function.label}",
                    layer.code,
                    layer.code_dependencies,
                )
            )
        for label, code, dependencies in subjects:
            if isinstance(config, Undecided):
                predictions.append(Prediction(function, label, None, None, config.reason))
                continue
            facts, package = _code_facts(
                label, code, dependencies, function, stack, when, file_facts
            )
            if isinstance(facts, Undecided):
                predictions.append(Prediction(function, label, config, None, facts.reason))
                continue
            verdict = _judge(facts, config, stack, when)
            if isinstance(verdict, Undecided):
                predictions.append(
                    Prediction(function, label, config, None, verdict.reason, package)
                )
            else:
                predictions.append(Prediction(function, label, config, verdict, None, package))
    return predictions


def _layers_of(function: FunctionView, stack: Stack) -> list[LayerView]:
    """The stack's layers a function uses: by the ``layers`` dependency, or by ARN."""
    found: dict[str, LayerView] = {
        urn: stack.layers[urn] for urn in function.resource.depends("layers") if urn in stack.layers
    }
    arns = function.layers if not isinstance(function.layers, Unknown) else ()
    for layer in stack.layers.values():
        if isinstance(layer.arn, str) and layer.arn in arns:
            found.setdefault(layer.resource.urn, layer)
    return list(found.values())
