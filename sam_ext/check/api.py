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
    from sam_ext.cdk.assembly import stack_of_template

    judge = Judge(backend, options.at)
    stack = stack_of_template(template_path) if template_path.is_file() else None
    with lookup_scope():  # the backend's shared look-ups: once for this check
        findings, notes = _check(document, template_path, options, backend, stack, judge)
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
    from sam_ext.cdk.assembly import is_cloud_assembly, read_cloud_assembly, stack_of_template

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
    found, noted = _check(
        load_template(path, option="TEMPLATE"),
        path,
        options,
        backend,
        stack_of_template(path),
        judge,
    )
    return CheckReport(tuple(found), path, options.at, noted)
