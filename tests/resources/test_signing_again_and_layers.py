"""Signing again (revoked signature, renew_before, a profile that can sign no more), layers
judged on their functions, and auto-names that do not change between preview and up."""

from __future__ import annotations

import struct
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from resources.test_providers import create_csc, create_profile, function_inputs

from provider.backends.local import LocalBackend
from provider.clock import format_instant, utcnow
from provider.errors import ValidationError
from provider.resources._base import auto_name
from provider.resources.function import LambdaFunctionProvider
from provider.resources.layer import LayerVersionProvider
from provider.resources.signed_package import SignedPackageProvider, renew_window


def package_inputs(
    settings: dict[str, Any], source: Path, profile: str, **overrides: Any
) -> dict[str, Any]:
    inputs = {
        "source": str(source),
        "profile_name": profile,
        "settings": settings,
        "name_seed": "0123456789abcdef" * 4,
        "renew_before": None,
    }
    inputs.update(overrides)
    return inputs


def signed(
    settings: dict[str, Any], source: Path, profile: str, **overrides: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(checked inputs, outputs) of a created package."""
    provider = SignedPackageProvider()
    checked = provider.check({}, package_inputs(settings, source, profile, **overrides))
    assert checked.failures == [] and checked.inputs["findings"] == []
    return checked.inputs, provider.create(checked.inputs).outs or {}


def test_a_revoked_signature_is_signed_again_on_the_next_up(
    settings: dict[str, Any], source_dir: Path
) -> None:
    create_profile(settings, profile_name="team_r")
    provider = SignedPackageProvider()
    inputs, outs = signed(settings, source_dir, "team_r")
    unchanged = provider.check(inputs, package_inputs(settings, source_dir, "team_r"))
    assert unchanged.inputs["signing_generation"] == 0 and unchanged.inputs["findings"] == []
    assert provider.diff(outs["job_id"], outs, unchanged.inputs).changes is False
    # An in-place update (revoking by input) keeps the signed object known to previews.
    revoking = provider.check(
        inputs,
        package_inputs(settings, source_dir, "team_r", signature_revocation={"reason": "by input"}),
    )
    assert revoking.inputs["location"] == outs["location"]
    assert revoking.inputs["findings"] == []

    LocalBackend(settings["home"]).revoke_signature(outs["job_id"], "leaked", now=utcnow())
    again = provider.check(inputs, package_inputs(settings, source_dir, "team_r"))
    assert again.failures == [] and again.inputs["signing_generation"] == 1
    [said] = again.inputs["findings"]
    assert said["level"] == "info" and "signed again" in said["message"]
    assert f"job {outs['job_id']}" in said["message"] and "leaked" in said["message"]
    assert provider.diff(outs["job_id"], outs, again.inputs).replaces == ["signing_generation"]
    # The engine checks a replacement again without olds: it still says why.
    rechecked = provider.check({}, package_inputs(settings, source_dir, "team_r"))
    assert "signed again" in rechecked.inputs["findings"][0]["message"]
    renewed = provider.create(rechecked.inputs).outs or {}
    assert renewed["job_id"] != outs["job_id"] and renewed["revoked"] is False


def test_renew_before_and_a_profile_that_can_sign_no_more(
    settings: dict[str, Any], source_dir: Path
) -> None:
    create_profile(
        settings, profile_name="team_s", signature_validity_period={"value": 10, "type": "DAYS"}
    )
    provider = SignedPackageProvider()
    inputs, _ = signed(settings, source_dir, "team_s")
    later = {**settings, "now": format_instant(utcnow() + timedelta(days=8))}
    within = provider.check(inputs, package_inputs(later, source_dir, "team_s", renew_before="3d"))
    assert within.inputs["signing_generation"] == 1
    assert "within renew_before 3d" in within.inputs["findings"][0]["message"]
    outside = provider.check(inputs, package_inputs(later, source_dir, "team_s", renew_before="1d"))
    assert outside.inputs["signing_generation"] == 0 and outside.inputs["findings"] == []
    # Expiry alone, without renew_before, is the deployed code's standing, not a new job.
    expired = {**settings, "now": format_instant(utcnow() + timedelta(days=11))}
    plain = provider.check(inputs, package_inputs(expired, source_dir, "team_s"))
    assert plain.inputs["signing_generation"] == 0
    greedy = provider.check(
        inputs, package_inputs(settings, source_dir, "team_s", renew_before="2w")
    )
    assert any(
        "every up would sign again" in f["message"] and f["level"] == "warning"
        for f in greedy.inputs["findings"]
    ), greedy.inputs["findings"]
    bad = provider.check(
        inputs, package_inputs(settings, source_dir, "team_s", renew_before="soon")
    )
    assert [f.property for f in bad.failures] == ["renew_before"]
    assert "30d" in bad.failures[0].reason
    # A revoked profile cannot sign again: a warning naming the fix, and no new job.
    backend = LocalBackend(settings["home"])
    profile = backend.get_signing_profile("team_s")
    backend.revoke_signing_profile(
        "team_s", profile["profileVersion"], "retired", utcnow() - timedelta(hours=1), now=utcnow()
    )
    stuck = provider.check(inputs, package_inputs(settings, source_dir, "team_s"))
    assert stuck.failures == [] and stuck.inputs["signing_generation"] == 0
    [warning] = stuck.inputs["findings"]
    assert warning["level"] == "warning" and "can sign no more" in warning["message"]
    assert "new SigningProfile" in warning["message"]


def test_renew_window_parses_durations() -> None:
    assert renew_window("30d") == timedelta(days=30)
    assert renew_window("12h") == timedelta(hours=12)
    assert renew_window("2w") == timedelta(weeks=2)
    assert renew_window(None) is None
    with pytest.raises(ValidationError, match="renew_before"):
        renew_window("0d")


def _tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    member = zipfile.ZipFile(path).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    path.write_bytes(bytes(data))


def layer_inputs(settings: dict[str, Any], code: str, **overrides: Any) -> dict[str, Any]:
    inputs = {
        "logical_name": "shared",
        "name_seed": "seed",
        "layer_name": None,
        "code": code,
        "code_package": None,
        "compatible_runtimes": ["python3.12"],
        "license_info": "MIT",
        "description": None,
        "settings": settings,
    }
    inputs.update(overrides)
    return inputs


def test_layers_are_judged_on_their_function(
    settings: dict[str, Any], source_dir: Path, tmp_path: Path
) -> None:
    trusted = create_profile(settings, profile_name="layer_pub")
    csc = create_csc(settings, [trusted["profile_version_arn"]], "Enforce")
    _, good = signed(settings, source_dir, "layer_pub")
    _, bad = signed(settings, source_dir, "layer_pub", name_seed="f" * 64)
    _tamper(Path(bad["location"]))
    layers = LayerVersionProvider()
    published = {}
    for kind, package in (("good", good), ("bad", bad)):
        checked = layers.check({}, layer_inputs(settings, package["location"], logical_name=kind))
        assert checked.failures == []
        # The same name in a preview and its up (and in the engine's second check).
        assert (
            layers.check({}, layer_inputs(settings, package["location"], logical_name=kind)).inputs[
                "layer_name"
            ]
            == checked.inputs["layer_name"]
        )
        published[kind] = layers.create(checked.inputs).outs or {}
    assert published["good"]["layer_version_arn"].endswith(":1")
    # A replacement publishes a new version (layer versions are immutable).
    assert layers.diff(
        "id", published["good"], {**published["good"], "license_info": "0BSD"}
    ).replaces == ["license_info"]

    provider = LambdaFunctionProvider()
    ref = {"name": None, "code": None, "package": None}
    inputs = function_inputs(
        settings,
        good["location"],
        csc,
        layers=[
            {**ref, "arn": published["good"]["layer_version_arn"]},
            {**ref, "arn": published["bad"]["layer_version_arn"]},
        ],
    )
    checked = provider.check({}, inputs)
    assert checked.failures == [] and checked.inputs["predicted_verdict"]["decision"] == "REJECT"
    [error] = checked.inputs["findings"]
    assert error["level"] == "error" and published["bad"]["layer_version_arn"] in error["message"]
    assert "integrity" in error["message"] and "InvalidCodeSignatureException" in error["message"]
    assert published["good"]["layer_version_arn"] not in error["message"]
    too_many = provider.check(
        {}, function_inputs(settings, good["location"], csc, layers=[{**ref, "arn": "x"}] * 6)
    ).failures
    assert [f.property for f in too_many] == ["layers"] and "at most 5" in too_many[0].reason
    # With the good layer only, the function deploys with it, verified by the registry.
    fine = provider.check(
        {},
        function_inputs(
            settings,
            good["location"],
            csc,
            layers=[{**ref, "arn": published["good"]["layer_version_arn"]}],
        ),
    )
    assert fine.inputs["predicted_verdict"]["decision"] == "ALLOW"
    created = provider.create(fine.inputs).outs or {}
    assert created["deployed_layers"] == [published["good"]["layer_version_arn"]]


def test_auto_names_are_stable_and_differ_per_resource() -> None:
    first = auto_name("hello", "-", "abcdefghijklmnopqrstuvwxyz-", 64, "seed-a")
    assert first == auto_name("hello", "-", "abcdefghijklmnopqrstuvwxyz-", 64, "seed-a")
    assert first != auto_name("hello", "-", "abcdefghijklmnopqrstuvwxyz-", 64, "seed-b")
    assert first != auto_name("hello", "-", "abcdefghijklmnopqrstuvwxyz-", 64, "seed-a", 1)
    assert first.startswith("hello-") and len(first) == len("hello-") + 7


def test_judging_from_inputs_alone_as_a_policy_pack_would() -> None:
    from provider.prediction import predict
    from provider.resources import judging

    ref = "urn:pulumi:dev::app::codesign:SigningProfile::publisher"
    inputs = {
        "code_signing_config_arn": None,
        "code_signing_policy": "Enforce",
        "allowed_publishers": None,
        "publisher_refs": [{"ref": ref, "profile_name": "publisher_abc1234"}],
    }
    view = judging.known_config(inputs, None)
    assert view is not None and view.policy == "Enforce"
    code = judging.known_code(
        None,
        {"signer_ref": ref, "profile_name": "publisher_abc1234", "profile_version_arn": None},
        None,
        "function f",
    )
    assert predict("function f", code, view, utcnow()).decision == "ALLOW"
    assert (
        judging.known_config({"code_signing_config_arn": None, "code_signing_policy": None}, None)
        is None
    )


def test_layer_version_inputs_are_checked_clearly(settings: dict[str, Any], tmp_path: Path) -> None:
    missing = LayerVersionProvider().check({}, layer_inputs(settings, str(tmp_path / "nope")))
    assert [f.property for f in missing.failures] == ["code"]
    assert "neither a .zip file nor a directory" in missing.failures[0].reason
    # On local, an S3 object is refused naming the way forward (the aws backend's inputs
    # are tested in tests/backends/aws/test_resources_aws.py).
    remote = LayerVersionProvider().check({}, layer_inputs(settings, "s3://bucket-1/layer.zip"))
    assert [f.property for f in remote.failures] == ["code"]
    assert "use codesign:backend aws" in remote.failures[0].reason
    bad = LayerVersionProvider().check(
        {}, {**layer_inputs(settings, str(tmp_path)), "compatible_architectures": ["mips"]}
    )
    assert [f.property for f in bad.failures] == ["compatible_architectures"]


def test_a_refresh_that_finds_other_publishers_drops_the_program_references(
    settings: dict[str, Any],
) -> None:
    from provider.resources.code_signing_config import CodeSigningConfigProvider

    one = create_profile(settings, profile_name="ref_one")
    two = create_profile(settings, profile_name="ref_two")
    csc = create_csc(settings, [one["profile_version_arn"]], "Enforce")
    state = {**csc, "publisher_refs": [{"ref": "urn:one", "profile_name": "ref_one"}]}
    provider = CodeSigningConfigProvider()
    assert (provider.read(csc["arn"], state).outs or {})["publisher_refs"] == state[
        "publisher_refs"
    ]
    LocalBackend(settings["home"]).update_code_signing_config(
        csc["arn"], allowed=[two["profile_version_arn"]], now=utcnow()
    )
    refreshed = provider.read(csc["arn"], state).outs or {}
    assert refreshed["allowed_publishers"] == [two["profile_version_arn"]]
    assert refreshed["publisher_refs"] is None
