"""The CrossGuard policy pack for Lambda code signing.

``pulumi preview --policy-pack "$(sam-ext policy-pack path)"`` (or ``python -m
provider.policy`` for the path) runs the policies of :mod:`provider.policy.policies` over
every resource of a preview: this project's resources and pulumi-aws's and aws-native's
Lambda functions, layers and code signing configs. Verdicts are the project's one
prediction (:func:`provider.prediction.predict`), with its arguments read from a
``LambdaFunction``'s own inputs by :mod:`provider.resources.judging` (as its ``check``
reads them) and, for pulumi-aws and aws-native resources, joined across the stack
(function -> config -> package -> profile) in :mod:`provider.policy.joins`.

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
