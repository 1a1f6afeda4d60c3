"""Templates into the check's typed model (:mod:`sam_ext.check.model`).

The template's own documents are read with the pieces ``sam-ext package`` and ``deploy``
use: :func:`~sam_ext.parameters.parameter_values` for ``--parameter-overrides`` and
``Default`` values, :func:`~sam_ext.packaging.csc.resolve_csc` for the code signing config,
:func:`~sam_ext.packaging.resources.packageable` and ``function_property`` (SAM ``Globals``)
for the code, :func:`~sam_ext.packaged_verdicts.code_location` for S3 and inline code, and
:mod:`sam_ext.packaging.nested` for nested stacks (local files; S3 ones read through the
aws backend, as ``deploy`` reads them). A CDK stack adds its construct paths and assets.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from provider.arns import Location
from provider.errors import CodesignError, ValidationError
from provider.lookups import looked_up
from provider.objects import S3Object
from provider.statuses import ArtifactKind
from provider.verdict import CscPolicy
from sam_ext.check.model import CodeKind, CodeSource, LambdaResource, TemplateModel
from sam_ext.packaged_verdicts import code_location
from sam_ext.packaging.csc import CscResolution, resolve_csc
from sam_ext.packaging.destination import LOCAL_BUCKET
from sam_ext.packaging.nested import (
    NESTED,
    check_nesting,
    join_path,
    local_template,
    nested_parameters,
    nested_template_file,
)
from sam_ext.packaging.resources import function_property, packageable
from sam_ext.parameters import parameter_values, substitute
from sam_ext.signing_profiles import SigningProfileRef
from sam_ext.template import Template, checked_template, load_template, parse_template

_SAM_TRANSFORM = "AWS::Serverless"
#: Names SAM's transform creates that a SAM template may reference.
_SAM_GENERATED_PREFIXES = ("Serverless",)


class CdkAssetLike(Protocol):
    """A CDK file asset (:class:`sam_ext.cdk.assembly.CdkAsset`)."""

    @property
    def source(self) -> Path:
        """The staged directory or file, inside the assembly directory."""


class CdkNames(Protocol):
    """What a CDK stack adds to its template (:class:`sam_ext.cdk.assembly.CdkStack`)."""

    def construct_path(self, logical_id: str) -> str | None:
        """``Shop/Checkout/Resource`` for a logical id."""

    def asset_of(self, logical_id: str, resource: Mapping[str, Any]) -> CdkAssetLike | None:
        """The file asset a function's or layer's code is."""

    def logical_id_of(self, id_or_path: str) -> str | None:
        """A logical id, from itself or a construct path."""


@dataclass
class _Profiles:
    """``--signing-profiles``, handed out as resources claim them; what is left names
    nothing."""

    given: Mapping[str, SigningProfileRef]
    cdk: CdkNames | None
    used: set[str] = field(default_factory=set)

    def _key_for(self, path: str) -> str | None:
        if path in self.given:
            return path
        if self.cdk is not None:  # a construct path (a CDK stack has no nested stacks)
            for key in self.given:
                if self.cdk.logical_id_of(key) == path:
                    return key
        return None

    def claim(
        self, path: str, stack: str, default: SigningProfileRef | None
    ) -> SigningProfileRef | None:
        """The profile for the resource at ``path`` (or its stack's, ``stack``)."""
        key = self._key_for(path)
        if key is not None:
            self.used.add(key)
            return self.given[key]
        if stack and stack in self.given:
            self.used.add(stack)
            return self.given[stack]
        return default

    def check_all_used(self, template: Path) -> None:
        unused = [key for key in self.given if key not in self.used]
        if unused:
            raise ValidationError(
                f"--signing-profiles: no function or layer named {', '.join(unused)} in "
                f"{template} (name nested ones ChildStack/FunctionId)"
            )


def _refs(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every ``Ref`` and ``Fn::GetAtt`` target in ``value``, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item, where
            elif key == "Fn::GetAtt":
                target = item.split(".", 1)[0] if isinstance(item, str) else None
                if isinstance(item, list) and item and isinstance(item[0], str):
                    target = item[0]
                if target:
                    yield target, where
            else:
                yield from _refs(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _refs(item, f"{where}[{index}]")


def check_refs(template: Template, origin: Path) -> None:
    """Refuse a ``Ref`` or ``Fn::GetAtt`` to nothing: neither a parameter, a resource nor
    a pseudo parameter (SAM templates may also name what SAM's transform creates)."""
    declared = set(template.get("Parameters") or {}) | set(template["Resources"])
    transform = template.get("Transform")
    sam = (
        transform == _SAM_TRANSFORM
        or (
            isinstance(transform, list)
            and any(str(t).startswith(_SAM_TRANSFORM) for t in transform)
        )
        or (isinstance(transform, str) and transform.startswith(_SAM_TRANSFORM))
    )
    resources = tuple(template["Resources"])
    for section in ("Resources", "Outputs"):
        for target, where in _refs(template.get(section) or {}, section):
            if target in declared or target.startswith("AWS::"):
                continue
            if sam and target.startswith((*resources, *_SAM_GENERATED_PREFIXES)):
                continue
            raise ValidationError(
                f"template {origin}: {where} refers to {target!r}, which is neither a "
                "parameter nor a resource of the template"
            )


def _is_image(properties: Mapping[str, Any]) -> bool:
    code = properties.get("Code")
    return (
        properties.get("PackageType") == "Image"
        or "ImageUri" in properties
        or (isinstance(code, dict) and "ImageUri" in code)
    )


def code_source(
    template: Template,
    logical_id: str,
    resource: dict[str, Any],
    template_dir: Path,
    cdk: CdkNames | None,
) -> CodeSource:
    """Where a function's or layer's code is (``template`` and ``resource`` with the
    parameters substituted)."""
    entry = packageable(resource["Type"])
    assert entry is not None
    properties = resource.get("Properties") or {}
    if _is_image(properties):
        return CodeSource(CodeKind.IMAGE)
    if cdk is not None:
        asset = cdk.asset_of(logical_id, resource)
        if asset is not None:
            return CodeSource(CodeKind.ASSET, path=asset.source)
    location = code_location(template, resource)
    if location == "inline":
        return CodeSource(CodeKind.INLINE)
    if isinstance(location, S3Object) and location.bucket == LOCAL_BUCKET:
        # ``sam-ext package`` on the local backend: the signed package is a local file.
        return CodeSource(CodeKind.LOCAL, path=(template_dir / location.key).resolve())
    if isinstance(location, S3Object):
        return CodeSource(CodeKind.S3, s3=location)
    value = function_property(template, resource, entry.property)
    if value is None and entry.missing_means_template_dir and "InlineCode" not in properties:
        return CodeSource(CodeKind.LOCAL, path=template_dir)
    if isinstance(value, str) and value:
        path = (template_dir / value).resolve()
        if not path.exists():
            raise ValidationError(
                f"{logical_id} ({resource['Type']}): {entry.property} {value!r} does not "
                f"exist (resolved to {path})"
            )
        return CodeSource(CodeKind.LOCAL, path=path)
    return CodeSource(CodeKind.COMPUTED, reason=f"its {entry.property} is computed at deploy time")


def _config(
    template: Template, resource: dict[str, Any], backend: Any, parameters: dict[str, Any]
) -> CscResolution:
    value = function_property(template, resource, "CodeSigningConfigArn")
    ref = value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(ref, str) and ref in (template.get("Parameters") or {}):
        if ref not in parameters:
            return CscResolution(
                True,
                None,
                f"the parameter {ref} has no value (pass --parameter-overrides {ref}=ARN)",
                label=f"parameter {ref}",
            )
        if isinstance(parameters[ref], str) and not parameters[ref]:
            return CscResolution(False)  # an empty value: CloudFormation attaches none
    return resolve_csc(template, resource, backend, parameters)


def _layers(template: Template, resource: dict[str, Any]) -> tuple[str, ...]:
    layers = function_property(template, resource, "Layers")
    found = []
    for layer in layers if isinstance(layers, list) else []:
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        target = template["Resources"].get(ref) if isinstance(ref, str) else None
        entry = packageable(target["Type"]) if isinstance(target, dict) else None
        if entry is not None and entry.kind is ArtifactKind.LAYER:
            found.append(str(ref))
    return tuple(found)


class _Configs:
    """The backend's configs, each looked up once (a template's functions often share one)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._location: Location | CodesignError | None = None

    @property
    def objects(self) -> Any:
        """The backend's S3 object store, when it has one (aws)."""
        return getattr(self.backend, "objects", None)

    @property
    def aws_backend_hint(self) -> str:
        """How the user picks the aws backend in the front end that opened this one."""
        return str(getattr(self.backend, "aws_backend_hint", "--backend aws"))

    @property
    def location(self) -> Location | None:
        """The backend's partition, region and account (the pseudo parameters an ARN in
        the template is built from), asked once; ``None`` when it cannot say."""
        if self._location is None:
            try:
                self._location = self.backend.location
            except CodesignError as exc:
                self._location = exc
        return self._location if isinstance(self._location, Location) else None

    def csc_policy_of(self, arn: str) -> CscPolicy:
        """GetCodeSigningConfig's verdict inputs, or its error, once per ARN in the
        check's look-up scope."""

        def read() -> CscPolicy:
            policy: CscPolicy = self.backend.csc_policy_of(arn)
            return policy

        return looked_up(("csc_policy", arn), read)


class _Reader:
    def __init__(self, backend: Any, profiles: _Profiles, cdk: CdkNames | None) -> None:
        self.backend = _Configs(backend)
        self.profiles = profiles
        self.cdk = cdk
        self.notes: list[str] = []

    def walk(
        self,
        template: Template,
        file: Path,
        parameters: dict[str, Any],
        nested_in: tuple[str, ...],
        default: SigningProfileRef | None,
        ancestors: tuple[Path, ...],
    ) -> Iterator[LambdaResource]:
        check_refs(template, file)
        substituted = substitute(template, parameters)
        stack = "/".join(nested_in)
        for logical_id, resource in template["Resources"].items():
            entry = packageable(resource["Type"])
            if entry is None:
                continue
            resolved = substituted["Resources"][logical_id]
            yield LambdaResource(
                template=file,
                logical_id=logical_id,
                resource_type=resource["Type"],
                kind=entry.kind,
                code=code_source(substituted, logical_id, resolved, file.parent, self.cdk),
                config=(
                    self._config(template, resource, parameters)
                    if entry.kind is ArtifactKind.FUNCTION
                    else None
                ),
                layers=_layers(template, resource) if entry.kind is ArtifactKind.FUNCTION else (),
                construct_path=self.cdk.construct_path(logical_id) if self.cdk else None,
                nested_in=nested_in,
                signing_profile=self.profiles.claim(join_path(stack, logical_id), stack, default),
            )
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in NESTED:
                yield from self._nested(
                    template,
                    file,
                    logical_id,
                    resource,
                    parameters,
                    nested_in,
                    (default, ancestors),
                )

    def _config(
        self, template: Template, resource: dict[str, Any], parameters: dict[str, Any]
    ) -> CscResolution:
        """The function's config; in a CDK stack, it and the profiles it lists are named
        by their construct paths."""
        config = _config(template, resource, self.backend, parameters)
        if self.cdk is None:
            return config
        cdk = self.cdk

        def named(logical_id: str | None) -> str | None:
            return (cdk.construct_path(logical_id) or logical_id) if logical_id else None

        publishers = config.publishers
        if publishers is not None:
            publishers = tuple(replace(p, ref=named(p.ref)) for p in publishers)
        return replace(config, label=named(config.label), publishers=publishers)

    def _nested(
        self,
        template: Template,
        file: Path,
        logical_id: str,
        resource: dict[str, Any],
        parameters: dict[str, Any],
        nested_in: tuple[str, ...],
        above: tuple[SigningProfileRef | None, tuple[Path, ...]],
    ) -> Iterator[LambdaResource]:
        parent_default, ancestors = above
        where = join_path("/".join(nested_in), logical_id)
        check_nesting(where)
        prop = NESTED[resource["Type"]]
        location = substitute((resource.get("Properties") or {}).get(prop), parameters)
        if local_template(resource) is not None:
            child_file = nested_template_file(resource, file.parent, where)
            if child_file in (*ancestors, file):
                raise ValidationError(
                    f"{where}: {child_file} nests itself (a template cannot contain itself)"
                )
            child = load_template(child_file)
        elif isinstance(location, str) and location.startswith(("https://", "http://", "s3://")):
            objects = getattr(self.backend, "objects", None)
            if objects is None or not hasattr(objects, "read_template"):
                # How the front end that opened the backend picks aws (CLI option,
                # cfn-lint variable, Pulumi config).
                hint = self.backend.aws_backend_hint
                self.notes.append(
                    f"{where}: its template {location} is in S3; the local backend cannot "
                    f"read it (check it with {hint})"
                )
                return
            try:
                obj = (
                    S3Object.parse(location, field=f"{where} {prop}")
                    if location.startswith("s3://")
                    else S3Object.from_url(location, field=f"{where} {prop}")
                )
                body = objects.read_template(obj)
                child = parse_template(body.decode("utf-8"), origin=location)
            except (CodesignError, UnicodeDecodeError) as exc:
                reason = exc.message if isinstance(exc, CodesignError) else "not UTF-8 text"
                self.notes.append(f"{where}: its nested template was not checked ({reason})")
                return
            child_file = file.parent / Path(obj.key).name
        else:
            self.notes.append(
                f"{where}: its template ({prop}) is not a file or S3 object that can be "
                "read before deploy; the functions in it were not checked"
            )
            return

        values = nested_parameters(template, resource, child, parameters, self.backend, where=where)
        default = self.profiles.claim(where, "", parent_default)
        yield from self.walk(
            child, child_file, values, (*nested_in, logical_id), default, (*ancestors, file)
        )


def read_model(
    document: Mapping[str, Any],
    *,
    template_path: Path,
    overrides: Mapping[str, str],
    signing_profiles: Mapping[str, SigningProfileRef],
    backend: Any,
    cdk: CdkNames | None = None,
) -> TemplateModel:
    """The typed model of a parsed template and its nested stacks; bad input (a template
    that is not one, a bad override, a ``Ref`` to nothing, a missing code path, a
    ``--signing-profiles`` id that names nothing) raises a :class:`ValidationError`."""
    template_path = template_path.resolve()
    template = checked_template(copy.deepcopy(dict(document)), origin=str(template_path))
    parameters = parameter_values(template, dict(overrides))
    profiles = _Profiles(signing_profiles, cdk)
    reader = _Reader(backend, profiles, cdk)
    resources = tuple(reader.walk(template, template_path, parameters, (), None, ()))
    profiles.check_all_used(template_path)
    return TemplateModel(template_path, resources, tuple(reader.notes))
