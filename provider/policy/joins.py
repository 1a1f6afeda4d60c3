"""What each function's and layer's next deploy would meet, with the project's one
prediction (pure).

The prediction is :func:`provider.prediction.predict`; this module only gathers its
arguments from the stack's resources (:class:`~provider.policy.shapes.Resource`, plain
wire-shaped dicts) and an instant.

- This project's ``LambdaFunction`` carries what its prediction needs in its own inputs
  (its config's policy and publishers with the program's references to their profiles,
  who signs its package, its layers). :mod:`provider.resources.judging` reads them, as
  the resource's own ``check`` does, with no backend; a .zip is read by a
  :data:`~provider.resources.judging.FileReader`: in a stack, the signature a
  ``SignedPackage`` of the stack reports for that file (revocations this update applies
  included), else the file itself (:mod:`provider.policy.evidence`).
- pulumi-aws and aws-native functions and layers are joined across the stack, which only
  the pack needs: function -> config (the config resource its ARN input depends on, else
  the one whose ``arn`` equals it), code -> ``SignedPackage`` (the package its code inputs
  depend on, else the one whose ``bucket``/``key``, and ``object_version`` when both are
  known, equal the code's), package -> signer (its ``profile_version_arn``, else the
  profile its ``profile_name`` depends on). They become the prediction's
  :class:`~provider.prediction.KnownConfig` (a profile the config depends on is a
  :class:`~provider.prediction.Publisher` with that profile's URN as its ref),
  :class:`~provider.prediction.PendingSignature` (a package still to be signed) or
  :class:`~provider.verdict.ArtifactFacts` (a signature made).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from provider.clock import parse_instant
from provider.errors import CodesignError
from provider.policy.evidence import file_reader
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
from provider.prediction import (
    KnownCode,
    KnownConfig,
    PendingSignature,
    Prediction,
    Publisher,
    predict,
)
from provider.resources import judging
from provider.validity import ValidityPeriod
from provider.verdict import ArtifactFacts, Check


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


#: A stack with nothing in it: what a resource policy, which sees one resource, knows.
EMPTY = Stack((), {}, {}, {}, {})


@dataclass(frozen=True)
class Judged:
    """The prediction of one artifact's next deploy: a function's code, or a layer of it."""

    function: FunctionView
    #: The prediction's own name: ``function F`` or ``layer L of function F``.
    label: str
    prediction: Prediction
    #: Whether this update deploys the artifact (else the prediction is its standing: what
    #: its next deploy would meet, while the deployed code keeps running).
    deploying: bool
    #: The config resource governing it, when the stack declares it (for messages).
    config: ConfigView | None = None
    package: PackageView | None = None
    #: When the signature that is or will be deployed expires, when known.
    expires_at: datetime | None = None
    #: The instant judged at (``codesign:now`` when set).
    at: datetime | None = None

    @property
    def config_name(self) -> str:
        """``code signing config NAME (POLICY)``, as messages say it."""
        policy = self.prediction.policy or "policy unknown"
        if self.config is not None:
            return f"code signing config {self.config.resource.name} ({policy})"
        if self.prediction.csc_arn:
            return f"code signing config {self.prediction.csc_arn} ({policy})"
        return f"its code signing config ({policy})"  # one not created yet


def _instant(value: object, what: str) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value, field=what)
    except CodesignError:
        return None


_View = TypeVar("_View")


def _declared(
    dependencies: Sequence[str],
    views: Mapping[str, _View],
    arn: object,
    arn_of: Callable[[_View], object],
) -> _View | None:
    """The resource of ``views`` (by URN) that a reference names: one it depends on
    first, else the first whose ARN (``arn_of``) is the known ``arn``."""
    for urn in dependencies:
        if urn in views:
            return views[urn]
    if isinstance(arn, str):
        return next((view for view in views.values() if arn_of(view) == arn), None)
    return None


def config_for(function: FunctionView, stack: Stack) -> ConfigView | None:
    """The config resource of the stack governing ``function``, when it declares one."""
    return _declared(
        function.csc_dependencies, stack.configs, function.csc_arn, lambda config: config.arn
    )


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


def _profile_of(package: PackageView, stack: Stack) -> ProfileView | None:
    return _declared(
        package.profile_dependencies,
        stack.profiles,
        package.profile_version_arn,
        lambda profile: profile.profile_version_arn,
    )


def _predicted_expiry(profile: ProfileView | None, at: datetime) -> datetime | None:
    """When a signature made at ``at`` by ``profile`` expires (its validity period)."""
    if profile is None or isinstance(profile.validity, Unknown):
        return None
    try:
        return ValidityPeriod.from_document(dict(profile.validity or {}) or None).expiry_from(at)
    except CodesignError:
        return None


def _signature_made(package: PackageView) -> bool:
    return isinstance(package.job_id, str) and _instant(package.signed_at, "signed_at") is not None


def signature_facts(package: PackageView, stack: Stack, name: str) -> ArtifactFacts:
    """The signature a package holds, from its outputs (and a revocation this update
    applies, to it or to its profile version)."""
    profile = _profile_of(package, stack)
    unknown: set[Check] = set()
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
    signer = package.profile_version_arn
    if not isinstance(signer, str) and profile is not None:
        signer = profile.profile_version_arn
    return ArtifactFacts(
        name=name,
        signed=True,
        profile_version_arn=signer if isinstance(signer, str) else None,
        job_id=package.job_id if isinstance(package.job_id, str) else None,
        signed_at=_instant(package.signed_at, "signed_at"),
        expires_at=_instant(package.expires_at, "signature_expires_at"),
        profile_revoked_from=_instant(profile.revoked_from, "revocation_effective_from")
        if profile
        else None,
        signature_revoked_reason=revoked_reason,
        unknown=frozenset(unknown if isinstance(signer, str) else unknown | {Check.MISMATCH}),
    )


def pending_signature(package: PackageView, stack: Stack) -> PendingSignature:
    """The signature a package this update signs will carry: by its profile."""
    profile = _profile_of(package, stack)
    arn = package.profile_version_arn
    if not isinstance(arn, str) and profile is not None:
        arn = profile.profile_version_arn
    return PendingSignature(
        profile.resource.urn if profile is not None else None,
        arn if isinstance(arn, str) else None,
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


def _package_code(
    package: PackageView, stack: Stack, name: str, *, same_object: bool, code: object
) -> KnownCode:
    if not _signature_made(package):
        return pending_signature(package, stack)
    facts = signature_facts(package, stack, name)
    if same_object:
        return facts
    integrity_error, undecidable = _same_bytes(package, code)
    if integrity_error:
        return replace(facts, integrity_error=integrity_error)
    return replace(facts, unknown=facts.unknown | {Check.INTEGRITY}) if undecidable else facts


def _expiry(
    code: KnownCode, package: PackageView | None, stack: Stack, at: datetime
) -> datetime | None:
    if isinstance(code, ArtifactFacts):
        return code.expires_at
    if isinstance(code, PendingSignature):
        # Made now by its profile: valid for that profile's validity period.
        profile = stack.profiles.get(code.profile_ref or "")
        if profile is None and package is not None:
            profile = _profile_of(package, stack)
        return _predicted_expiry(profile, at)
    return None


# -- this project's LambdaFunction: from its own inputs ---------------------------------------


def _stack_reader(function: FunctionView, stack: Stack) -> judging.FileReader:
    """Read a .zip as the stack knows it: a file that is the signed object of one of the
    stack's ``SignedPackage`` resources carries that package's signature (its revocation
    included, even one this update applies), and the SHA-384 its resource's ``check``
    recorded decides integrity; any other file is read itself."""
    read_file = file_reader((function.own_inputs or {}).get("settings"))

    def read(path: Path, name: str) -> KnownCode:
        own = read_file(path, name)
        if isinstance(own, ArtifactFacts) and (own.integrity_error or own.malformed):
            return own
        for package in stack.packages.values():
            if package.location == str(path) and _signature_made(package):
                code = LocalFile(str(path), _recorded_digest(function, stack, str(path)))
                return _package_code(package, stack, name, same_object=False, code=code)
        return own

    return read


def _recorded_digest(function: FunctionView, stack: Stack, path: str) -> str | None:
    """The SHA-384 that ``check`` recorded for the file at ``path``: the function's code,
    or a layer version of the stack."""
    for code in (function.code, *(layer.code for layer in stack.layers.values())):
        if isinstance(code, LocalFile) and code.path == path and isinstance(code.sha384, str):
            return code.sha384
    return None


def own_predictions(function: FunctionView, stack: Stack, at: datetime) -> list[Judged]:
    """Every artifact of a ``LambdaFunction`` (its code, then each layer, named), judged
    from its inputs as its own ``check`` judges them (no backend)."""
    inputs: dict[str, Any] = dict(function.own_inputs or {})
    view = function.own_config
    if view is None:
        return []
    read = _stack_reader(function, stack)
    label = function.label
    subjects: list[tuple[str, KnownCode, bool, object, Sequence[str]]] = [
        (
            label,
            judging.known_code(inputs.get("code"), inputs.get("code_package"), None, label, read),
            function.deploys_code,
            function.code,
            function.code_dependencies,
        )
    ]
    layers = inputs.get("layers") if isinstance(inputs.get("layers"), list) else []
    for index, layer in enumerate(layers or []):
        layer = layer if isinstance(layer, dict) else {}
        name = f"{judging.layer_label(index, layer)} of {label}"
        path = layer.get("code")
        subjects.append(
            (
                name,
                judging.layer_code(None, layer, name, read),
                function.deploys_layers,
                LocalFile(path if isinstance(path, str) else None, None),
                (),
            )
        )
    config = config_for(function, stack)
    judged = []
    for name, code, deploying, where, dependencies in subjects:
        package, _ = package_for(where, dependencies, stack)
        judged.append(
            Judged(
                function,
                name,
                predict(name, code, view, at),
                deploying,
                config,
                package,
                _expiry(code, package, stack, at),
                at,
            )
        )
    return judged


# -- pulumi-aws and aws-native: joined across the stack ---------------------------------------


def prediction_config(config: ConfigView, stack: Stack) -> KnownConfig:
    """A config resource as the prediction takes it: each profile its publishers depend
    on is a publisher named by its URN (known before its version ARN exists)."""
    policy = config.policy if isinstance(config.policy, str) else None
    arn = config.arn if isinstance(config.arn, str) else None
    profiles = [stack.profiles[u] for u in config.publisher_dependencies if u in stack.profiles]
    by_arn = {p.profile_version_arn: p for p in profiles if isinstance(p.profile_version_arn, str)}
    if isinstance(config.publishers, Unknown):
        if not profiles:
            return KnownConfig(policy, None, arn)
        return KnownConfig(policy, tuple(_publisher(p) for p in profiles), arn)
    publishers: list[Publisher] = []
    unknown_entries = 0
    for entry in config.publishers:
        if isinstance(entry, str):
            profile = by_arn.get(entry)
            publishers.append(Publisher(entry, profile.resource.urn if profile else None))
        elif entry is not None:
            unknown_entries += 1
    # The unknown entries are, as far as the graph says, the profiles they depend on.
    listed = {entry for entry in config.publishers if isinstance(entry, str)}
    unaccounted = [p for p in profiles if p.profile_version_arn not in listed]
    publishers.extend(_publisher(p) for p in unaccounted[:unknown_entries])
    publishers.extend(Publisher() for _ in range(unknown_entries - len(unaccounted)))
    return KnownConfig(policy, tuple(publishers), arn)


def _publisher(profile: ProfileView) -> Publisher:
    arn = profile.profile_version_arn
    return Publisher(arn if isinstance(arn, str) else None, profile.resource.urn)


def _joined_view(
    function: FunctionView, stack: Stack
) -> tuple[KnownConfig, ConfigView | None] | None:
    config = config_for(function, stack)
    if config is not None:
        return prediction_config(config, stack), config
    arn = function.csc_arn
    if arn is None:
        return None
    # A config ARN unknown until deploy, or a config this stack does not declare.
    return KnownConfig(None, None, arn if isinstance(arn, str) else None), None


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


def joined_predictions(function: FunctionView, stack: Stack, at: datetime) -> list[Judged]:
    """A pulumi-aws or aws-native function's code and layers, joined across the stack."""
    joined = _joined_view(function, stack)
    if joined is None:
        return []
    view, config = joined
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
    judged = []
    for name, where, dependencies in subjects:
        package, same = package_for(where, dependencies, stack)
        code: KnownCode = (
            _package_code(package, stack, name, same_object=same, code=where)
            if package is not None
            else None  # S3 code no package of the stack made, inline code, or unknown
        )
        judged.append(
            Judged(
                function,
                name,
                predict(name, code, view, at),
                function.deploys_code,
                config,
                package,
                _expiry(code, package, stack, at),
                at,
            )
        )
    return judged


def predictions(stack: Stack, at: datetime) -> list[Judged]:
    """The prediction of every function's and layer's next deploy, in stack order.

    Functions without a config and container image functions have none (the
    ``lambda-code-signing-required`` policy speaks of those).
    """
    judged: list[Judged] = []
    for function in stack.functions:
        if function.image:
            continue
        when = _instant(function.now, "codesign:now") or at
        # This project's LambdaFunction judged from its inputs; on the aws backend its code
        # is an S3 object, joined across the stack as pulumi-aws's are.
        if function.own_inputs is not None and not isinstance(function.code, S3Object):
            judged.extend(own_predictions(function, stack, when))
        else:
            judged.extend(joined_predictions(function, stack, when))
    return judged
