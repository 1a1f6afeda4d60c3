"""A size limit broken in a Pulumi resource's inputs is said by count, as in the CLI: a
code signing config with 21 publishers says "at most 20 items (got 21)", not all 21."""

from __future__ import annotations

from typing import Any

from provider.resources.code_signing_config import CodeSigningConfigProvider


def test_21_publishers_are_said_by_count(settings: dict[str, Any]) -> None:
    arns = [
        f"arn:aws:signer:us-east-1:000000000000:/signing-profiles/p{n:02d}/ABCDEFGH{n:02d}"
        for n in range(21)
    ]
    checked = CodeSigningConfigProvider().check(
        {}, {"allowed_publishers": arns, "policy": "Enforce", "settings": settings}
    )
    [failure] = [f for f in checked.failures if f.property == "allowed_publishers"]
    assert failure.reason.endswith("allowed_publishers: at most 20 items (got 21)")
    assert "arn:aws:signer" not in failure.reason
