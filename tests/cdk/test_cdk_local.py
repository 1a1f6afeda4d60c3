"""examples/cdk synthesized for real (as ``cdk synth`` writes it and as a bare
``app.synth()`` does), signed by ``sam-ext package --signing-profiles`` and deployed on the
local backend under its Enforce config; tampering, re-signing, the cache and bad input."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cdk_app import NOW, CdkApp, Result
from local_keystore import flip_code_byte

from provider.backends.local import LocalBackend
from provider.verdict import CscPolicy, Decision
from sam_ext.cdk.assembly import read_cloud_assembly
from sam_ext.packaging.destination import LOCAL_BUCKET

FORMS = pytest.mark.parametrize("metadata", [True, False], ids=["cdk-synth", "bare-synth"])
#: construct path -> the resource type, of the three artifacts of stack Shop.
ARTIFACTS = {
    "Shop/Checkout/Resource": "AWS::Lambda::Function",
    "Shop/Refunds/Resource": "AWS::Lambda::Function",
    "Shop/Shared/Resource": "AWS::Lambda::LayerVersion",
}
ASSET_KEYS = {"aws:asset:path", "aws:asset:is-bundled", "aws:asset:property"}
Run = Callable[..., Result]


def _ids(app: CdkApp) -> dict[str, str]:
    """construct path -> logical id, as the synthesized stack says."""
    stack = read_cloud_assembly(app.out).stacks[0]
    return {path: logical_id for logical_id, path in stack.construct_paths.items()}


def _package(sam_ext: Run, app: CdkApp, *names: str, status: int = 0) -> Result:
    profiles = " ".join(f"{name}=ShopAdmin" for name in names)
    return sam_ext(
        "package",
        "--template-file",
        app.template,
        "--signing-profiles",
        profiles,
        "--output-template-file",
        app.root / "packaged.json",
        "--use-json",
        status=status,
    )


def _packaged(app: CdkApp) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((app.root / "packaged.json").read_text())
    return document


def _code_of(resource: dict[str, Any]) -> Path:
    properties = resource["Properties"]
    code = properties.get("Code") or properties.get("Content")
    assert code["S3Bucket"] == LOCAL_BUCKET, code
    return Path(code["S3Key"])


def _jobs(home: Path) -> int:
    import sqlite3

    db = sqlite3.connect(home / "index.sqlite3")
    try:
        return int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
    finally:
        db.close()


@FORMS
def test_the_example_synthesizes_in_both_forms(
    make_app: Callable[[bool], CdkApp], metadata: bool
) -> None:
    app = make_app(metadata)
    assembly = read_cloud_assembly(app.out)
    assert [stack.name for stack in assembly.stacks] == ["Shop", "ShopSelfSigned"]
    shop = assembly.stacks[0]
    resources = shop.template["Resources"]
    ids = _ids(app)
    for path, kind in ARTIFACTS.items():
        resource = resources[ids[path]]
        assert resource["Type"] == kind
        asset = shop.asset_of(ids[path], resource)
        assert asset is not None and asset.source.is_dir(), path
        # cdk synth's form says the asset in the template; the bare form only in assets.json
        assert (set(resource.get("Metadata", {})) >= ASSET_KEYS) is metadata
    csc = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::CodeSigningConfig")
    assert csc["Properties"]["AllowedPublishers"]["SigningProfileVersionArns"] == [app.version_arn]
    assert csc["Properties"]["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    own = assembly.stacks[1].template["Resources"]
    assert any(r["Type"] == "AWS::Signer::SigningProfile" for r in own.values())


@FORMS
@pytest.mark.parametrize("naming", ["logical-id", "construct-path"])
def test_package_signs_both_functions_and_the_layer(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, home: Path, metadata: bool, naming: str
) -> None:
    app = make_app(metadata)
    ids = _ids(app)
    names = (
        [ids[path] for path in ARTIFACTS]
        if naming == "logical-id"
        else ["Shop/Checkout", "/Shop/Refunds/Resource", "Shared"]
    )
    _package(sam_ext, app, *names)
    assert _jobs(home) == 3
    resources = _packaged(app)["Resources"]
    backend = LocalBackend(home)
    for path in ARTIFACTS:
        resource = resources[ids[path]]
        signed = _code_of(resource)
        assert signed.parent == app.root / ".sam-ext" / "artifacts"  # beside cdk.out
        verdict = backend.evaluate_package(signed, CscPolicy((app.version_arn,), "Enforce"), at=NOW)
        assert verdict.decision is Decision.ALLOW, verdict.message
        metadata_left = resource.get("Metadata", {})
        assert not ASSET_KEYS & set(metadata_left)
        assert metadata_left.get("aws:cdk:path") == (path if metadata else None)
    checkout = zipfile.ZipFile(_code_of(resources[ids["Shop/Checkout/Resource"]]))
    assert "app.py" in checkout.namelist()
    layer = zipfile.ZipFile(_code_of(resources[ids["Shop/Shared/Resource"]]))
    assert "python/shop_common.py" in layer.namelist()


@FORMS
def test_deploy_locally_passes_lambdas_check_under_enforce(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, home: Path, metadata: bool
) -> None:
    app = make_app(metadata)
    _package(sam_ext, app, "Shop/Checkout", "Shop/Refunds", "Shop/Shared")
    result = sam_ext("deploy", "--template-file", "packaged.json", "--stack-name", "shop")
    assert "stack shop deployed to the local function registry" in result.err
    ids = _ids(app)
    backend = LocalBackend(home)
    for path in ("Shop/Checkout/Resource", "Shop/Refunds/Resource"):
        function = backend.get_function(f"shop-{ids[path]}")
        verdict = function["LastVerdict"]
        assert verdict["decision"] == "ALLOW" and verdict["policy"] == "Enforce", verdict
        assert verdict["profileVersionArn"] == app.version_arn
    checkout = backend.get_function(f"shop-{ids['Shop/Checkout/Resource']}")
    assert [layer["Arn"].split(":")[-2] for layer in checkout["Layers"]] == [
        f"shop-{ids['Shop/Shared/Resource']}"
    ]


def test_deploy_of_the_cdk_template_signs_and_says_what_only_cloudformation_checks(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, home: Path
) -> None:
    app = make_app(True)
    result = sam_ext(
        "deploy",
        "--template-file",
        app.template,
        "--stack-name",
        "shop",
        "--signing-profiles",
        "Shop/Checkout=ShopAdmin Shop/Refunds=ShopAdmin Shop/Shared=ShopAdmin",
    )
    assert "parameter BootstrapVersion (AWS::SSM::Parameter::Value<String>" in result.err
    assert "rule CheckBootstrapVersion is checked by CloudFormation" in result.err
    assert result.err.count("created shop-") == 2 and ": ALLOW" in result.err


def _check(sam_ext: Run, app: CdkApp, *, status: int) -> dict[str, tuple[str, str | None]]:
    """``sam-ext check packaged.json``: logical id -> (standing, deciding check)."""
    result = sam_ext("check", app.root / "packaged.json", "--output", "json", status=status)
    return {
        finding["logical_id"]: (finding["standing"], finding["check"])
        for finding in json.loads(result.out)["findings"]
    }


@FORMS
def test_a_signed_object_tampered_with_is_rejected_by_the_deploy(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, home: Path, metadata: bool
) -> None:
    app = make_app(metadata)
    _package(sam_ext, app, "Shop/Checkout", "Shop/Refunds", "Shop/Shared")
    ids = _ids(app)
    assert _check(sam_ext, app, status=0) == {
        ids[path]: ("ALLOW", None) for path in ARTIFACTS
    }  # sam-ext check predicts the deploy the packaged template makes
    flip_code_byte(_code_of(_packaged(app)["Resources"][ids["Shop/Checkout/Resource"]]))
    predicted = _check(sam_ext, app, status=1)
    assert predicted[ids["Shop/Checkout/Resource"]] == ("REJECT", "integrity")
    assert predicted[ids["Shop/Refunds/Resource"]] == ("ALLOW", None)
    result = sam_ext("deploy", "--template-file", "packaged.json", "--stack-name", "shop", status=1)
    assert "InvalidCodeSignatureException" in result.err and "nothing was changed" in result.err
    assert "integrity" in result.err
    assert LocalBackend(home).list_functions()["Functions"] == []


def test_a_changed_asset_is_signed_again_and_the_unchanged_ones_come_from_the_cache(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, home: Path
) -> None:
    app = make_app(False)
    names = ("Shop/Checkout", "Shop/Refunds", "Shop/Shared")
    first = _package(sam_ext, app, *names)
    assert first.err.count("] signed ") == 3 and "(cached)" not in first.err
    ids = _ids(app)
    before = {path: _code_of(_packaged(app)["Resources"][ids[path]]) for path in ARTIFACTS}

    again = _package(sam_ext, app, *names)  # nothing changed: all three from the cache
    assert again.err.count("signed (cached)") == 3 and _jobs(home) == 3

    source = app.root / "functions" / "refunds" / "app.py"
    source.write_text(source.read_text().replace("accepted", "accepted, thanks"))
    app.synth()  # as a user would: a new asset hash for Refunds only
    changed = _package(sam_ext, app, *names)
    assert _jobs(home) == 4
    assert f"signed {ids['Shop/Refunds/Resource']}" in changed.err
    assert f"signed (cached) {ids['Shop/Checkout/Resource']}" in changed.err
    assert f"signed (cached) {ids['Shop/Shared/Resource']}" in changed.err
    after = {path: _code_of(_packaged(app)["Resources"][ids[path]]) for path in ARTIFACTS}
    assert after["Shop/Refunds/Resource"] != before["Shop/Refunds/Resource"]
    assert after["Shop/Checkout/Resource"] == before["Shop/Checkout/Resource"]
    with zipfile.ZipFile(after["Shop/Refunds/Resource"]) as archive:
        assert b"accepted, thanks" in archive.read("app.py")


def _one_line(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


@FORMS
def test_an_id_matching_nothing_is_bad_input(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, metadata: bool
) -> None:
    app = make_app(metadata)
    line = _one_line(_package(sam_ext, app, "Shop/Checkout", "Shop/Nope", status=2))
    assert "--signing-profiles: 'Shop/Nope' names no resource of CDK stack Shop" in line


@FORMS
def test_an_asset_path_escaping_the_assembly_is_bad_input(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, metadata: bool
) -> None:
    app = make_app(metadata)
    (app.root / "outside").mkdir()
    if metadata:
        template = json.loads(app.template.read_text())
        for resource in template["Resources"].values():
            if "aws:asset:path" in resource.get("Metadata", {}):
                resource["Metadata"]["aws:asset:path"] = "../outside"
        app.template.write_text(json.dumps(template))
    else:
        manifest = app.out / "Shop.assets.json"
        assets = json.loads(manifest.read_text())
        for entry in assets["files"].values():
            if entry["source"]["packaging"] == "zip":
                entry["source"]["path"] = "../outside"
        manifest.write_text(json.dumps(assets))
    line = _one_line(_package(sam_ext, app, "Shop/Checkout", status=2))
    assert "'../outside'" in line and "outside the assembly directory" in line
    assert str(app.out) in line


def test_a_zip_file_asset_is_signed_as_it_is(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, home: Path
) -> None:
    """A ``packaging: file`` asset (``Code.from_asset("refunds.zip")``) is the package: its
    members are signed unchanged, not zipped again."""
    app = make_app(False)
    ids = _ids(app)
    refunds = ids["Shop/Refunds/Resource"]
    key = (
        read_cloud_assembly(app.out)
        .stacks[0]
        .template["Resources"][refunds]["Properties"]["Code"]["S3Key"]
    )
    members = {"app.py": b"def handler(e, c):\n    return 'zipped'\n", "data/x.txt": b"x\n"}
    with zipfile.ZipFile(app.out / "refunds.zip", "w") as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), content)
    manifest = app.out / "Shop.assets.json"
    assets = json.loads(manifest.read_text())
    for entry in assets["files"].values():
        if any(d["objectKey"] == key for d in entry["destinations"].values()):
            entry["source"] = {"path": "refunds.zip", "packaging": "file"}
    manifest.write_text(json.dumps(assets))

    _package(sam_ext, app, "Shop/Refunds", "Shop/Checkout", "Shop/Shared")
    signed = _code_of(_packaged(app)["Resources"][refunds])
    with zipfile.ZipFile(signed) as archive:
        got = {n: archive.read(n) for n in archive.namelist() if not n.startswith(".codesign/")}
    assert got == members
    verdict = LocalBackend(home).evaluate_package(
        signed, CscPolicy((app.version_arn,), "Enforce"), at=NOW
    )
    assert verdict.decision is Decision.ALLOW, verdict.message


def test_deploy_on_aws_of_cdk_assets_without_a_bucket_is_bad_input(
    make_app: Callable[[bool], CdkApp], sam_ext: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CDK's own asset bucket is not where sam-ext puts signed code: --s3-bucket is asked
    for before anything is signed or called."""
    app = make_app(True)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached
    result = sam_ext(
        "--backend", "aws", "deploy", "--template-file", app.template, "--stack-name", "shop",
        "--no-confirm-changeset", status=2,
    )  # fmt: skip
    line = _one_line(result)
    ids = _ids(app)
    assert line.startswith("error: ValidationException: --s3-bucket: required with --backend aws")
    assert all(ids[path] in line for path in ARTIFACTS)
