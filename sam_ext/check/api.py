"""The check's entry points: a template file or cloud assembly, or a parsed template."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provider.errors import ValidationError
from provider.lookups import lookup_scope
from sam_ext.check.findings import CheckOptions, CheckReport
from sam_ext.check.judge import Judge
from sam_ext.check.reader import CdkNames, read_model
from sam_ext.template import load_template

if TYPE_CHECKING:
    from provider.backends.base import Backend
    from sam_ext.cdk.assembly import CdkStack


class _PathsOnly:
    """The construct paths a template outside a cloud assembly carries in its resources'
    ``aws:cdk:path`` Metadata (a CDK stack's template after ``sam-ext package``, which keeps
    them): findings and ``--signing-profiles`` name resources by them; no asset is read."""

    def __init__(self, stack: CdkStack) -> None:
        self.stack = stack

    def construct_path(self, logical_id: str) -> str | None:
        return self.stack.construct_path(logical_id)

    def asset_of(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        return None

    def logical_id_of(self, id_or_path: str) -> str | None:
        return self.stack.logical_id_of(id_or_path)


def _names(template_path: Path, document: Mapping[str, Any]) -> CdkNames | None:
    """The CDK names of a template: its stack's when it lies in a cloud assembly, else those
    its Metadata carries, else none."""
    from sam_ext.cdk.assembly import PATH_METADATA, CdkStack, stack_of_template

    stack = stack_of_template(template_path) if template_path.is_file() else None
    if stack is not None:
        return stack
    resources = document.get("Resources")
    paths = {
        str(logical_id): resource["Metadata"][PATH_METADATA]
        for logical_id, resource in (resources.items() if isinstance(resources, Mapping) else ())
        if isinstance(resource, Mapping)
        and isinstance(resource.get("Metadata"), Mapping)
        and isinstance(resource["Metadata"].get(PATH_METADATA), str)
    }
    if not paths:
        return None
    name = next(iter(paths.values())).strip("/").split("/", 1)[0]
    return _PathsOnly(CdkStack(name, template_path, template_path.parent, paths, template=document))


def _check(
    document: Mapping[str, Any],
    template_path: Path,
    options: CheckOptions,
    backend: Backend,
    cdk: CdkNames | None,
    judge: Judge,
) -> tuple[list[Any], tuple[str, ...]]:
    model = read_model(
        document,
        template_path=template_path,
        overrides=options.parameter_overrides,
        signing_profiles=options.signing_profiles,
        backend=backend,
        cdk=cdk,
    )
    return judge.findings(model, model.template), model.notes


def check_document(
    document: Mapping[str, Any], *, template_path: Path, options: CheckOptions, backend: Backend
) -> CheckReport:
    """Check an already-parsed template (cfn-lint's entry point); ``template_path`` is the
    file it came from (relative code paths and nested templates are read next to it; a
    template of a CDK cloud assembly, ``cdk.out/STACK.template.json``, brings its stack's
    construct paths and assets)."""
    judge = Judge(backend, options.at)
    names = _names(template_path, document)
    with lookup_scope():  # the backend's shared look-ups: once for this check
        findings, notes = _check(document, template_path, options, backend, names, judge)
    return CheckReport(tuple(findings), template_path, options.at, notes)


def check_template(path: Path, options: CheckOptions, backend: Backend) -> CheckReport:
    """Check ``path``: a template file (JSON or YAML, SAM or CloudFormation) or a CDK cloud
    assembly directory (every stack's template). Bad input raises a
    :class:`~provider.errors.CodesignError` naming it. The backend's look-ups every S3
    object shares (a signing profile, the account's signing jobs) are read once for the
    check (:func:`provider.lookups.lookup_scope`)."""
    with lookup_scope():
        return _check_path(path, options, backend)


def _check_path(path: Path, options: CheckOptions, backend: Backend) -> CheckReport:
    from sam_ext.cdk.assembly import is_cloud_assembly, read_cloud_assembly

    judge = Judge(backend, options.at)
    if path.is_dir():
        if not is_cloud_assembly(path):
            raise ValidationError(
                f"{path}: a directory that is not a CDK cloud assembly (no manifest.json); "
                "give a template file or a cdk.out directory"
            )
        assembly = read_cloud_assembly(path)
        if options.signing_profiles and len(assembly.stacks) > 1:
            raise ValidationError(
                f"--signing-profiles: {path} holds {len(assembly.stacks)} stacks; check one "
                "stack's template (cdk.out/STACK.template.json) with --signing-profiles"
            )
        findings: list[Any] = []
        notes: list[str] = []
        for stack in assembly.stacks:
            found, noted = _check(
                load_template(stack.template_path, option="CDK_OUT_DIR"),
                stack.template_path,
                options,
                backend,
                stack,
                judge,
            )
            findings += found
            notes += noted
        return CheckReport(tuple(findings), path, options.at, tuple(notes))
    if not path.exists():
        raise ValidationError(f"{path}: no such template file or cloud assembly directory")
    document = load_template(path, option="TEMPLATE")
    found, noted = _check(document, path, options, backend, _names(path, document), judge)
    return CheckReport(tuple(found), path, options.at, noted)
