"""The verdicts of a packaged template's code, read where CloudFormation will read it.

``sam-ext --backend aws deploy --template-file PACKAGED`` deploys code that is already in
S3 (``CodeUri: s3://...``, ``Code: {S3Bucket, S3Key[, S3ObjectVersion]}``, the same for
layers). Before CloudFormation sees the template, each function's code and each layer it
references (``!Ref``) are judged under the function's code signing config, with the same
look-ups and the same ``decide`` that packaging uses (:meth:`Backend.evaluate_package`),
in the template and in every nested stack whose template is in S3 (its ``TemplateURL`` or
``Location``, read back), the parent's config followed down as a parameter. Inline code
(``InlineCode``, ``Code.ZipFile``) is unsigned. What cannot be known here (a config
computed at deploy time, an object that cannot be read) is said, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from provider.errors import CodesignError
from provider.objects import S3Object
from provider.statuses import ArtifactKind
from provider.verdict import ArtifactFacts, CscPolicy, Verdict, decide
from sam_ext.packaging.csc import resolve_csc
from sam_ext.packaging.nested import NESTED, join_path, nested_parameters
from sam_ext.packaging.resources import function_property, packageable
from sam_ext.parameters import substitute
from sam_ext.template import Template, parse_template

if TYPE_CHECKING:
    from provider.backends.base import LambdaPart


@dataclass(frozen=True)
class Judged:
    """The verdicts of a template tree's code, and what could not be judged (and why)."""

    verdicts: list[Verdict]
    unknown: list[str]


def code_location(template: Template, resource: dict[str, Any]) -> S3Object | str | None:
    """Where a function's or layer's code is: its S3 object, ``"inline"`` for inline
    code, or ``None`` when it is neither (a container image, a computed location)."""
    entry = packageable(resource["Type"])
    properties = resource.get("Properties") or {}
    if entry is None or properties.get("PackageType") == "Image":
        return None
    if "InlineCode" in properties:
        return "inline"
    value = properties.get(entry.property)
    if value is None and resource["Type"] == "AWS::Serverless::Function":
        value = function_property(template, resource, entry.property)
    if isinstance(value, str) and value.startswith("s3://"):
        return S3Object.parse(value, field=entry.property)
    if isinstance(value, dict):
        if "ZipFile" in value:
            return "inline"
        bucket, key = (
            value.get("S3Bucket") or value.get("Bucket"),
            value.get("S3Key") or value.get("Key"),
        )
        version = value.get("S3ObjectVersion") or value.get("Version")
        if isinstance(bucket, str) and isinstance(key, str):
            return S3Object(bucket, key, version if isinstance(version, str) else None)
    return None


class TemplateJudge:
    """Judges a packaged template tree on a backend at an instant."""

    def __init__(
        self,
        backend: LambdaPart,
        now: datetime,
        read_template: Callable[[S3Object], bytes],
    ) -> None:
        self.backend = backend
        self.now = now
        self.read_template = read_template

    def judge(self, template: Template, parameters: dict[str, Any], path: str = "") -> Judged:
        """Every function's code and layers in ``template`` and its nested stacks."""
        verdicts: list[Verdict] = []
        unknown: list[str] = []
        for verdict_or_note in self._walk(template, parameters, path):
            if isinstance(verdict_or_note, Verdict):
                verdicts.append(verdict_or_note)
            else:
                unknown.append(verdict_or_note)
        return Judged(verdicts, unknown)

    def _walk(
        self, template: Template, parameters: dict[str, Any], path: str
    ) -> Iterator[Verdict | str]:
        resources = template.get("Resources") or {}
        for logical_id, resource in resources.items():
            entry = packageable(resource["Type"])
            if entry is None or entry.kind is not ArtifactKind.FUNCTION:
                continue
            name = join_path(path, logical_id)
            csc = resolve_csc(template, resource, self.backend, parameters)
            if not csc.declared:
                continue
            if csc.policy is None:
                yield (
                    f"{name}: its code signing config is not known before deploy "
                    f"({csc.unknown_reason})"
                )
                continue
            labelled = [(name, resource)]
            layers = function_property(template, resource, "Layers") or []
            for layer in layers if isinstance(layers, list) else []:
                ref = layer.get("Ref") if isinstance(layer, dict) else None
                if isinstance(ref, str) and isinstance(resources.get(ref), dict):
                    labelled.append((f"{name} layer {ref}", resources[ref]))
            for label, code in labelled:
                yield from self._judge_code(label, template, code, csc.policy)
        for logical_id, resource in resources.items():
            yield from self._nested(template, logical_id, resource, parameters, path)

    def _judge_code(
        self, label: str, template: Template, resource: dict[str, Any], policy: CscPolicy
    ) -> Iterator[Verdict | str]:
        try:
            location = code_location(template, resource)
            if location is None:
                return
            if location == "inline":
                yield decide(ArtifactFacts(name=label, signed=False), policy, self.now)
                return
            yield self.backend.evaluate_package(location, policy, at=self.now, name=label)
        except CodesignError as exc:
            yield f"{label}: its code signing verdict is not known before deploy ({exc.message})"

    def _nested(
        self,
        template: Template,
        logical_id: str,
        resource: dict[str, Any],
        parameters: dict[str, Any],
        path: str,
    ) -> Iterator[Verdict | str]:
        prop = NESTED.get(resource["Type"])
        url = substitute((resource.get("Properties") or {}).get(prop), parameters) if prop else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return  # not a nested stack, or one from the Serverless Application Repository
        where = join_path(path, logical_id)
        try:
            child = parse_template(
                self.read_template(S3Object.from_url(url, field=f"{where} {prop}")).decode("utf-8"),
                origin=url,
            )
            values = nested_parameters(
                template, resource, child, parameters, self.backend, where=where
            )
        except (CodesignError, UnicodeDecodeError) as exc:
            reason = exc.message if isinstance(exc, CodesignError) else "not UTF-8 text"
            yield f"{where}: its nested template was not judged ({reason})"
            return
        yield from self._walk(child, values, where)
