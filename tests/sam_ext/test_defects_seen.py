"""Defects a new user met (issue 15, section 4), seen through the CLI: a damaged key file,
a config with too many publishers, a refusal suggesting a command that does not exist, a
bad ``--now`` on a command that never reads the clock, the envelope schema's title, and
the keystore's required mode in the README."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.package import SIGNATURE_MEMBER
from provider.schemas import schema_dir

REPO = Path(__file__).resolve().parents[2]


def _key_file(home: Path, profile: str) -> Path:
    [key] = (home / "keys" / profile).glob("*.pem")
    return key


def test_a_damaged_unencrypted_key_file_is_named_as_damaged(run, home, make_zip, tmp_path):
    run("profile", "put", "--profile-name", "publisher")
    key = _key_file(home, "publisher")
    key.write_bytes(key.read_bytes()[:200] + b"garbage\n" + key.read_bytes()[300:])

    done = run(
        "sign", "--profile-name", "publisher", "--source", make_zip(),
        "--destination", tmp_path / "out", expect=1,
    )  # fmt: skip

    assert f"the private key file of profile 'publisher' is damaged: {key}" in done.stderr
    assert "CODESIGN_PASSPHRASE" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_damaged_encrypted_key_file_names_both_causes_and_the_file(
    cli, home, make_zip, tmp_path, monkeypatch
):
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "correct horse")
    cli.profile("secret")
    key = _key_file(home, "secret")
    lines = key.read_bytes().splitlines(keepends=True)
    key.write_bytes(b"".join([*lines[:3], b"A" * 64 + b"\n", *lines[4:]]))

    result = cli(
        *cli.now, "sign", "--profile-name", "secret", "--source", make_zip(),
        "--destination", tmp_path / "out", status=1,
    )  # fmt: skip

    assert f"({key}): wrong CODESIGN_PASSPHRASE, or the key file is damaged" in result.err


def test_21_publishers_are_refused_by_count_not_by_listing_them(cli):
    arns = [
        f"arn:aws:signer:us-east-1:000000000000:/signing-profiles/p{n:02d}/ABCDEFGH{n:02d}"
        for n in range(21)
    ]

    result = cli.fails(
        "csc", "create", "--allowed-publishers", "SigningProfileVersionArns=" + ",".join(arns),
        naming="AllowedPublishers.SigningProfileVersionArns: at most 20 items (got 21)",
    )  # fmt: skip

    assert "arn:aws:signer" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_description_too_long_is_said_by_length(cli):
    arn = cli.profile()
    result = cli.fails(
        "csc", "create", "--allowed-publishers", f"SigningProfileVersionArns={arn}",
        "--description", "d" * 300, naming="Description: at most 256 characters (got 300)",
    )  # fmt: skip
    assert "ddd" not in result.err


def test_the_csc_delete_refusal_suggests_commands_that_exist(cli, home, make_zip, tmp_path):
    arn = cli.profile()
    csc = cli.csc(arn, policy="Warn")
    signed = cli.sign(make_zip(), tmp_path / "out")
    LocalBackend(home).create_function(
        "hello", Path(signed), csc_arn=csc, now=parse_instant("2026-01-15T12:00:00Z", field="t")
    )

    refused = cli("csc", "delete", "--code-signing-config-arn", csc, status=1)

    assert "used by function(s) hello" in refused.err
    assert "delete-function-code-signing-config" not in refused.err  # no such sam-ext command
    assert "run sam-ext deploy again" in refused.err
    assert "Usage: sam-ext deploy" in cli("deploy", "--help").out  # the suggested command exists
    assert cli("csc", "get", "--code-signing-config-arn", csc).json  # nothing was deleted


@pytest.mark.parametrize("command", [("profile", "list"), ("csc", "list")])
def test_a_bad_now_is_bad_input_even_where_the_clock_is_not_read(run, command):
    done = run("--now", "notatime", *command, expect=2)

    assert done.stdout == ""
    assert done.stderr.startswith("error: ValidationException: --now: ")
    assert "notatime" in done.stderr


def test_the_envelope_schema_title_says_where_the_envelope_is():
    schema = json.loads((schema_dir() / "signature-envelope.schema.json").read_text())

    assert SIGNATURE_MEMBER in schema["title"]
    assert "comment" not in schema["title"]


def test_the_readme_says_the_keystore_directory_must_be_0700_as_the_code_refuses(run, tmp_path):
    readme = (REPO / "README.md").read_text()
    assert "must be private: mode 0700" in readme

    keystore = tmp_path / "shared-keystore"
    keystore.mkdir(mode=0o755)
    os.chmod(keystore, 0o755)  # whatever the umask
    done = run("--home", keystore, "profile", "list", expect=1)

    assert stat.S_IMODE(keystore.stat().st_mode) == 0o755
    assert f"fix it with: chmod 700 {keystore}" in done.stderr
