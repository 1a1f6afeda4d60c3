"""Read and write SAM/CloudFormation templates (YAML or JSON).

Short-form intrinsics (``!Ref X``, ``!GetAtt A.B``, ``!Sub ...``) are read into their long
JSON form (``{"Ref": "X"}``), as SAM CLI does, so the rest of the code sees plain data and
the packaged template is valid for CloudFormation and cfn-lint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from provider.errors import ValidationError

Template = dict[str, Any]


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


def _loader(base: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """``base`` + CloudFormation's short-form tags; timestamps stay strings."""

    class TemplateLoader(base):  # type: ignore[valid-type,misc]
        """SafeLoader + CloudFormation's short-form tags; timestamps stay strings."""

    TemplateLoader.add_multi_constructor("!", _intrinsic)
    # CloudFormation treats dates such as AWSTemplateFormatVersion as strings.
    TemplateLoader.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return TemplateLoader


#: The loader templates are read with: libyaml's parser (PyYAML's C extension, when it was
#: built with it) under the same constructors and resolvers as :data:`PURE_LOADER`, which
#: tests/sam_ext/test_template_c_yaml.py shows read templates identically.
PURE_LOADER = _loader(yaml.SafeLoader)
LOADER = _loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def parse_template(text: str, *, origin: str, loader: type[yaml.SafeLoader] = LOADER) -> Template:
    """Parse template text; errors name ``origin`` and the line."""
    try:
        document = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        said = " ".join(str(exc).split())  # PyYAML's message spans lines: one line here
        raise ValidationError(f"template {origin}: not valid YAML or JSON: {said}") from None
    return checked_template(document, origin=origin)


#: The most values a template may hold once its YAML aliases are expanded: far above any
#: real template (CloudFormation's largest, 1 MB, holds some 100,000), far below what a
#: "billion laughs" of nested aliases expands to (every reader walks the expanded values).
MAX_VALUES = 2_000_000


def _check_size(document: Any, origin: str) -> None:
    """Count ``document``'s values as the readers see them (an alias once per use)."""
    pending = [document]
    seen = 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ValidationError(
                f"template {origin}: more than {MAX_VALUES:,} values once its YAML aliases "
                "are expanded (aliases of aliases?); CloudFormation templates are far smaller"
            )
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def checked_template(document: Any, *, origin: str) -> Template:
    """``document`` if it has the shape of a template (a mapping with at least one
    resource, each with a ``Type``, and a size a template can have); errors name
    ``origin``."""
    if not isinstance(document, dict):
        raise ValidationError(f"template {origin}: the top level must be a mapping")
    _check_size(document, origin)
    resources = document.get("Resources")
    if resources is None:
        raise ValidationError(f"template {origin}: it has no Resources section")
    if not isinstance(resources, dict) or not resources:
        # CloudFormation: "At least one Resources member must be defined."
        raise ValidationError(
            f"template {origin}: Resources must be a mapping of at least one resource"
        )
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            raise ValidationError(
                f"template {origin}: resource {logical_id} must be a mapping (with a Type), "
                f"not {resource!r}"
            )
        if not isinstance(resource.get("Type"), str):
            raise ValidationError(f"template {origin}: resource {logical_id} has no Type")
        properties = resource.get("Properties")
        if properties is not None and not isinstance(properties, dict):
            raise ValidationError(
                f"template {origin}: resource {logical_id}: Properties must be a mapping, "
                f"not {type(properties).__name__}"
            )
    globals_ = document.get("Globals")
    sections = globals_.items() if isinstance(globals_, dict) else [("", globals_)]
    for section, values in sections if globals_ is not None else ():
        if not isinstance(values, dict):
            raise ValidationError(
                f"template {origin}: Globals{'.' + str(section) if section else ''} must be a "
                f"mapping, not {'nothing' if values is None else type(values).__name__}"
            )
    return document


#: The most bytes a template file is read for (CloudFormation's own limit is 1 MB; a SAM
#: template before its transform, or one with long comments, may be larger).
MAX_TEMPLATE_BYTES = 64 * 2**20


def load_template(path: Path, *, option: str = "--template-file") -> Template:
    """Read a template file (errors name ``option``, the input that gave ``path``)."""
    try:
        with path.open("rb") as reader:  # bounded: /dev/zero or an endless pipe is no template
            data = reader.read(MAX_TEMPLATE_BYTES + 1)
        if len(data) > MAX_TEMPLATE_BYTES:
            raise ValidationError(
                f"{option}: {str(path)!r} is larger than {MAX_TEMPLATE_BYTES // 2**20} MiB "
                "(CloudFormation accepts templates of at most 1 MB)"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{option}: {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{option}: cannot read {str(path)!r}: {exc}") from None
    return parse_template(text, origin=str(path))


def _dumper(base: type[yaml.SafeDumper]) -> type[yaml.SafeDumper]:
    class TemplateDumper(base):  # type: ignore[valid-type,misc]
        """Block-style YAML that keeps key order and never emits aliases."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return TemplateDumper


#: The dumper templates are written with: libyaml's emitter when PyYAML has it, else
#: :data:`PURE_DUMPER`; the two write the same text (see the test named above).
PURE_DUMPER = _dumper(yaml.SafeDumper)
DUMPER = _dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def dump_template(
    template: Template, *, as_json: bool = False, dumper: type[yaml.SafeDumper] = DUMPER
) -> str:
    """Serialise a template (YAML by default, as ``sam package`` writes it)."""
    if as_json:
        return json.dumps(template, indent=4) + "\n"
    return yaml.dump(
        template,
        Dumper=dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
