"""A CDK stack template (examples/cdk, synthesized for real as ``cdk synth`` does) through
cfn-lint with the pack: each asset rejected at its code property, with check's message
naming the construct path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cdk_app import synth_example
from cfn_lint.conftest import NOW, cfn_lint

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from sam_ext.cfn_lint import RuleId
from sam_ext.check import CheckOptions, check_template


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The administrator's profile in a keystore, and the app synthesized with it."""
    root = tmp_path_factory.mktemp("cdk-lint")
    home = root / "keystore"
    arn = LocalBackend(home).put_signing_profile("admin", now=parse_instant(NOW, field="now"))[
        "profileVersionArn"
    ]
    out = synth_example(root / "cdk.out", metadata=True, context={"signingProfileVersionArn": arn})
    yield {"home": home, "out": out}


def _line_of_key(text: str, logical_id: str, key: str) -> int:
    """The line of ``"key":`` inside resource ``logical_id`` of a JSON template."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.strip() == f'"{logical_id}": {{')
    return next(n for n in range(start, len(lines)) if lines[n].strip().startswith(f'"{key}"')) + 1


def test_each_asset_is_rejected_at_its_code_with_its_construct_path(
    assembly: dict[str, Any],
) -> None:
    template: Path = assembly["out"] / "Shop.template.json"
    home: Path = assembly["home"]
    report = check_template(
        template, CheckOptions(at=parse_instant(NOW, field="now")), LocalBackend(home)
    )
    rejected = {f.logical_id: f for f in report.findings if f.standing.value == "REJECT"}
    assert {f.construct_path for f in rejected.values()} == {
        "Shop/Checkout/Resource", "Shop/Refunds/Resource", "Shop/Shared/Resource",
    }  # fmt: skip

    lint = cfn_lint(template, home=home)

    text = template.read_text()
    code = {"AWS::Lambda::Function": "Code", "AWS::Lambda::LayerVersion": "Content"}
    expected = sorted(
        (RuleId.REJECTED, _line_of_key(text, lid, code[f.resource_type]), f.message)
        for lid, f in rejected.items()
    )
    assert sorted(m for m in lint.matches() if m[0] == RuleId.REJECTED) == expected
    assert all(f.construct_path in f.message for f in rejected.values())
