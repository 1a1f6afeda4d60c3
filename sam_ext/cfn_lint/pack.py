"""What the cfn-lint rules run: ``sam-ext check`` on the template cfn-lint parsed, its
findings as cfn-lint matches.

One check per template, shared by every rule of the pack (cfn-lint calls each rule's
``match`` with the same :class:`cfnlint.template.Template`); the verdicts are
:func:`sam_ext.check.check_document`'s, never a rule of this module's own, and each match
says its finding's own message, as ``sam-ext check`` prints it. The backend and the clock
are the CLI's global options, read from the variables they default from
(:data:`sam_ext.entry.GLOBAL_OPTIONS`): ``CODESIGN_HOME``, ``CODESIGN_REGION``,
``SAM_EXT_BACKEND``, ``SAM_EXT_NOW``; template parameters are cfn-lint's own
(``--parameters``, deployment files).

Anything that stops the check (a backend that cannot be reached, bad input such as a
``Ref`` to nothing) becomes one ``E9300`` match saying so, never a traceback in cfn-lint's
output.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.clock import parse_instant
from provider.errors import CodesignError, ValidationError
from sam_ext.cfn_lint import RuleId
from sam_ext.check import CheckOptions, Finding, Standing, check_document
from sam_ext.context import CliContext
from sam_ext.entry import BACKEND_ENV, GLOBAL_OPTIONS, HOME_ENV, NOW_ENV

#: A location in the template, as cfn-lint's ``RuleMatch`` takes it.
TemplatePath = tuple[str | int, ...]

#: The property holding each resource type's code: where a rejection points.
CODE_PROPERTY = {
    "AWS::Lambda::Function": "Code",
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Lambda::LayerVersion": "Content",
    "AWS::Serverless::LayerVersion": "ContentUri",
}
#: The property naming a function's code signing config: where a Warn config points.
CONFIG_PROPERTY = "CodeSigningConfigArn"

#: Which rule says a standing (ALLOW says nothing).
RULE_OF_STANDING: dict[Standing, RuleId] = {
    Standing.REJECT: RuleId.REJECTED,
    Standing.NO_CONFIG: RuleId.NO_CONFIG,
    Standing.WARN: RuleId.WARN_CONFIG,
    Standing.UNKNOWN: RuleId.UNKNOWN,
    Standing.NOT_APPLICABLE: RuleId.NOT_APPLICABLE,
}


@dataclass(frozen=True)
class LintMatch:
    """One finding as a cfn-lint match: the rule, where, and the finding's message."""

    rule: RuleId
    path: TemplatePath
    message: str


def context_from_environment(environ: Mapping[str, str] | None = None) -> CliContext:
    """The CLI's global options as its variables set them (click's reading: an empty
    value is unset); a bad ``SAM_EXT_BACKEND`` or ``SAM_EXT_NOW`` is a ValidationError."""
    values = os.environ if environ is None else environ

    def env(option: str) -> str | None:
        name = GLOBAL_OPTIONS[option]
        return (values.get(name) or None) if name else None

    backend = env("--backend") or "local"
    if backend not in ("local", "aws"):
        raise ValidationError(
            f"{BACKEND_ENV}={backend!r} is not a backend: use local or aws", field=BACKEND_ENV
        )
    now_text = env("--now")
    if now_text is not None:  # said as the variable cfn-lint's user set, not as --now
        parse_instant(now_text, field=NOW_ENV)
    return CliContext(
        home=env("--home"),
        region=env("--region"),
        backend_name=backend,
        now_text=now_text,
        aws_backend_hint=f"{BACKEND_ENV}=aws",
    )


def _resource_path(template: Mapping[str, Any], logical_id: str, prop: str) -> TemplatePath:
    """``Resources/ID/Properties/PROP`` when the resource sets ``prop`` itself, else the
    resource's logical id (its key's line)."""
    resource = (template.get("Resources") or {}).get(logical_id)
    properties = resource.get("Properties") if isinstance(resource, Mapping) else None
    if isinstance(properties, Mapping) and prop in properties:
        return ("Resources", logical_id, "Properties", prop)
    return ("Resources", logical_id)


