"""Lambda code signing rules for cfn-lint (``sam-ext cfn-lint-rules path``).

cfn-lint imports this file by its path and instantiates every ``CloudFormationLintRule``
subclass in it (helper classes here must not subclass it: they would be rules too). Each
rule hands the template to :func:`sam_ext.cfn_lint.pack.matches`, which runs
``sam-ext check`` once per template; the backend and clock come from the CLI's variables
(``CODESIGN_HOME``, ``CODESIGN_REGION``, ``SAM_EXT_BACKEND``, ``SAM_EXT_NOW``).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

# The documented import path for custom rules (the names are re-exported without __all__).
from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[attr-defined]

#: The directory holding the sam_ext package these rules belong to.
_ROOT = Path(__file__).resolve().parents[3]
_FOUND = find_spec("sam_ext")
if _FOUND is None or _FOUND.origin is None or Path(_FOUND.origin).resolve().parents[1] != _ROOT:
    # cfn-lint's Python has no sam-ext, or another copy: use the one these rules are in.
    sys.path.insert(0, str(_ROOT))

from sam_ext.cfn_lint import RULE_DOCS, SOURCE_URL, RuleId  # noqa: E402

_TAGS = ["lambda", "code signing", "sam-ext"]


class _Verdicts:
    """The shared part of every rule: its cfn-lint attributes, from its :data:`RULE_DOCS`
    entry (``class Rule(_Verdicts, CloudFormationLintRule, rule=RuleId.X)``), and its
    ``match``: its share of the template's findings."""

    id: str
    shortdesc: str
    description: str
    source_url: str
    tags: list[str]

    def __init_subclass__(cls, *, rule: RuleId, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.id = rule.value
        cls.shortdesc = RULE_DOCS[rule].shortdesc
        cls.description = RULE_DOCS[rule].description
        cls.source_url = SOURCE_URL
        cls.tags = _TAGS

    def match(self, cfn: Any) -> list[RuleMatch]:
        try:
            from sam_ext.cfn_lint.pack import matches
        except ImportError as exc:  # sam-ext's dependencies missing from cfn-lint's Python
            if self.id != RuleId.FAILED:
                return []
            return [
                RuleMatch(
                    [],
                    f"sam-ext check could not run: {exc} (install cfn-lint where "
                    "lambda-codesign is installed: pip install 'lambda-codesign[cfn-lint]')",
                )
            ]
        return [RuleMatch(list(m.path), m.message) for m in matches(RuleId(self.id), cfn)]


class CodeSigningCheckFailed(_Verdicts, CloudFormationLintRule, rule=RuleId.FAILED):
    """E9300: ``sam-ext check`` could not run."""


class CodeSigningRejected(_Verdicts, CloudFormationLintRule, rule=RuleId.REJECTED):
    """E9301: Lambda would reject this deploy."""


class CodeSigningNoConfig(_Verdicts, CloudFormationLintRule, rule=RuleId.NO_CONFIG):
    """W9302: a function without a code signing config."""


class CodeSigningWarnConfig(_Verdicts, CloudFormationLintRule, rule=RuleId.WARN_CONFIG):
    """W9303: a code signing config in Warn mode."""


class CodeSigningUnknown(_Verdicts, CloudFormationLintRule, rule=RuleId.UNKNOWN):
    """W9304: a verdict that cannot be decided before deploy."""


class CodeSigningNotApplicable(_Verdicts, CloudFormationLintRule, rule=RuleId.NOT_APPLICABLE):
    """I9305: code signing does not apply (a container image)."""
