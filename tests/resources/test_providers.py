"""The dynamic providers' check / diff / create / update / read / delete, without the engine
(the engine tests in tests/engine run the same providers under the real Pulumi CLI)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from provider.backends.local import LocalBackend
from provider.errors import CodesignError
from provider.resources._base import UNKNOWN, CodesignStepError, _plain_format_exc
from provider.resources.code_signing_config import CodeSigningConfigProvider
from provider.resources.function import LambdaFunctionProvider
from provider.resources.signed_package import SignedPackageProvider
from provider.resources.signing_profile import SigningProfileProvider


def zip_of(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def profile_inputs(settings: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    inputs = {
        "logical_name": "publisher",
        "profile_name": None,
        "platform_id": "AWSLambda-SHA384-ECDSA",
        "signature_validity_period": None,
        "revocation": None,
        "settings": settings,
    }
    inputs.update(overrides)
    return inputs


def create_profile(settings: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    provider = SigningProfileProvider()
    checked = provider.check({}, profile_inputs(settings, **overrides))
    assert checked.failures == []
    return provider.create(checked.inputs).outs or {}


def create_csc(settings: dict[str, Any], allowed: list[str], policy: str) -> dict[str, Any]:
    provider = CodeSigningConfigProvider()
    inputs = {
        "allowed_publishers": allowed,
        "policy": policy,
        "description": None,
        "settings": settings,
    }
    assert provider.check({}, inputs).failures == []
    return provider.create(inputs).outs or {}


def sign(settings: dict[str, Any], source: Path, profile_name: str) -> dict[str, Any]:
    provider = SignedPackageProvider()
    checked = provider.check(
        {}, {"source": str(source), "profile_name": profile_name, "settings": settings}
    )
    assert checked.failures == []
    return {**checked.inputs, **(provider.create(checked.inputs).outs or {})}


def function_inputs(
    settings: dict[str, Any], code: str, csc: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    inputs = {
        "logical_name": "fn",
        "function_name": None,
        "code": code,
        "code_signing_config_arn": csc.get("arn"),
        "code_signing_policy": csc.get("policy"),
        "allowed_publishers": csc.get("allowed_publishers"),
        "settings": settings,
    }
    inputs.update(overrides)
    return inputs


# --- SigningProfile ---------------------------------------------------------------------


def test_profile_check_auto_names_and_keeps_the_name(settings: dict[str, Any]) -> None:
    provider = SigningProfileProvider()
    first = provider.check({}, profile_inputs(settings)).inputs
    assert first["profile_name"].startswith("publisher_") and first["auto_named"] is True
    again = provider.check(first, profile_inputs(settings)).inputs
    assert again["profile_name"] == first["profile_name"]
    provider.create(first)
    # The engine checks a replacement again without old inputs: still a new name.
    assert provider.check({}, profile_inputs(settings)).inputs["profile_name"] not in (
        first["profile_name"],
        None,
    )
    longer = provider.check(
        first, profile_inputs(settings, signature_validity_period={"value": 3, "type": "MONTHS"})
    ).inputs
    assert longer["profile_name"] != first["profile_name"], "a replacement needs a new name"
    assert provider.diff("id", first, longer).replaces == [
        "profile_name",
        "signature_validity_period",
    ]


def test_profile_check_names_the_bad_field(settings: dict[str, Any]) -> None:
    failures = (
        SigningProfileProvider()
        .check(
            {},
            profile_inputs(
                settings, profile_name="x", signature_validity_period={"value": 0, "type": "DAYS"}
            ),
        )
        .failures
    )
    fields = {f.property for f in failures}
    assert "profile_name" in fields or "signature_validity_period" in fields
    assert all("SigningProfile input" in f.reason for f in failures)
    too_long = (
        SigningProfileProvider()
        .check(
            {}, profile_inputs(settings, signature_validity_period={"value": 136, "type": "MONTHS"})
        )
        .failures
    )
    assert any("135 months" in f.reason for f in too_long)


def test_profile_named_explicitly_cannot_change_validity(settings: dict[str, Any]) -> None:
    provider = SigningProfileProvider()
    old = provider.check({}, profile_inputs(settings, profile_name="team_a")).inputs
    new = provider.check(
        old,
        profile_inputs(
            settings, profile_name="team_a", signature_validity_period={"value": 1, "type": "YEARS"}
        ),
    )
    assert [f.property for f in new.failures] == ["signature_validity_period"]
    assert "never be reused" in new.failures[0].reason


def test_profile_create_revoke_and_cancel(settings: dict[str, Any]) -> None:
    provider = SigningProfileProvider()
    outs = create_profile(settings, profile_name="team_a")
    assert outs["status"] == "Active" and outs["profile_version_arn"].endswith(
        "/team_a/" + outs["profile_version"]
    )
    revocation = {
        "reason": "key leaked",
        "effective_time": "2026-01-01T00:00:00Z",
        "profile_version": None,
    }
    news = {**outs, "revocation": revocation}
    assert provider.diff("id", outs, news).changes is True
    updated = provider.update("id", outs, news).outs or {}
    assert updated["status"] == "Revoked"
    assert updated["revocation_effective_from"].startswith("2026-01-01T00:00:00")
    # Irreversible: removing it, or moving it later, fails check with an explanation.
    removed = provider.check(updated, {**updated, "revocation": None}).failures
    assert [f.property for f in removed] == ["revocation"] and "irreversible" in removed[0].reason
    later = provider.check(
        updated, {**updated, "revocation": {**revocation, "effective_time": "2026-02-01T00:00:00Z"}}
    ).failures
    assert later and "only move earlier" in later[0].reason
    provider.delete("id", updated)
    assert LocalBackend(settings["home"]).get_signing_profile("team_a")["status"] == "Revoked"


def test_profile_delete_cancels(settings: dict[str, Any]) -> None:
    outs = create_profile(settings, profile_name="team_b")
    SigningProfileProvider().delete("id", outs)
    assert LocalBackend(settings["home"]).get_signing_profile("team_b")["status"] == "Canceled"


# --- CodeSigningConfig ------------------------------------------------------------------


def test_csc_check_update_and_delete_in_use(
    settings: dict[str, Any], tmp_path: Path, source_dir: Path
) -> None:
    profile = create_profile(settings, profile_name="team_c")
    provider = CodeSigningConfigProvider()
    bad = provider.check(
        {}, {"allowed_publishers": [], "policy": "enforce", "settings": settings}
    ).failures
    assert {f.property for f in bad} >= {"allowed_publishers", "policy"}
    csc = create_csc(settings, [profile["profile_version_arn"]], "Warn")
    assert csc["arn"].startswith("arn:aws:lambda:") and csc["config_id"].startswith("csc-")
    news = {**csc, "policy": "Enforce"}
    assert provider.diff(csc["arn"], csc, news).replaces == []
    provider.update(csc["arn"], csc, news)
    assert provider.read(csc["arn"], csc).outs["policy"] == "Enforce"
    package = sign(settings, source_dir, "team_c")
    LambdaFunctionProvider().create(
        LambdaFunctionProvider()
        .check({}, function_inputs(settings, package["location"], {**csc, "policy": "Enforce"}))
        .inputs
    )
    with pytest.raises(CodesignStepError) as raised:
        provider.delete(csc["arn"], csc)
    assert "used by function" in raised.value.message


# --- SignedPackage ----------------------------------------------------------------------


def test_signed_package_same_source_no_diff_no_job(
    settings: dict[str, Any], source_dir: Path
) -> None:
    create_profile(settings, profile_name="team_d")
    provider = SignedPackageProvider()
    first = sign(settings, source_dir, "team_d")
    assert Path(first["location"]).is_file() and first["job_id"]
    again = provider.check(
        first, {"source": str(source_dir), "profile_name": "team_d", "settings": settings}
    ).inputs
    assert again["source_hash"] == first["source_hash"]
    assert provider.diff(first["job_id"], first, again).changes is False
    (source_dir / "app.py").write_text("def handler(event, context):\n    return 2\n")
    changed = provider.check(
        first, {"source": str(source_dir), "profile_name": "team_d", "settings": settings}
    ).inputs
    assert provider.diff(first["job_id"], first, changed).replaces == ["source_hash"]
    second = provider.create(changed).outs or {}
    assert second["job_id"] != first["job_id"] and second["location"] != first["location"]


def test_signed_package_refuses_canceled_profile_and_missing_source(
    settings: dict[str, Any], source_dir: Path, tmp_path: Path
) -> None:
    outs = create_profile(settings, profile_name="team_e")
    SigningProfileProvider().delete("id", outs)
    # Not a check failure (the engine would stop there): an error the preview reports.
    canceled = SignedPackageProvider().check(
        {}, {"source": str(source_dir), "profile_name": "team_e", "settings": settings}
    )
    assert canceled.failures == []
    [error] = canceled.inputs["findings"]
    assert error["level"] == "error" and "Canceled" in error["message"]
    missing = (
        SignedPackageProvider()
        .check(
            {}, {"source": str(tmp_path / "nope"), "profile_name": "team_e", "settings": settings}
        )
        .failures
    )
    assert [f.property for f in missing] == ["source"]


def test_signed_package_failed_job_is_a_clear_error(
    settings: dict[str, Any], tmp_path: Path
) -> None:
    create_profile(settings, profile_name="team_f")
    empty = zip_of(tmp_path / "empty.zip", {})
    inputs = (
        SignedPackageProvider()
        .check({}, {"source": str(empty), "profile_name": "team_f", "settings": settings})
        .inputs
    )
    with pytest.raises(CodesignStepError) as raised:
        SignedPackageProvider().create(inputs)
    assert "empty" in raised.value.message


def test_signed_package_revocation_is_irreversible(
    settings: dict[str, Any], source_dir: Path
) -> None:
    create_profile(settings, profile_name="team_g")
    provider = SignedPackageProvider()
    package = sign(settings, source_dir, "team_g")
    news = {**package, "signature_revocation": {"reason": "bad build"}}
    assert provider.diff(package["job_id"], package, news).changes is True
    revoked = provider.update(package["job_id"], package, news).outs or {}
    assert revoked["revoked"] is True
    failures = provider.check(revoked, {**revoked, "signature_revocation": None}).failures
    assert [f.property for f in failures] == ["signature_revocation"]


# --- LambdaFunction ---------------------------------------------------------------------


def test_function_prediction_and_enforced_deploy(
    settings: dict[str, Any], source_dir: Path, tmp_path: Path
) -> None:
    trusted = create_profile(settings, profile_name="trusted")
    create_profile(settings, profile_name="outsider")
    warn = create_csc(settings, [trusted["profile_version_arn"]], "Warn")
    provider = LambdaFunctionProvider()
    good = sign(settings, source_dir, "trusted")
    checked = provider.check({}, function_inputs(settings, good["location"], warn))
    assert checked.failures == [] and checked.inputs["predicted_verdict"]["decision"] == "ALLOW"
    outsider = sign(settings, source_dir, "outsider")
    warned = provider.check({}, function_inputs(settings, outsider["location"], warn))
    assert warned.failures == [] and warned.inputs["predicted_verdict"]["decision"] == "WARN"
    assert warned.inputs["predicted_verdict"]["failed_checks"][0].startswith("mismatch")
    enforce = {**warn, "policy": "Enforce"}
    rejected = provider.check({}, function_inputs(settings, outsider["location"], enforce))
    # A predicted rejection never fails check: it is an error finding, and the program
    # fails the preview once every finding is reported.
    assert rejected.failures == []
    assert rejected.inputs["predicted_verdict"]["decision"] == "REJECT"
    [error] = rejected.inputs["findings"]
    reason = error["message"]
    assert error["level"] == "error"
    assert "CodeVerificationFailedException" in reason and "mismatch" in reason
    assert "To fix" in reason and rejected.inputs["function_name"] in reason
    # Create under Warn deploys and reports the warning; the registry enforces like Lambda.
    created = provider.create(warned.inputs).outs or {}
    assert created["verdict"]["decision"] == "WARN" and created["warnings"]


def test_function_prediction_with_unknown_code_or_csc(settings: dict[str, Any]) -> None:
    provider = LambdaFunctionProvider()
    csc = {
        "arn": UNKNOWN,
        "policy": "Enforce",
        "allowed_publishers": [
            "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team/abcdefghij"
        ],
    }
    unknown_code = provider.check({}, function_inputs(settings, UNKNOWN, csc))
    prediction = unknown_code.inputs["predicted_verdict"]
    assert unknown_code.failures == [] and prediction["decision"] == "UNKNOWN"
    assert set(prediction["unknown_until_deploy"]) == {
        "integrity",
        "mismatch",
        "expiry",
        "revocation",
    }
    [said] = unknown_code.inputs["findings"]
    assert "UNKNOWN until deploy" in said["message"] and "allowed" not in said["message"]
    unknown_policy = provider.check(
        {}, function_inputs(settings, UNKNOWN, {**csc, "policy": UNKNOWN})
    )
    assert unknown_policy.inputs["predicted_verdict"]["decision"] == "UNKNOWN"


def test_function_update_rejected_leaves_deployment(
    settings: dict[str, Any], source_dir: Path, tmp_path: Path
) -> None:
    trusted = create_profile(settings, profile_name="trusted2")
    csc = create_csc(settings, [trusted["profile_version_arn"]], "Enforce")
    provider = LambdaFunctionProvider()
    good = sign(settings, source_dir, "trusted2")
    inputs = provider.check({}, function_inputs(settings, good["location"], csc)).inputs
    created = {**inputs, **(provider.create(inputs).outs or {})}
    unsigned = zip_of(tmp_path / "unsigned.zip", {"app.py": "x = 1\n"})
    news = provider.check(created, function_inputs(settings, str(unsigned), csc)).inputs
    with pytest.raises(CodesignStepError) as raised:
        provider.update(created["function_name"], created, news)
    assert "CodeVerificationFailedException" in raised.value.message
    # The engine shows what the provider host's traceback.format_exc() gives: the message.
    try:
        raise raised.value
    except CodesignStepError:
        assert _plain_format_exc() == raised.value.message
    deployed = LocalBackend(settings["home"]).get_function(created["function_name"])
    assert deployed["CodeSha384"] == created["deployed_code_sha384"]


def test_a_tightened_config_warns_on_each_function_it_would_block(
    settings: dict[str, Any], source_dir: Path, tmp_path: Path
) -> None:
    trusted = create_profile(settings, profile_name="trusted3")
    warn = create_csc(settings, [trusted["profile_version_arn"]], "Warn")
    provider = LambdaFunctionProvider()
    unsigned = zip_of(tmp_path / "unsigned.zip", {"app.py": "x = 1\n"})
    created = {}
    for logical in ("alpha", "beta"):
        inputs = provider.check(
            {}, function_inputs(settings, str(unsigned), warn, logical_name=logical)
        ).inputs
        created[logical] = {**inputs, **(provider.create(inputs).outs or {})}
    csc_provider = CodeSigningConfigProvider()
    enforce = {**warn, "policy": "Enforce"}
    # The config updates in place, as Lambda lets it: deployed code keeps running.
    assert csc_provider.diff(warn["arn"], warn, enforce).changes is True
    for logical, state in created.items():
        again = provider.check(
            state, function_inputs(settings, str(unsigned), enforce, logical_name=logical)
        )
        assert again.failures == []
        [warning] = again.inputs["findings"]
        assert warning["level"] == "warning", warning
        message = warning["message"]
        assert state["function_name"] in message and "keeps running" in message
        assert "next code deploy would be rejected" in message and "mismatch" in message
        # Recording the new standing deploys nothing: an update without a code deploy.
        assert again.inputs["deployed_code_standing"]["decision"] == "REJECT"
        assert provider.diff(state["function_name"], state, again.inputs).changes is True


def test_unknown_objects_count_as_unknown(settings: dict[str, Any]) -> None:
    from pulumi.output import Unknown

    provider = LambdaFunctionProvider()
    csc = {
        "arn": Unknown(),
        "policy": "Enforce",
        "allowed_publishers": [
            "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team/abcdefghij"
        ],
    }
    checked = provider.check({}, function_inputs(settings, Unknown(), csc))
    assert checked.failures == []
    assert checked.inputs["predicted_verdict"]["unknown_until_deploy"]


def test_resources_on_the_aws_backend_fail_check_clearly(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    aws = {**settings, "backend": "aws"}
    package = (
        SignedPackageProvider()
        .check({}, {"source": "/tmp", "profile_name": "team", "settings": aws})
        .failures
    )
    assert [f.property for f in package] == ["destination"]
    assert "s3://BUCKET/PREFIX" in package[0].reason and "codesign:bucket" in package[0].reason
    # With no region anywhere, the aws backend cannot open: said on the settings input.
    function = (
        LambdaFunctionProvider()
        .check({}, function_inputs({**aws, "region": None}, "/tmp/x.zip", {}))
        .failures
    )
    assert [f.property for f in function] == ["settings"]
    assert "no AWS region is configured" in function[0].reason


def test_an_s3_destination_needs_the_aws_backend(
    settings: dict[str, Any], source_dir: Path
) -> None:
    failures = (
        SignedPackageProvider()
        .check(
            {},
            {
                "source": str(source_dir),
                "profile_name": "team",
                "destination": "s3://bucket/signed",
                "settings": settings,
            },
        )
        .failures
    )
    assert [f.property for f in failures] == ["destination"]
    assert "needs codesign:backend aws" in failures[0].reason


def test_pulumi_aws_inputs_are_accepted_and_recorded_on_local(
    settings: dict[str, Any], source_dir: Path
) -> None:
    """The inputs an AWS function needs run unchanged on the local backend (one program,
    both backends): recorded in the registry, and changed in place by an update."""
    trusted = create_profile(settings, profile_name="both_ways")
    csc = create_csc(settings, [trusted["profile_version_arn"]], "Enforce")
    package = sign(settings, source_dir, "both_ways")
    role = "arn:aws:iam::123456789012:role/web"
    news = function_inputs(
        settings,
        package["location"],
        csc,
        role=role,
        runtime="python3.12",
        handler="app.handler",
        memory_size=256.0,
        timeout=30.0,
        environment={"variables": {"STAGE": "dev"}},
        tags={"team": "a"},
        architectures=["arm64"],
        description="web",
        publish=True,
    )
    provider = LambdaFunctionProvider()
    checked = provider.check({}, news)
    assert checked.failures == []
    created = {**checked.inputs, **(provider.create(checked.inputs).outs or {})}
    name = created["function_name"]
    function = LocalBackend(settings["home"]).get_function(name)
    assert (function["Role"], function["MemorySize"], function["Timeout"]) == (role, 256, 30)
    assert function["Environment"] == {"Variables": {"STAGE": "dev"}}
    assert (function["Architectures"], function["Tags"]) == (["arm64"], {"team": "a"})
    assert created["version"] == "1"  # publish=True published a version
    assert (provider.read(name, created).outs or {})["drift"] == []  # all read back as set

    changed = provider.check(created, {**news, "memory_size": None, "tags": {"team": "b"}})
    assert provider.diff(name, created, changed.inputs).changes is True
    provider.update(name, created, changed.inputs)
    function = LocalBackend(settings["home"]).get_function(name)
    assert (function["MemorySize"], function["Tags"]) == (128, {"team": "b"})

    # A container image is refused, with the reason, on either backend.
    image = provider.check({}, {**news, "package_type": "Image"}).failures
    assert [f.property for f in image] == ["package_type"]
    assert "code signing covers .zip packages only" in image[0].reason


def test_signed_package_another_compressor_is_no_diff(
    settings: dict[str, Any], source_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What decides 'the code changed' is the source's content: packaging it with zlib on a
    machine without ISA-L (or after a compressor upgrade) shows no diff."""
    create_profile(settings, profile_name="team_z")
    # Enough text that the two deflates write different bytes.
    (source_dir / "data.py").write_text(
        "".join(f"VALUE_{i} = {i * 7919 % 1000}  # {i:x}\n" for i in range(3000))
    )
    provider = SignedPackageProvider()
    first = sign(settings, source_dir, "team_z")
    from provider import deflate

    assert deflate.implementation().name.startswith("isal"), "ISA-L must be the default here"
    monkeypatch.setenv("CODESIGN_DEFLATE", "zlib")
    deflate.implementation.cache_clear()
    try:
        assert deflate.implementation().name.startswith("zlib")
        again = provider.check(
            first, {"source": str(source_dir), "profile_name": "team_z", "settings": settings}
        ).inputs
    finally:
        monkeypatch.delenv("CODESIGN_DEFLATE")
        deflate.implementation.cache_clear()
    assert again["source_hash"] == first["source_hash"]
    assert provider.diff(first["job_id"], first, again).changes is False


def test_a_codesign_error_outside_a_step_reaches_the_engine_as_one_line(tmp_path: Path) -> None:
    """A keystore refused while checking (say, a 0755 directory) shows as its message, not
    as 'provider.errors.KeystoreError: ...' with the module path."""
    home = tmp_path / "open-keystore"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    try:
        LocalBackend(home)
    except CodesignError as exc:
        shown = _plain_format_exc()
        assert shown == str(exc)
        assert "provider.errors" not in shown and "Traceback" not in shown
        assert "chmod 700" in shown
    else:
        raise AssertionError("a keystore readable by others must be refused")
