"""``sam-ext sign``, ``sam-ext signature`` and ``sam-ext csc``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _arn(i: int) -> str:
    return f"arn:aws:signer:us-east-1:000000000000:/signing-profiles/p{i:02d}/AbCdE{i:05d}"


# --- sign -------------------------------------------------------------------------------------


def test_sign_prints_the_described_job_and_writes_the_package(cli, make_zip, tmp_path):
    cli.profile()
    source = make_zip()

    result = cli(
        *cli.now,
        "sign",
        "--profile-name",
        "publisher",
        "--source",
        source,
        "--destination",
        tmp_path / "out",
        "--prefix",
        "fn_",
        schema="signing-job",
    )

    job = result.json
    assert job["status"] == "Succeeded"
    assert job["createdAt"] == "2026-01-15T12:00:00.000Z"
    signed = Path(job["signedObject"]["path"])
    assert signed == (tmp_path / "out" / f"fn_{job['jobId']}.zip").resolve()
    assert signed.is_file()
    assert f"-> {signed}" in result.err


def test_sign_with_the_owner_account(cli, make_zip, tmp_path):
    cli.profile()

    cli(
        "sign",
        "--profile-name",
        "publisher",
        "--profile-owner",
        "000000000000",
        "--source",
        make_zip(),
        "--destination",
        tmp_path / "out",
        schema="signing-job",
    )
    cli.fails(
        "sign",
        "--profile-name",
        "publisher",
        "--profile-owner",
        "111111111111",
        "--source",
        make_zip(),
        "--destination",
        tmp_path / "out",
        naming="111111111111",
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "empty"), (b"", "not a zip"), (b"just text, not a zip file", "not a zip")],
)
def test_sign_of_a_bad_source_prints_the_failed_job_and_exits_1(
    cli, make_zip, tmp_path, content, reason
):
    cli.profile()
    source = make_zip({}) if content is None else tmp_path / "bad.zip"
    if content is not None:
        source.write_bytes(content)

    result = cli(
        "sign",
        "--profile-name",
        "publisher",
        "--source",
        source,
        "--destination",
        tmp_path / "out",
        status=1,
        schema="signing-job",
    )

    assert result.json["status"] == "Failed"
    assert reason in result.json["statusReason"]
    assert reason in result.err


def test_sign_of_a_signed_package_fails(cli, make_zip, tmp_path):
    cli.profile()
    signed = cli.sign(make_zip(), tmp_path / "out")

    result = cli(
        "sign",
        "--profile-name",
        "publisher",
        "--source",
        signed,
        "--destination",
        tmp_path / "again",
        status=1,
    )

    assert "already signed" in result.json["statusReason"]


def test_sign_is_idempotent_per_client_request_token(cli, make_zip, tmp_path):
    cli.profile()
    args = (
        "sign",
        "--profile-name",
        "publisher",
        "--source",
        make_zip(),
        "--destination",
        tmp_path / "out",
        "--client-request-token",
        "release-7",
    )

    first = cli(*args).json
    second = cli(*args).json

    assert first["jobId"] == second["jobId"]
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_sign_with_a_bad_profile_name_exits_2(cli, make_zip, tmp_path):
    cli.fails(
        "sign",
        "--profile-name",
        "x",
        "--source",
        make_zip(),
        "--destination",
        tmp_path / "out",
        naming="profileName",
    )


def test_sign_with_an_unknown_profile_exits_2(cli, make_zip, tmp_path):
    cli.fails(
        "sign",
        "--profile-name",
        "nobody",
        "--source",
        make_zip(),
        "--destination",
        tmp_path / "out",
        naming="'nobody'",
    )


def test_sign_needs_source_and_destination(cli):
    cli.fails("sign", "--profile-name", "publisher", naming="--source")


# --- signature --------------------------------------------------------------------------------


def _job_id(signed: str) -> str:
    return Path(signed).stem


def test_signature_describe_and_revoke(cli, make_zip, tmp_path):
    cli.profile()
    job_id = _job_id(cli.sign(make_zip(), tmp_path / "out"))

    described = cli("signature", "describe", "--job-id", job_id, schema="signing-job").json
    assert described["jobId"] == job_id and "revocationRecord" not in described

    revoked = cli(
        "--now",
        "2026-01-16T00:00:00Z",
        "signature",
        "revoke",
        "--job-id",
        job_id,
        "--reason",
        "built from a compromised runner",
    )
    assert revoked.out == "" and "revoked" in revoked.err

    described = cli("signature", "describe", "--job-id", job_id, schema="signing-job").json
    assert described["revocationRecord"]["reason"] == "built from a compromised runner"
    assert described["revocationRecord"]["revokedAt"] == "2026-01-16T00:00:00.000Z"

    cli.fails(
        "signature",
        "revoke",
        "--job-id",
        job_id,
        "--reason",
        "again",
        status=1,
        naming="already revoked",
    )


@pytest.mark.parametrize("reason", ["", "r" * 501])
def test_signature_revoke_reason_bounds(cli, make_zip, tmp_path, reason):
    cli.profile()
    job_id = _job_id(cli.sign(make_zip(), tmp_path / "out"))

    cli.fails("signature", "revoke", "--job-id", job_id, "--reason", reason, naming="reason")


def test_signature_describe_of_an_unknown_job_exits_2(cli):
    cli.fails(
        "signature",
        "describe",
        "--job-id",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        naming="does not exist",
    )


# --- csc --------------------------------------------------------------------------------------


def test_csc_create_defaults_to_warn(cli):
    config = cli(
        *cli.now,
        "csc",
        "create",
        "--allowed-publishers",
        f"SigningProfileVersionArns={_arn(1)}",
        schema="code-signing-config",
    ).json

    inner = config["CodeSigningConfig"]
    assert inner["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert inner["AllowedPublishers"]["SigningProfileVersionArns"] == [_arn(1)]
    assert inner["CodeSigningConfigId"].startswith("csc-")
    assert len(inner["CodeSigningConfigId"]) == 21


def test_csc_create_with_everything(cli):
    arns = [_arn(i) for i in range(20)]

    inner = cli(
        "csc",
        "create",
        "--allowed-publishers",
        "SigningProfileVersionArns=" + ",".join(arns),
        "--code-signing-policies",
        "UntrustedArtifactOnDeployment=Enforce",
        "--description",
        "d" * 256,
        schema="code-signing-config",
    ).json["CodeSigningConfig"]

    assert inner["AllowedPublishers"]["SigningProfileVersionArns"] == arns
    assert inner["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert inner["Description"] == "d" * 256


def test_csc_create_accepts_json_structures(cli):
    publishers = json.dumps({"SigningProfileVersionArns": [_arn(1), _arn(2)]})
    policies = json.dumps({"UntrustedArtifactOnDeployment": "Enforce"})

    inner = cli(
        "csc", "create", "--allowed-publishers", publishers, "--code-signing-policies", policies
    ).json["CodeSigningConfig"]

    assert inner["AllowedPublishers"]["SigningProfileVersionArns"] == [_arn(1), _arn(2)]
    assert inner["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"


@pytest.mark.parametrize(
    ("args", "naming"),
    [
        (["--allowed-publishers", "SigningProfileVersionArns="], "SigningProfileVersionArns"),
        (
            [
                "--allowed-publishers",
                "SigningProfileVersionArns=" + ",".join(_arn(i) for i in range(21)),
            ],
            "SigningProfileVersionArns",
        ),
        (
            ["--allowed-publishers", "SigningProfileVersionArns=not-an-arn"],
            "SigningProfileVersionArns",
        ),
        (["--allowed-publishers", f"Arns={_arn(1)}"], "--allowed-publishers"),
        (["--allowed-publishers", "{not json"], "--allowed-publishers"),
        (
            [
                "--allowed-publishers",
                f"SigningProfileVersionArns={_arn(1)}",
                "--code-signing-policies",
                "UntrustedArtifactOnDeployment=warn",
            ],
            "UntrustedArtifactOnDeployment",
        ),
        (
            [
                "--allowed-publishers",
                f"SigningProfileVersionArns={_arn(1)}",
                "--code-signing-policies",
                "UntrustedArtifactOnDeployment=ENFORCE",
            ],
            "UntrustedArtifactOnDeployment",
        ),
        (
            [
                "--allowed-publishers",
                f"SigningProfileVersionArns={_arn(1)}",
                "--description",
                "d" * 257,
            ],
            "Description",
        ),
        ([], "--allowed-publishers"),
    ],
)
def test_csc_create_with_bad_input_exits_2(cli, args, naming):
    result = cli.fails("csc", "create", *args, naming=naming)

    assert result.out == ""
    assert cli("csc", "list").json == {"CodeSigningConfigs": []}


def test_csc_get_update_list_delete(cli):
    arn = cli.csc(_arn(1), policy="Warn")

    got = cli("csc", "get", "--code-signing-config-arn", arn, schema="code-signing-config")
    assert got.json["CodeSigningConfig"]["CodeSigningConfigArn"] == arn

    updated = cli(
        "--now",
        "2026-02-01T00:00:00Z",
        "csc",
        "update",
        "--code-signing-config-arn",
        arn,
        "--code-signing-policies",
        "UntrustedArtifactOnDeployment=Enforce",
        "--allowed-publishers",
        f"SigningProfileVersionArns={_arn(2)},{_arn(3)}",
        schema="code-signing-config",
    ).json["CodeSigningConfig"]
    assert updated["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert updated["AllowedPublishers"]["SigningProfileVersionArns"] == [_arn(2), _arn(3)]
    assert updated["LastModified"] == "2026-02-01T00:00:00.000Z"

    other = cli.csc(_arn(4))
    listed = cli("csc", "list", schema="list-code-signing-configs-response").json
    assert sorted(c["CodeSigningConfigArn"] for c in listed["CodeSigningConfigs"]) == sorted(
        [arn, other]
    )

    deleted = cli("csc", "delete", "--code-signing-config-arn", arn)
    assert deleted.out == "" and "deleted" in deleted.err
    cli.fails("csc", "get", "--code-signing-config-arn", arn, naming="does not exist")
    remaining = cli("csc", "list").json["CodeSigningConfigs"]
    assert [c["CodeSigningConfigArn"] for c in remaining] == [other]


@pytest.mark.parametrize("policy", ["enforce", ""])
def test_csc_update_with_bad_input_changes_nothing(cli, policy):
    arn = cli.csc(_arn(1), policy="Warn")
    before = cli("csc", "get", "--code-signing-config-arn", arn).json

    cli.fails(
        "csc",
        "update",
        "--code-signing-config-arn",
        arn,
        "--code-signing-policies",
        f"UntrustedArtifactOnDeployment={policy}",
        naming="UntrustedArtifactOnDeployment",
    )

    assert cli("csc", "get", "--code-signing-config-arn", arn).json == before


def test_csc_commands_name_a_malformed_arn(cli):
    cli.fails("csc", "get", "--code-signing-config-arn", "csc-123", naming="CodeSigningConfigArn")
    cli.fails("csc", "delete", "--code-signing-config-arn", "nope", naming="CodeSigningConfigArn")
