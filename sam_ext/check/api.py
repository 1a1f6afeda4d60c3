"""The check's entry points: a template file or cloud assembly, or a parsed template."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sam_ext.check.findings import CheckOptions, CheckReport

if TYPE_CHECKING:
    from provider.backends.base import Backend


def check_template(path: Path, options: CheckOptions, backend: Backend) -> CheckReport:
    """Check ``path``: a template file (JSON or YAML, SAM or CloudFormation) or a CDK cloud
    assembly directory (every stack's template). Bad input raises a
    :class:`~provider.errors.CodesignError` naming it."""
    raise NotImplementedError("in progress")


def check_document(
    document: Mapping[str, Any], *, template_path: Path, options: CheckOptions, backend: Backend
) -> CheckReport:
    """Check an already-parsed template (cfn-lint's entry point); ``template_path`` is the
    file it came from (relative code paths and nested templates are read next to it)."""
    raise NotImplementedError("in progress")
