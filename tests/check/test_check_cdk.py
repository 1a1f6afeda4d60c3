"""``sam-ext check`` on the CDK app in examples/cdk, synthesized for real (tests/cdk_app.py)
as ``cdk synth`` writes it (Metadata on) and as a bare ``app.synth()`` does (no Metadata:
construct paths from STACK.metadata.json, assets from STACK.assets.json)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cdk_app import synth_example

from provider.backends.local import LocalBackend
from tests.local_keystore import T0
from tests.sam_ext.conftest import Cli, Result

NOW = ("--now", "2026-01-15T12:00:00Z")
SHOP = {"Shop/Checkout/Resource", "Shop/Refunds/Resource", "Shop/Shared/Resource"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A keystore with the administrator's profile, and the app synthesized both ways
    with that profile's version ARN."""
    root = tmp_path_factory.mktemp("cdk-check")
    backend = LocalBackend(home=root / "keystore")
    arn = backend.put_signing_profile("admin", now=T0)["profileVersionArn"]
    context = {"signingProfileVersionArn": arn}
    yield {
        "home": root / "keystore",
        "arn": arn,
        "meta": synth_example(root / "cdk.out-meta", metadata=True, context=context),
        "bare": synth_example(root / "cdk.out-bare", metadata=False, context=context),
    }


