"""A CDK cloud assembly (the ``cdk.out`` directory ``cdk synth`` writes), read as typed stacks.

What is read, and from where (the cloud assembly schema of aws-cdk-lib):

- ``manifest.json``: every artifact of type ``aws:cloudformation:stack`` (its
  ``properties.templateFile``, its ``additionalMetadataFile`` or inline ``metadata``, and the
  ``cdk:asset-manifest`` artifacts it depends on), in manifest order; nested assemblies
  (``cdk:cloud-assembly``, a CDK Stage) are read in turn.
- construct paths: a resource's template ``Metadata`` ``aws:cdk:path`` (present when the
  context key ``aws:cdk:enable-path-metadata`` is true, as ``cdk synth`` sets it), else the
  ``aws:cdk:logicalId`` entries of the stack's metadata (always written).
- assets: a resource's ``Metadata`` ``aws:asset:path`` (with ``aws:asset:enable-asset-metadata``),
  else its ``Code.S3Key``/``Content.S3Key`` matched against the ``objectKey`` of the stack's
  ``STACK.assets.json`` (whose ``source.path`` and ``packaging`` say what to upload).

Every asset source is checked to resolve inside the assembly directory (no ``..``, no
absolute path, no symlink out) and to exist, when the assembly is read: a cloud assembly is
input, and its paths are what ``sam-ext package`` zips and signs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any

from provider.errors import ValidationError

#: The manifest file that makes a directory a cloud assembly.
MANIFEST = "manifest.json"
#: Artifact types read from the manifest.
STACK_ARTIFACT = "aws:cloudformation:stack"
ASSET_MANIFEST_ARTIFACT = "cdk:asset-manifest"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
#: Resource Metadata keys CDK writes.
PATH_METADATA = "aws:cdk:path"
ASSET_PATH_METADATA = "aws:asset:path"
ASSET_PROPERTY_METADATA = "aws:asset:property"
ASSET_BUNDLED_METADATA = "aws:asset:is-bundled"
#: The metadata entry type mapping a construct path to its logical id.
LOGICAL_ID_ENTRY = "aws:cdk:logicalId"
#: The property holding a function's or layer's code, by resource type.
CODE_PROPERTY: Mapping[str, str] = {
    "AWS::Lambda::Function": "Code",
    "AWS::Lambda::LayerVersion": "Content",
}


class AssetPackaging(StrEnum):
    """How an asset's source becomes the uploaded object."""

    ZIP = "zip"  # a staged directory, zipped
    FILE = "file"  # a file uploaded as it is (a .zip)


@dataclass(frozen=True)
class CdkAsset:
    """One file asset: the S3 key the template names, and the local source it is made of."""

    object_key: str
    source: Path
    packaging: AssetPackaging


def _error(origin: Path | str, message: str) -> ValidationError:
    return ValidationError(f"cloud assembly {str(origin)!r}: {message}")


def _inside(assembly_dir: Path, relative: str, *, what: str) -> Path:
    """``relative`` (as the assembly names it) resolved under ``assembly_dir``; refused when it
    is absolute, escapes the directory (``..`` or a symlink) or does not exist."""
    if not relative or PurePath(relative).is_absolute():
        raise _error(
            assembly_dir, f"{what} {relative!r} is not a path inside the assembly directory"
        )
    resolved = (assembly_dir / relative).resolve()
    if not resolved.is_relative_to(assembly_dir):
        raise _error(
            assembly_dir,
            f"{what} {relative!r} resolves to {str(resolved)!r}, outside the assembly directory",
        )
    if not resolved.exists():
        raise _error(assembly_dir, f"{what} {relative!r} does not exist")
    return resolved


def _asset_source(assembly_dir: Path, relative: str, *, what: str) -> Path:
    """An asset's source inside the assembly (:func:`_inside`), never the assembly
    directory itself (``"."``): that would package and sign the whole cloud assembly,
    templates and every other asset, as one function's code."""
    resolved = _inside(assembly_dir, relative, what=what)
    if resolved == assembly_dir:
        raise _error(
            assembly_dir,
            f"{what} {relative!r} is the assembly directory itself, not an asset in it "
            "(its code would be the whole cloud assembly)",
        )
    return resolved