def match_of(finding: Finding, template: Mapping[str, Any]) -> LintMatch | None:
    """The match saying ``finding`` in ``template`` (``None`` for ALLOW). A resource of a
    nested stack is said at the nested stack's resource in ``template`` (the finding's
    message names the way down: ``Child/Function: ...``)."""
    rule = RULE_OF_STANDING.get(finding.standing)
    if rule is None:
        return None
    if finding.nested_in:
        return LintMatch(rule, ("Resources", finding.nested_in[0]), finding.message)
    if rule is RuleId.REJECTED:
        prop = CODE_PROPERTY.get(finding.resource_type, "")
    elif rule is RuleId.WARN_CONFIG:
        prop = CONFIG_PROPERTY
    else:
        prop = ""
    return LintMatch(rule, _resource_path(template, finding.logical_id, prop), finding.message)


def lint(
    template: Mapping[str, Any],
    *,
    template_path: Path,
    parameter_sets: tuple[Mapping[str, str], ...] = (),
    context: CliContext,
) -> tuple[LintMatch, ...]:
    """The matches of ``template`` (a parsed template, as cfn-lint holds it): one check
    per parameter set (none: the template's defaults), each distinct match once."""
    context.require_keystore("check", option=HOME_ENV)
    found: dict[LintMatch, None] = {}
    for parameters in parameter_sets or ({},):
        options = CheckOptions(at=context.now, parameter_overrides=parameters)
        report = check_document(
            template, template_path=template_path, options=options, backend=context.backend
        )
        for finding in report.findings:
            match = match_of(finding, template)
            if match is not None:
                found.setdefault(match)
    return tuple(found)


def failure(error: Exception) -> LintMatch:
    """The one match saying the check could not run, at the top of the template."""
    said = str(error) if isinstance(error, CodesignError) else f"{type(error).__name__}: {error}"
    return LintMatch(RuleId.FAILED, (), f"sam-ext check could not run: {said}")


def _parameter_sets(cfn: Any) -> tuple[Mapping[str, str], ...]:
    """cfn-lint's ``--parameters`` (or deployment files' parameter sets) as overrides."""
    sets = getattr(getattr(cfn, "context", None), "parameter_sets", None) or []
    return tuple(
        {
            str(name): ",".join(map(str, value)) if isinstance(value, list) else str(value)
            for name, value in (getattr(each, "parameters", None) or {}).items()
        }
        for each in sets
    )


#: Each template's matches, computed once for all the rules: id(template) -> (a weak
#: reference to it, its matches). cfn-lint builds a new Template for each file it lints.
_MEMO: dict[int, tuple[weakref.ref[Any], tuple[LintMatch, ...]]] = {}


def _template_matches(cfn: Any) -> tuple[LintMatch, ...]:
    memo = _MEMO.get(id(cfn))
    if memo is not None and memo[0]() is cfn:
        return memo[1]
    filename = getattr(cfn, "filename", None)
    try:
        found = lint(
            cfn.template,
            template_path=Path(filename if filename and filename != "-" else "template").resolve(),
            parameter_sets=_parameter_sets(cfn),
            context=context_from_environment(),
        )
    except Exception as exc:  # the pack's edge: cfn-lint would print any other as E0002
        found = (failure(exc),)
    key = id(cfn)
    _MEMO[key] = (weakref.ref(cfn, lambda _ref: _MEMO.pop(key, None)), found)
    return found


def matches(rule: RuleId, cfn: Any) -> list[LintMatch]:
    """``rule``'s matches in the template cfn-lint hands its rules (``cfn``: a
    ``cfnlint.template.Template``)."""
    return [match for match in _template_matches(cfn) if match.rule is rule]