@pytest.fixture
def cli(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    monkeypatch.setenv("CODESIGN_HOME", str(world["home"]))
    monkeypatch.delenv("CODESIGN_PASSPHRASE", raising=False)
    monkeypatch.delenv("CODESIGN_REGION", raising=False)
    return Cli(capsys)


def by_path(result: Result) -> dict[str, dict[str, Any]]:
    return {f["construct_path"]: f for f in result.json["findings"]}


@pytest.mark.parametrize("mode", ["meta", "bare"])
def test_the_assembly_names_every_asset_rejected_with_its_construct_path(
    cli: Cli, world: dict[str, Any], mode: str
) -> None:
    assembly: Path = world[mode]
    found = by_path(
        cli(*NOW, "check", assembly, "--output", "json", status=1, schema="check-report")
    )
    for path in SHOP:
        assert found[path]["standing"] == "REJECT", found[path]
        assert found[path]["check"] == "mismatch"
        assert "the package is not signed" in found[path]["message"]
        assert found[path]["message"].startswith(path)
        # Named as the app names it (its construct path), which package takes.
        assert found[path]["remedy"] == (
            f"sam-ext package --template-file {assembly / 'Shop.template.json'} "
            f"--signing-profiles {path.removesuffix('/Resource')}=admin"
        )
    assert "Shop/CodeSigning/Resource (Enforce)" in found["Shop/Checkout/Resource"]["message"]
    assert found["Shop/Shared/Resource"]["resource_type"] == "AWS::Lambda::LayerVersion"
    own = found["ShopSelfSigned/Refunds/Resource"]
    assert own["standing"] == "REJECT"
    assert "no package can be signed by a profile that does not exist yet" in own["message"]
    assert "this template creates (ShopSelfSigned/Profile/Resource)" in own["message"]
    assert "signer.SigningProfile.from_signing_profile_attributes" in own["remedy"]
    table = cli(*NOW, "check", assembly, status=1).out
    assert all(path in table for path in SHOP)
    # One stack's template names its stack's resources only.
    stack = by_path(
        cli(*NOW, "check", assembly / "Shop.template.json", "--output", "json", status=1)
    )
    assert set(stack) == SHOP


@pytest.mark.parametrize("mode", ["meta", "bare"])
def test_signing_profiles_by_construct_path_then_the_packaged_template_then_tampering(
    cli: Cli, world: dict[str, Any], mode: str, tmp_path: Path
) -> None:
    assembly = tmp_path / "cdk.out"
    shutil.copytree(world[mode], assembly)
    template = assembly / "Shop.template.json"
    pending = by_path(
        cli(
            *NOW,
            "check",
            template,
            "--output",
            "json",
            "--signing-profiles",
            "Checkout=admin Shop/Refunds/Resource=admin Shop/Shared=admin",
        )
    )
    assert {f["standing"] for f in pending.values()} == {"ALLOW"}
    ids = {f["construct_path"]: f["logical_id"] for f in pending.values()}
    packaged = tmp_path / "packaged.json"
    cli(
        *NOW,
        "package",
        "--template-file",
        template,
        "--use-json",
        "--output-template-file",
        packaged,
        "--artifact-dir",
        tmp_path / "artifacts",
        "--signing-profiles",
        " ".join(f"{logical_id}=admin" for logical_id in ids.values()),
    )
    allowed = cli(*NOW, "check", packaged, "--output", "json", schema="check-report").json
    assert {f["standing"] for f in allowed["findings"]} == {"ALLOW"}
    assert len(allowed["findings"]) == 3
    # A signed package changed after signing: integrity, whatever the policy.
    code = json.loads(packaged.read_text())["Resources"][ids["Shop/Checkout/Resource"]][
        "Properties"
    ]["Code"]
    signed = Path(code["S3Key"])
    signed = signed if signed.is_absolute() else packaged.parent / signed
    data = bytearray(signed.read_bytes())
    data[40] ^= 0x01
    signed.write_bytes(bytes(data))
    tampered = {
        f["logical_id"]: f
        for f in cli(*NOW, "check", packaged, "--output", "json", status=1).json["findings"]
    }
    checkout = tampered[ids["Shop/Checkout/Resource"]]
    assert (checkout["standing"], checkout["check"]) == ("REJECT", "integrity")
    assert checkout["exception"] == "InvalidCodeSignatureException"


def test_check_document_of_a_stack_template_knows_its_construct_paths(
    world: dict[str, Any],
) -> None:
    from sam_ext.check import CheckOptions, check_document

    template = world["bare"] / "Shop.template.json"
    report = check_document(
        json.loads(template.read_text()),
        template_path=template,
        options=CheckOptions(at=T0),
        backend=LocalBackend(home=world["home"]),
    )
    assert {f.construct_path for f in report.findings} == SHOP
    assert {f.standing.value for f in report.findings} == {"REJECT"}


def test_without_the_override_cdks_own_publisher_arn_matches_no_signature(
    cli: Cli, world: dict[str, Any], tmp_path: Path
) -> None:
    """``-c exactPublisherArn=false``: the config lists the ARN CDK's
    from_signing_profile_attributes writes (a double slash after the account), so even the
    code the administrator's profile would sign is rejected; check says why and how."""
    context = {"signingProfileVersionArn": world["arn"], "exactPublisherArn": "false"}
    assembly = synth_example(tmp_path / "cdk.out", metadata=True, context=context)
    template = assembly / "Shop.template.json"
    csc = next(
        r
        for r in json.loads(template.read_text())["Resources"].values()
        if r["Type"] == "AWS::Lambda::CodeSigningConfig"
    )
    (listed,) = csc["Properties"]["AllowedPublishers"]["SigningProfileVersionArns"]
    assert "://signing-profiles/admin/" in json.dumps(listed)  # CDK's own, not overridden
    written = world["arn"].replace(":/signing-profiles/", "://signing-profiles/")

    signed = by_path(
        cli(
            *NOW, "check", template, "--signing-profiles",
            "Shop/Checkout/Resource=admin Shop/Refunds/Resource=admin Shop/Shared/Resource=admin",
            "--output", "json", status=1, schema="check-report",
        )
    )  # fmt: skip
    for path in SHOP:
        found = signed[path]
        assert (found["standing"], found["check"]) == ("REJECT", "mismatch"), found
        assert (
            f"the config's publisher {written} is not a signing profile version ARN"
            in found["message"]
        )
        assert "from_signing_profile_attributes" in found["message"]
        assert f"e.g. {world['arn']})" in found["remedy"]
        assert "add_property_override" in found["remedy"]