def _packaging_of(source: Path) -> AssetPackaging:
    return AssetPackaging.ZIP if source.is_dir() else AssetPackaging.FILE


@dataclass(frozen=True)
class CdkStack:
    """One stack of a cloud assembly."""

    name: str
    template_path: Path
    assembly_dir: Path
    #: logical id -> construct path (``Shop/Checkout/Resource``)
    construct_paths: Mapping[str, str]
    #: S3 object key -> the file asset it is made of (from the stack's asset manifests)
    assets: Mapping[str, CdkAsset] = field(default_factory=dict)
    #: the stack's template, as read
    template: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def construct_path(self, logical_id: str) -> str | None:
        """The construct path of a resource, when the assembly says it."""
        return self.construct_paths.get(logical_id)

    def asset_of(self, logical_id: str, resource: Mapping[str, Any]) -> CdkAsset | None:
        """The file asset a resource's code is made of: its ``aws:asset:path`` Metadata, else
        its ``Code``/``Content`` ``S3Key`` matched against the stack's asset manifest; ``None``
        when it uses no asset of this assembly."""
        metadata = resource.get("Metadata")
        s3_key = _s3_key(resource)
        if isinstance(metadata, Mapping) and isinstance(metadata.get(ASSET_PATH_METADATA), str):
            relative = metadata[ASSET_PATH_METADATA]
            source = _asset_source(
                self.assembly_dir, relative, what=f"asset path of {logical_id} ({self.name})"
            )
            known = self.assets.get(s3_key) if s3_key else None
            if known is not None and known.source == source:
                return known
            packaging = _packaging_of(source)
            key = s3_key or (source.name + (".zip" if packaging is AssetPackaging.ZIP else ""))
            return CdkAsset(object_key=key, source=source, packaging=packaging)
        if s3_key is not None:
            return self.assets.get(s3_key)
        return None

    def logical_id_of(self, id_or_path: str) -> str | None:
        """The logical id named by ``id_or_path``: a logical id of the template, or a construct
        path (``Shop/Checkout/Resource``, ``/Shop/Checkout``, or relative to the stack:
        ``Checkout``), with or without the trailing ``/Resource``."""
        resources = self.template.get("Resources")
        if isinstance(resources, Mapping) and id_or_path in resources:
            return id_or_path
        if id_or_path in self.construct_paths:
            return id_or_path
        wanted = id_or_path.strip("/")
        candidates = [wanted, f"{wanted}/Resource"]
        if not wanted.startswith(f"{self.name}/"):
            candidates += [f"{self.name}/{wanted}", f"{self.name}/{wanted}/Resource"]
        by_path = {path: logical_id for logical_id, path in self.construct_paths.items()}
        for candidate in candidates:
            if candidate in by_path:
                return by_path[candidate]
        return None


@dataclass(frozen=True)
class CloudAssembly:
    """A cloud assembly directory and its stacks."""

    directory: Path
    stacks: tuple[CdkStack, ...]

    def stack(self, name: str) -> CdkStack | None:
        """The stack with this artifact id, if any."""
        return next((stack for stack in self.stacks if stack.name == name), None)


def _s3_key(resource: Mapping[str, Any]) -> str | None:
    properties = resource.get("Properties")
    code_property = CODE_PROPERTY.get(str(resource.get("Type")))
    if not isinstance(properties, Mapping) or code_property is None:
        return None
    code = properties.get(code_property)
    if isinstance(code, Mapping) and isinstance(code.get("S3Key"), str):
        return str(code["S3Key"])
    return None


def is_cloud_assembly(path: Path) -> bool:
    """Whether ``path`` is a directory holding a cloud assembly manifest."""
    return path.is_dir() and (path / MANIFEST).is_file()


