"""The cfn-lint rule pack: Lambda's code signing verdict (``sam-ext check``) as cfn-lint
matches, for ``cfn-lint --append-rules "$(sam-ext cfn-lint-rules path)" TEMPLATE``.

cfn-lint loads every ``[A-Za-z1-9]*.py`` under :data:`RULES_DIR` as a standalone module
(``cfnlint.helpers.load_plugins``) and instantiates its ``CloudFormationLintRule``
subclasses. That module (``rules/code_signing.py``) holds only the rule classes; the work is
:func:`sam_ext.cfn_lint.pack.matches`, which runs the one check
(:func:`sam_ext.check.check_document`) once per template and hands each rule its findings.

This module is what the rule file imports when cfn-lint loads it: the standard library
only, so that loading never fails on a missing dependency (a failure to *run* the check,
an import included, is one ``E9300`` match).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

#: The directory to pass to ``cfn-lint --append-rules``.
RULES_DIR = Path(__file__).resolve().parent / "rules"


class RuleId(StrEnum):
    """The pack's rule ids: cfn-lint reserves ``(E|W|I)9xxx`` for user rules; ``93xx``
    follows its numbering of resource rules (``3xxx``). Stable: users ignore them by id."""

    #: The check could not run (backend unreachable, bad input, sam-ext not importable).
    FAILED = "E9300"
    #: Lambda would reject the next deploy of this function or layer (Standing REJECT).
    REJECTED = "E9301"
    #: A function without a code signing config: nothing is checked (NO_CONFIG).
    NO_CONFIG = "W9302"
    #: A ``Warn`` code signing config: Lambda deploys code it would reject, and logs it.
    WARN_CONFIG = "W9303"
    #: A verdict the check could not reach (UNKNOWN): never taken for "allowed".
    UNKNOWN = "W9304"
    #: A container-image function: code signing does not apply (NOT_APPLICABLE).
    NOT_APPLICABLE = "I9305"


@dataclass(frozen=True)
class RuleDoc:
    """What cfn-lint shows of a rule (``--list-rules``, SARIF's rule descriptions)."""

    shortdesc: str
    description: str


#: Every rule's title and description, by id.
RULE_DOCS: dict[RuleId, RuleDoc] = {
    RuleId.FAILED: RuleDoc(
        "Lambda code signing check could not run",
        "sam-ext check could not reach a verdict for this template: its backend, its "
        "input or its installation failed (the message says which).",
    ),
    RuleId.REJECTED: RuleDoc(
        "Lambda would reject this deploy (code signing)",
        "The next deploy of this function or layer would be rejected by Lambda's code "
        "signing checks (integrity, mismatch, expiry, revocation) under an Enforce "
        "code signing config.",
    ),
    RuleId.NO_CONFIG: RuleDoc(
        "Lambda function without a code signing config",
        "The function has no code signing config: Lambda deploys any code for it.",
    ),
    RuleId.WARN_CONFIG: RuleDoc(
        "Lambda code signing config in Warn mode",
        "The function's code signing config is Warn: code Lambda would reject under "
        "Enforce is deployed, and only logged.",
    ),
    RuleId.UNKNOWN: RuleDoc(
        "Lambda code signing verdict unknown",
        "sam-ext check could not decide a check for this function or layer (the message "
        "says which); it is not taken as allowed.",
    ),
    RuleId.NOT_APPLICABLE: RuleDoc(
        "Lambda code signing does not apply",
        "A container-image function: Lambda's code signing does not apply to it.",
    ),
}

#: Where the rules documented here come from (SARIF's and cfn-lint's source URL).
SOURCE_URL = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html"


def rules_path() -> Path:
    """The directory to pass to ``cfn-lint --append-rules``."""
    return RULES_DIR
