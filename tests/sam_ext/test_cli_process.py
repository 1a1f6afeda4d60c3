"""The installed ``sam-ext`` console script as a user runs it, and where the keystore is."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path


def test_the_main_job_end_to_end_in_real_processes(run, make_zip, tmp_path):
    arn = json.loads(run("profile", "put", "--profile-name", "publisher").stdout)[
        "profileVersionArn"
    ]
    csc = json.loads(
        run(
            "csc",
            "create",
            "--allowed-publishers",
            f"SigningProfileVersionArns={arn}",
            "--code-signing-policies",
            "UntrustedArtifactOnDeployment=Warn",
        ).stdout
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    source = make_zip(compression=zipfile.ZIP_STORED)  # so the code is visible to edit
    signed = json.loads(
        run(
            "sign",
            "--profile-name",
            "publisher",
            "--source",
            source,
            "--destination",
            tmp_path / "out",
        ).stdout
    )["signedObject"]["path"]

    allowed = run("verify", signed, "--code-signing-config-arn", csc)
    warned = run("verify", source, "--code-signing-config-arn", csc)
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(Path(signed).read_bytes().replace(b"return", b"RETURN"))
    rejected = run("verify", tampered, "--code-signing-config-arn", csc, expect=1)

    assert json.loads(allowed.stdout)["decision"] == "ALLOW" and allowed.stderr == ""
    assert json.loads(warned.stdout)["decision"] == "WARN"
    assert warned.stderr.startswith("warning:")
    assert json.loads(rejected.stdout)["exception"] == "InvalidCodeSignatureException"


def test_bad_input_exits_2_with_one_line_and_no_traceback(run):
    done = run("profile", "put", "--profile-name", "x", expect=2)

    assert done.stdout == ""
    assert "profileName" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(run):
    done = run("profile", "put", expect=2)

    assert "--profile-name" in done.stderr


def test_help_and_version(run, home):
    assert "verify" in run("--help").stdout
    assert "sam-ext" in run("--version").stdout
    assert not (home / "index.sqlite3").exists()  # --help does not open the keystore


# --- --home and CODESIGN_HOME (in process) ----------------------------------------------------


def test_codesign_home_is_the_default_keystore(cli, home):
    cli.profile()

    assert (home / "index.sqlite3").is_file()
    assert cli("profile", "list").json["profiles"][0]["profileName"] == "publisher"


def test_home_option_wins_over_codesign_home(cli, home, tmp_path):
    other = tmp_path / "other-keystore"

    cli("--home", other, "profile", "put", "--profile-name", "elsewhere")

    assert (other / "index.sqlite3").is_file()
    assert cli("profile", "list").json == {"profiles": []}
    assert cli("--home", other, "profile", "list").json["profiles"][0]["profileName"] == (
        "elsewhere"
    )
    cli.fails("profile", "get", "--profile-name", "elsewhere", naming="elsewhere")


def test_an_unusable_home_is_a_clear_error(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    result = cli("--home", blocker / "ks", "profile", "list", status=1)

    assert "keystore" in result.err


def test_region_option_changes_the_arns(cli):
    put = cli("--region", "eu-west-1", "profile", "put", "--profile-name", "team_a").json

    assert put["arn"].startswith("arn:aws:signer:eu-west-1:000000000000:")
    cli.fails("--region", "moon", "profile", "list", naming="region")
