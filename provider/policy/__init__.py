"""The CrossGuard policy pack for Lambda code signing.

``pulumi preview --policy-pack "$(sam-ext policy-pack path)"`` (or ``python -m
provider.policy`` for the path) runs the policies of :mod:`provider.policy.policies` over
every resource of a preview: this project's resources and pulumi-aws's and aws-native's
Lambda functions and code signing configs. Verdicts come from the project's one
:func:`provider.verdict.decide`; the joins (function -> package -> config) are pure
functions over resource input dicts in :mod:`provider.policy.joins`.

This module imports nothing from pulumi or pulumi-policy, so the path can be printed
without them.
"""

from __future__ import annotations

from pathlib import Path

#: The pack directory: it holds ``PulumiPolicy.yaml`` and the pack's ``__main__.py``.
PACK_DIR = Path(__file__).resolve().parent


def pack_path() -> Path:
    """The directory to pass to ``pulumi preview --policy-pack``."""
    return PACK_DIR
