"""The one registry of resource types whose code ``sam-ext package`` packages and signs.

SAM CLI packages all four but signs only the ``AWS::Serverless::*`` ones; sam-ext signs
every one of them that is given a signing profile. Nested stacks, whose templates hold more
of them, are :mod:`sam_ext.packaging.nested`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provider.statuses import ArtifactKind
from sam_ext.template import Template


@dataclass(frozen=True)
class Packageable:
    """How one resource type carries its code."""

    resource_type: str
    #: The property holding the code location.
    property: str
    #: ``function`` or ``layer`` (layers are checked under the functions that use them).
    kind: ArtifactKind
    #: ``uri`` (``s3://bucket/key`` or a path) or ``object`` (``{S3Bucket, S3Key}``).
    remote_form: str
    #: Whether a missing property means "the template's directory" (as SAM CLI does).
    missing_means_template_dir: bool


REGISTRY: tuple[Packageable, ...] = (
    Packageable("AWS::Serverless::Function", "CodeUri", ArtifactKind.FUNCTION, "uri", True),
    Packageable("AWS::Serverless::LayerVersion", "ContentUri", ArtifactKind.LAYER, "uri", True),
    Packageable("AWS::Lambda::Function", "Code", ArtifactKind.FUNCTION, "object", False),
    Packageable("AWS::Lambda::LayerVersion", "Content", ArtifactKind.LAYER, "object", False),
)
_BY_TYPE = {entry.resource_type: entry for entry in REGISTRY}


def packageable(resource_type: str) -> Packageable | None:
    """The registry entry for a resource type, if it carries packageable code."""
    return _BY_TYPE.get(resource_type)


def apply_globals(template: Template) -> None:
    """Copy ``Globals.Function.CodeUri`` into functions without one (SAM CLI's rule)."""
    code_uri = template.get("Globals", {}).get("Function", {}).get("CodeUri")
    if code_uri is None:
        return
    for resource in template["Resources"].values():
        properties = resource.get("Properties")
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(properties, dict):
            properties.setdefault("CodeUri", code_uri)


def function_property(template: Template, resource: dict[str, Any], name: str) -> Any:
    """A function property, falling back to ``Globals.Function`` for serverless functions."""
    value = (resource.get("Properties") or {}).get(name)
    if value is None and resource["Type"] == "AWS::Serverless::Function":
        value = template.get("Globals", {}).get("Function", {}).get(name)
    return value


def has_local_code(template: Template, resource: dict[str, Any]) -> bool:
    """Whether a resource's code is still a local path (or, as SAM reads a missing
    ``CodeUri``, the template's directory), which CloudFormation cannot deploy."""
    entry = packageable(resource["Type"])
    properties = resource.get("Properties") or {}
    if entry is None or properties.get("PackageType") == "Image":
        return False
    value = properties.get(entry.property)
    if value is None and resource["Type"] == "AWS::Serverless::Function":
        value = template.get("Globals", {}).get("Function", {}).get("CodeUri")
    if value is None:
        return entry.missing_means_template_dir and "InlineCode" not in properties
    return isinstance(value, str) and not value.startswith("s3://")
