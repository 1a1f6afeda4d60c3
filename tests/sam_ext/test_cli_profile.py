"""``sam-ext profile``: put, get, list, cancel, revoke."""

from __future__ import annotations

import re

import pytest


def test_put_prints_the_arns(cli):
    result = cli(
        *cli.now,
        "profile",
        "put",
        "--profile-name",
        "team_a",
        schema="put-signing-profile-response",
    )

    assert result.json["arn"] == "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a"
    assert re.fullmatch(r"[A-Za-z0-9]{10}", result.json["profileVersion"])
    assert result.err == ""


def test_put_with_a_validity_period_and_get(cli):
    cli.profile("daily", "--signature-validity-period", "value=1,type=DAYS")

    got = cli("profile", "get", "--profile-name", "daily", schema="signing-profile")

    assert got.json["signatureValidityPeriod"] == {"value": 1, "type": "DAYS"}
    assert got.json["status"] == "Active"
    assert got.json["platformId"] == "AWSLambda-SHA384-ECDSA"


def test_get_with_the_own_account_as_owner(cli):
    cli.profile()

    cli(
        "profile",
        "get",
        "--profile-name",
        "publisher",
        "--profile-owner",
        "000000000000",
        schema="signing-profile",
    )
    cli.fails(
        "profile",
        "get",
        "--profile-name",
        "publisher",
        "--profile-owner",
        "111111111111",
        naming="111111111111",
    )


@pytest.mark.parametrize(
    ("args", "naming"),
    [
        (["--profile-name", "x"], "profileName"),
        (["--profile-name", "has-dash"], "profileName"),
        (["--profile-name", "x" * 65], "profileName"),
        (
            ["--profile-name", "ok_name", "--signature-validity-period", "value=136,type=MONTHS"],
            "signatureValidityPeriod",
        ),
        (
            ["--profile-name", "ok_name", "--signature-validity-period", "value=0,type=DAYS"],
            "signatureValidityPeriod",
        ),
        (
            ["--profile-name", "ok_name", "--signature-validity-period", "value=12,type=YEARS"],
            "signatureValidityPeriod",
        ),
        (
            ["--profile-name", "ok_name", "--signature-validity-period", "value=1,type=WEEKS"],
            "signatureValidityPeriod.type",
        ),
        (
            ["--profile-name", "ok_name", "--signature-validity-period", "12 months"],
            "--signature-validity-period",
        ),
        (["--profile-name", "ok_name", "--platform-id", "AWSIoT-SHA256-ECDSA"], "platformId"),
        ([], "--profile-name"),
    ],
)
def test_put_with_bad_input_exits_2_naming_it(cli, args, naming):
    result = cli.fails("profile", "put", *args, naming=naming)

    assert result.out == ""
    assert cli("profile", "list").json == {"profiles": []}


def test_put_of_an_existing_name_is_refused(cli):
    cli.profile()

    result = cli.fails(
        "profile", "put", "--profile-name", "publisher", status=1, naming="already exists"
    )
    assert result.out == ""


def test_get_of_an_unknown_profile_names_it(cli):
    cli.fails("profile", "get", "--profile-name", "nobody", naming="'nobody'")


def test_list_and_cancel(cli):
    cli.profile("first")
    cli.profile("second")

    cancel = cli(*cli.now, "profile", "cancel", "--profile-name", "second")

    assert cancel.out == ""
    assert "canceled" in cancel.err
    listed = cli("profile", "list", schema="list-signing-profiles-response").json
    assert [p["profileName"] for p in listed["profiles"]] == ["first"]
    everything = cli(
        "profile", "list", "--include-canceled", schema="list-signing-profiles-response"
    ).json
    assert {p["profileName"]: p["status"] for p in everything["profiles"]} == {
        "first": "Active",
        "second": "Canceled",
    }


def test_a_canceled_profile_cannot_sign(cli, make_zip, tmp_path):
    cli.profile()
    cli("profile", "cancel", "--profile-name", "publisher")

    cli.fails(
        "sign",
        "--profile-name",
        "publisher",
        "--source",
        make_zip(),
        "--destination",
        tmp_path / "out",
        naming="Canceled",
    )


def _version(cli) -> str:
    return cli("profile", "get", "--profile-name", "publisher").json["profileVersion"]


def test_revoke_with_an_effective_time(cli):
    cli.profile()

    result = cli(
        "--now",
        "2026-02-01T00:00:00Z",
        "profile",
        "revoke",
        "--profile-name",
        "publisher",
        "--profile-version",
        _version(cli),
        "--reason",
        "key leaked",
        "--effective-time",
        "2026-01-20T00:00:00Z",
    )

    assert "revoked" in result.err
    got = cli("profile", "get", "--profile-name", "publisher", schema="signing-profile").json
    assert got["status"] == "Revoked"
    assert got["statusReason"] == "key leaked"
    assert got["revocationRecord"]["revocationEffectiveFrom"] == "2026-01-20T00:00:00.000Z"
    assert got["revocationRecord"]["revokedAt"] == "2026-02-01T00:00:00.000Z"


def test_revoke_defaults_the_effective_time_to_now(cli):
    cli.profile()

    cli(
        "--now",
        "2026-02-01T00:00:00Z",
        "profile",
        "revoke",
        "--profile-name",
        "publisher",
        "--profile-version",
        _version(cli),
        "--reason",
        "retired",
    )

    record = cli("profile", "get", "--profile-name", "publisher").json["revocationRecord"]
    assert record["revocationEffectiveFrom"] == "2026-02-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("extra", "naming"),
    [
        (["--reason", ""], "reason"),
        (["--reason", "r" * 501], "reason"),
        (["--reason", "r", "--effective-time", "2026-03-01T00:00:00Z"], "effectiveTime"),
        (["--reason", "r", "--effective-time", "last tuesday"], "--effective-time"),
    ],
)
def test_revoke_with_bad_input_exits_2(cli, extra, naming):
    cli.profile()

    cli.fails(
        "--now",
        "2026-02-01T00:00:00Z",
        "profile",
        "revoke",
        "--profile-name",
        "publisher",
        "--profile-version",
        _version(cli),
        *extra,
        naming=naming,
    )

    assert cli("profile", "get", "--profile-name", "publisher").json["status"] == "Active"


def test_revoke_can_only_move_earlier(cli):
    cli.profile()
    version = _version(cli)
    base = (
        "--now",
        "2026-02-01T00:00:00Z",
        "profile",
        "revoke",
        "--profile-name",
        "publisher",
        "--profile-version",
        version,
        "--reason",
        "r",
        "--effective-time",
    )
    cli(*base, "2026-01-20T00:00:00Z")

    cli.fails(*base, "2026-01-25T00:00:00Z", naming="only move earlier")
    cli(*base, "2026-01-16T00:00:00Z")

    record = cli("profile", "get", "--profile-name", "publisher").json["revocationRecord"]
    assert record["revocationEffectiveFrom"] == "2026-01-16T00:00:00.000Z"


def test_revoke_of_a_wrong_version_is_not_found(cli):
    cli.profile()

    cli.fails(
        "profile",
        "revoke",
        "--profile-name",
        "publisher",
        "--profile-version",
        "ZZZZZZZZZZ",
        "--reason",
        "r",
        naming="ZZZZZZZZZZ",
    )
