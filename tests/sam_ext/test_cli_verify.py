"""``sam-ext verify``: the verdict as JSON, exit 0 ALLOW/WARN (warning on stderr), 1 REJECT."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture
def world(cli, make_zip, tmp_path):
    """A profile, a signed and an unsigned package, and Warn and Enforce CSCs."""
    arn = cli.profile()
    return SimpleNamespace(
        arn=arn,
        unsigned=make_zip(name="unsigned.zip"),
        signed=Path(cli.sign(make_zip(name="src.zip"), tmp_path / "out")),
        warn=cli.csc(arn, policy="Warn"),
        enforce=cli.csc(arn, policy="Enforce"),
    )


def _verify(cli, package, *args, status=0):
    return cli(*cli.now, "verify", package, *args, status=status, schema="verdict")


def test_signed_package_is_allowed(cli, world):
    result = _verify(cli, world.signed, "--code-signing-config-arn", world.enforce)

    verdict = result.json
    assert verdict["decision"] == "ALLOW"
    assert verdict["codeSigningConfigArn"] == world.enforce
    assert verdict["profileVersionArn"] == world.arn
    assert verdict["evaluatedAt"] == "2026-01-15T12:00:00.000Z"
    assert "warning" not in result.err


def test_unsigned_package_under_warn_warns_on_stderr_and_exits_0(cli, world):
    result = _verify(cli, world.unsigned, "--code-signing-config-arn", world.warn)

    assert result.json["decision"] == "WARN"
    assert result.json["failedChecks"][0]["check"] == "mismatch"
    assert result.err.startswith("warning:")
    assert "not signed" in result.err


def test_unsigned_package_under_enforce_is_rejected_with_exit_1(cli, world):
    result = _verify(cli, world.unsigned, "--code-signing-config-arn", world.enforce, status=1)

    assert result.json["decision"] == "REJECT"
    assert result.json["exception"] == "CodeVerificationFailedException"
    assert "rejected" in result.err


@pytest.mark.parametrize("policy", ["warn", "enforce"])
def test_a_tampered_package_is_rejected_under_either_policy(cli, world, tmp_path, policy):
    tampered = tmp_path / "tampered.zip"
    data = bytearray(world.signed.read_bytes())
    data[40] ^= 0x01
    tampered.write_bytes(bytes(data))

    result = _verify(cli, tampered, "--code-signing-config-arn", getattr(world, policy), status=1)

    assert result.json["exception"] in (
        "InvalidCodeSignatureException",
        "InvalidParameterValueException",
    )
    assert result.json["checks"]["integrity"] == "FAILED"


def test_a_rezipped_package_is_an_integrity_failure(cli, world, tmp_path):
    rezipped = tmp_path / "rezipped.zip"
    with zipfile.ZipFile(world.signed) as source, zipfile.ZipFile(rezipped, "w") as out:
        for name in source.namelist():
            out.writestr(name, source.read(name))

    result = _verify(cli, rezipped, "--code-signing-config-arn", world.warn, status=1)

    assert result.json["exception"] == "InvalidCodeSignatureException"


def test_a_file_that_is_not_a_zip_is_rejected(cli, world, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")

    result = _verify(cli, junk, "--code-signing-config-arn", world.warn, status=1)

    assert result.json["exception"] == "InvalidParameterValueException"


def test_csc_file_as_a_create_request(cli, world, tmp_path):
    request = tmp_path / "csc.json"
    request.write_text(
        json.dumps(
            {
                "AllowedPublishers": {"SigningProfileVersionArns": [world.arn]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
            }
        )
    )

    assert _verify(cli, world.signed, "--csc-file", request).json["decision"] == "ALLOW"
    rejected = _verify(cli, world.unsigned, "--csc-file", request, status=1).json
    assert rejected["policy"] == "Enforce"
    assert "codeSigningConfigArn" not in rejected


def test_csc_file_request_without_policies_defaults_to_warn(cli, world, tmp_path):
    request = tmp_path / "csc.json"
    request.write_text(
        json.dumps({"AllowedPublishers": {"SigningProfileVersionArns": [world.arn]}})
    )

    verdict = _verify(cli, world.unsigned, "--csc-file", request).json

    assert (verdict["policy"], verdict["decision"]) == ("Warn", "WARN")


def test_csc_file_as_a_get_response(cli, world, tmp_path):
    response = tmp_path / "got.json"
    response.write_text(cli("csc", "get", "--code-signing-config-arn", world.enforce).out)

    verdict = _verify(cli, world.unsigned, "--csc-file", response, status=1).json

    assert verdict["codeSigningConfigArn"] == world.enforce
    assert verdict["policy"] == "Enforce"


@pytest.mark.parametrize(
    ("content", "naming"),
    [
        ("{not json", "--csc-file"),
        (
            json.dumps({"AllowedPublishers": {"SigningProfileVersionArns": []}}),
            "SigningProfileVersionArns",
        ),
        (
            json.dumps({"AllowedPublishers": {"SigningProfileVersionArns": ["x"]}}),
            "code signing config document",
        ),
        (
            json.dumps({"CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"}}),
            "code signing config document",
        ),
    ],
)
def test_a_bad_csc_file_exits_2_naming_it(cli, world, tmp_path, content, naming):
    path = tmp_path / "csc.json"
    path.write_text(content)

    result = cli.fails("verify", world.signed, "--csc-file", path, naming=naming)

    assert result.out == ""


def test_a_missing_csc_file_exits_2(cli, world, tmp_path):
    cli.fails("verify", world.signed, "--csc-file", tmp_path / "absent.json", naming="--csc-file")


def test_exactly_one_csc_source_is_required(cli, world, tmp_path):
    cli.fails("verify", world.signed, naming="exactly one")
    cli.fails(
        "verify",
        world.signed,
        "--code-signing-config-arn",
        world.warn,
        "--csc-file",
        tmp_path / "x.json",
        naming="exactly one",
    )


def test_a_missing_package_exits_2_naming_it(cli, world, tmp_path):
    cli.fails(
        "verify",
        tmp_path / "absent.zip",
        "--code-signing-config-arn",
        world.warn,
        naming="absent.zip",
    )


def test_an_unknown_csc_arn_exits_2(cli, world):
    cli.fails(
        "verify",
        world.signed,
        "--code-signing-config-arn",
        "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0",
        naming="does not exist",
    )


# --- time injection ---------------------------------------------------------------------------


@pytest.fixture
def daily(cli, make_zip, tmp_path):
    """A package signed at 2026-01-15T12:00Z by a profile whose signatures last 1 day."""
    arn = cli.profile("daily", "--signature-validity-period", "value=1,type=DAYS")
    signed = cli.sign(make_zip(), tmp_path / "out", name="daily")
    return signed, cli.csc(arn, policy="Enforce")


def test_at_evaluates_at_the_given_instant(cli, daily):
    signed, csc = daily
    args = ("verify", signed, "--code-signing-config-arn", csc, "--at")

    assert cli(*args, "2026-01-16T11:59:59.999Z").json["decision"] == "ALLOW"
    expired = cli(*args, "2026-01-16T12:00:00Z", status=1).json
    assert expired["failedChecks"][0]["check"] == "expiry"
    assert expired["evaluatedAt"] == "2026-01-16T12:00:00.000Z"
    assert expired["signatureExpiresAt"] == "2026-01-16T12:00:00.000Z"


def test_global_now_is_the_default_instant(cli, daily):
    signed, csc = daily

    assert (
        cli(
            "--now", "2026-01-16T00:00:00Z", "verify", signed, "--code-signing-config-arn", csc
        ).json["decision"]
        == "ALLOW"
    )
    late = cli(
        "--now",
        "2026-01-17T00:00:00Z",
        "verify",
        signed,
        "--code-signing-config-arn",
        csc,
        status=1,
    ).json
    assert late["evaluatedAt"] == "2026-01-17T00:00:00.000Z"


def test_at_wins_over_now(cli, daily):
    signed, csc = daily

    result = cli(
        "--now",
        "2030-01-01T00:00:00Z",
        "verify",
        signed,
        "--code-signing-config-arn",
        csc,
        "--at",
        "2026-01-15T18:00:00Z",
    )

    assert result.json["evaluatedAt"] == "2026-01-15T18:00:00.000Z"


def test_bad_instants_exit_2_naming_the_option(cli, daily):
    signed, csc = daily

    cli.fails("verify", signed, "--code-signing-config-arn", csc, "--at", "tomorrow", naming="--at")
    cli.fails("--now", "soon", "verify", signed, "--code-signing-config-arn", csc, naming="--now")


def test_a_revoked_signature_via_the_cli(cli, world):
    job_id = Path(world.signed).stem
    cli(
        "--now",
        "2026-01-15T13:00:00Z",
        "signature",
        "revoke",
        "--job-id",
        job_id,
        "--reason",
        "bad build",
    )

    verdict = cli(
        "--now",
        "2026-01-15T14:00:00Z",
        "verify",
        world.signed,
        "--code-signing-config-arn",
        world.warn,
    ).json

    assert verdict["decision"] == "WARN"
    assert verdict["failedChecks"][0]["check"] == "revocation"
    assert "bad build" in verdict["failedChecks"][0]["message"]


@pytest.mark.parametrize(("effective", "decision"), [("11:00", "REJECT"), ("12:30", "ALLOW")])
def test_a_revoked_profile_via_the_cli(cli, world, effective, decision):
    # The package was signed at 12:00: a revocation effective before that untrusts it.
    version = world.arn.rsplit("/", 1)[1]
    cli(
        "--now",
        "2026-01-15T13:00:00Z",
        "profile",
        "revoke",
        "--profile-name",
        "publisher",
        "--profile-version",
        version,
        "--reason",
        "key leaked",
        "--effective-time",
        f"2026-01-15T{effective}:00Z",
    )

    result = cli(
        "--now",
        "2026-01-15T14:00:00Z",
        "verify",
        world.signed,
        "--code-signing-config-arn",
        world.enforce,
        status=int(decision == "REJECT"),
    )

    assert result.json["decision"] == decision
    assert result.json["checks"]["revocation"] == ("FAILED" if decision == "REJECT" else "PASSED")