def _read_json(origin: Path, path: Path, *, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(origin, f"{what} {path.name!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(origin, f"cannot read {what} {path.name!r}: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(origin, f"{what} {path.name!r} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise _error(origin, f"{what} {path.name!r} must be a JSON object")
    return document


def _logical_ids(metadata: Any) -> Iterator[tuple[str, str]]:
    """(logical id, construct path) of the ``aws:cdk:logicalId`` entries of stack metadata."""
    if not isinstance(metadata, Mapping):
        return
    for path, entries in metadata.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if (
                isinstance(entry, Mapping)
                and entry.get("type") == LOGICAL_ID_ENTRY
                and isinstance(entry.get("data"), str)
            ):
                yield entry["data"], str(path).lstrip("/")


def _read_assets(assembly_dir: Path, manifest_name: str) -> dict[str, CdkAsset]:
    """object key -> asset, from one asset manifest (``STACK.assets.json``)."""
    path = _inside(assembly_dir, manifest_name, what="asset manifest")
    document = _read_json(assembly_dir, path, what="asset manifest")
    files = document.get("files", {})
    if not isinstance(files, Mapping):
        raise _error(assembly_dir, f"asset manifest {manifest_name!r}: files must be an object")
    assets: dict[str, CdkAsset] = {}
    for asset_id, entry in files.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("source"), Mapping):
            raise _error(
                assembly_dir, f"asset manifest {manifest_name!r}: asset {asset_id} has no source"
            )
        source = entry["source"]
        relative = source.get("path")
        if not isinstance(relative, str):
            continue  # built by a command (source.executable): nothing on disk to sign
        packaging_text = source.get("packaging", AssetPackaging.FILE.value)
        try:
            packaging = AssetPackaging(packaging_text)
        except ValueError:
            raise _error(
                assembly_dir,
                f"asset manifest {manifest_name!r}: asset {asset_id} has packaging "
                f"{packaging_text!r} (expected zip or file)",
            ) from None
        resolved = _asset_source(assembly_dir, relative, what=f"source path of asset {asset_id}")
        destinations = entry.get("destinations", {})
        keys = {
            str(destination["objectKey"])
            for destination in (destinations.values() if isinstance(destinations, Mapping) else ())
            if isinstance(destination, Mapping) and isinstance(destination.get("objectKey"), str)
        }
        for key in sorted(keys):
            assets[key] = CdkAsset(object_key=key, source=resolved, packaging=packaging)
    return assets


def _property(artifact: Mapping[str, Any], name: str) -> Any:
    """An artifact's ``properties[name]``; ``None`` when its properties are no object."""
    properties = artifact.get("properties")
    return properties.get(name) if isinstance(properties, Mapping) else None


def _read_stack(
    assembly_dir: Path, name: str, artifact: Mapping[str, Any], artifacts: Mapping[str, Any]
) -> CdkStack:
    properties = artifact.get("properties")
    template_file = properties.get("templateFile") if isinstance(properties, Mapping) else None
    if not isinstance(template_file, str):
        raise _error(assembly_dir, f"stack {name} has no properties.templateFile")
    template_path = _inside(assembly_dir, template_file, what=f"template of stack {name}")
    template = _read_json(assembly_dir, template_path, what="template")
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        resources = {}

    construct_paths: dict[str, str] = {}
    metadata: Any = artifact.get("metadata")
    metadata_file = artifact.get("additionalMetadataFile")
    if isinstance(metadata_file, str):
        metadata_path = _inside(assembly_dir, metadata_file, what=f"metadata of stack {name}")
        metadata = _read_json(assembly_dir, metadata_path, what="stack metadata")
    for logical_id, path in _logical_ids(metadata):
        construct_paths.setdefault(logical_id, path)
    for logical_id, resource in resources.items():
        meta = resource.get("Metadata") if isinstance(resource, Mapping) else None
        if isinstance(meta, Mapping) and isinstance(meta.get(PATH_METADATA), str):
            construct_paths[str(logical_id)] = meta[PATH_METADATA]

    manifests: list[str] = []
    dependencies = artifact.get("dependencies")
    for dependency in dependencies if isinstance(dependencies, list) else ():
        dependent = artifacts.get(dependency) if isinstance(dependency, str) else None
        if isinstance(dependent, Mapping) and dependent.get("type") == ASSET_MANIFEST_ARTIFACT:
            file = _property(dependent, "file")
            if isinstance(file, str):
                manifests.append(file)
    if not manifests and (assembly_dir / f"{name}.assets.json").is_file():
        manifests.append(f"{name}.assets.json")
    assets: dict[str, CdkAsset] = {}
    for manifest_name in manifests:
        assets.update(_read_assets(assembly_dir, manifest_name))

    stack = CdkStack(
        name=name,
        template_path=template_path,
        assembly_dir=assembly_dir,
        construct_paths=construct_paths,
        assets=assets,
        template=template,
    )
    for logical_id, resource in resources.items():  # every asset path checked now
        if isinstance(resource, Mapping):
            stack.asset_of(str(logical_id), resource)
    return stack


def _stacks(assembly_dir: Path, outer: tuple[Path, ...] = ()) -> Iterator[CdkStack]:
    """The stacks of the assembly in ``assembly_dir`` and of its nested assemblies
    (``outer``: the assemblies it is nested in, which it may not name again)."""
    manifest = _read_json(assembly_dir, assembly_dir / MANIFEST, what="manifest")
    artifacts = manifest.get("artifacts", {})
    if not isinstance(artifacts, Mapping):
        raise _error(assembly_dir, "manifest.json: artifacts must be an object")
    for name, artifact in artifacts.items():
        if not isinstance(artifact, Mapping):
            continue
        kind = artifact.get("type")
        if kind == STACK_ARTIFACT:
            yield _read_stack(assembly_dir, str(name), artifact, artifacts)
        elif kind == NESTED_ASSEMBLY_ARTIFACT:
            directory_name = _property(artifact, "directoryName")
            if isinstance(directory_name, str):
                nested = _inside(assembly_dir, directory_name, what=f"nested assembly {name}")
                if nested in (*outer, assembly_dir):
                    raise _error(
                        assembly_dir,
                        f"nested assembly {name} ({directory_name!r}) is an assembly it is "
                        "nested in (a cloud assembly cannot contain itself)",
                    )
                yield from _stacks(nested, (*outer, assembly_dir))


def read_cloud_assembly(directory: Path) -> CloudAssembly:
    """Read the cloud assembly in ``directory``; a :class:`ValidationError` naming it when it
    is not one, has no stack templates, or names an asset outside itself or missing."""
    resolved = directory.resolve()
    if not resolved.is_dir():
        raise _error(directory, "not a directory")
    if not (resolved / MANIFEST).is_file():
        raise _error(
            directory, f"no {MANIFEST} (not a CDK cloud assembly: run `cdk synth` to make one)"
        )
    stacks = tuple(_stacks(resolved))
    if not stacks:
        raise _error(directory, "it holds no stack templates (no aws:cloudformation:stack)")
    return CloudAssembly(directory=resolved, stacks=stacks)


def stack_of_template(template_path: Path) -> CdkStack | None:
    """The stack whose template is ``template_path`` when that file lies in a cloud assembly
    (``cdk.out/STACK.template.json``); ``None`` for any other template."""
    resolved = template_path.resolve()
    if not is_cloud_assembly(resolved.parent):
        return None
    assembly = read_cloud_assembly(resolved.parent)
    return next((stack for stack in assembly.stacks if stack.template_path == resolved), None)


#: The Metadata keys that make a resource's code a CDK asset (``aws:cdk:path`` is not one).
ASSET_METADATA_KEYS = (ASSET_PATH_METADATA, ASSET_BUNDLED_METADATA, ASSET_PROPERTY_METADATA)


def strip_asset_metadata(resource: dict[str, Any]) -> None:
    """Remove a resource's CDK asset metadata (its code was packaged: it is no asset now);
    an emptied ``Metadata`` goes too."""
    metadata = resource.get("Metadata")
    if not isinstance(metadata, dict):
        return
    for key in ASSET_METADATA_KEYS:
        metadata.pop(key, None)
    if not metadata:
        del resource["Metadata"]


def logical_ids_by_name(stack: CdkStack, names: Iterable[str], *, option: str) -> dict[str, str]:
    """Each name (a logical id or a construct path, see :meth:`CdkStack.logical_id_of`) ->
    its logical id; a :class:`ValidationError` naming ``option`` and the first that names
    nothing in the stack."""
    found: dict[str, str] = {}
    for name in names:
        logical_id = stack.logical_id_of(name)
        if logical_id is None:
            raise ValidationError(
                f"{option}: {name!r} names no resource of CDK stack {stack.name} "
                f"({stack.template_path}); give a logical id or a construct path such as "
                f"{stack.name}/MyFunction"
            )
        found[name] = logical_id
    return found
