"""``sam-ext audit`` on the local backend: every kind of function named with its standing,
the JSON valid against its schema, the exit status following --fail-on, nothing changed,
and bad input said in one line."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from provider import schemas
from sam_ext.audit.report import EXIT_INCOMPLETE

from .conftest import AUDIT_AT, EXPECTED, Account, by_name, parsed, run_audit


def _json(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    status, out, _ = run_audit(capsys, home, "--output", "json", *args)
    document = parsed(out)
    schemas.validate(document, "audit-report", what="audit")
    return status, document


def test_every_function_is_named_with_its_standing(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    status, document = _json(capsys, account.home, "--within", "30d")
    assert status == 1  # REJECTs
    functions = by_name(document)
    assert {n: (f["standing"], f["standing_at_horizon"]) for n, f in functions.items()} == EXPECTED
    assert document["complete"] is True
    assert document["summary"]["by_standing"] == {
        "ALLOW": 2,
        "WARN": 2,
        "REJECT": 4,
        "UNKNOWN": 0,
        "NO_CONFIG": 1,
        "ERROR": 0,
    }
    assert document["summary"]["expiring_within"] == 1
    assert document["within"] == "30d" and document["horizon"].startswith("2026-02-16T12:00:00")
    # the deciding check and Lambda's exception
    assert functions["expired"]["check"] == "expiry"
    assert functions["revokedprofile"]["check"] == "revocation"
    assert "revoked for signatures made from" in functions["revokedprofile"]["message"]
    assert functions["revokedsig"]["check"] == "revocation"
    assert "key leaked" in functions["revokedsig"]["message"]
    assert functions["tamperedlayer"]["check"] == "integrity"
    assert functions["tamperedlayer"]["exception"] == "InvalidCodeSignatureException"
    assert functions["expired"]["exception"] == "CodeVerificationFailedException"
    assert functions["noconfig"]["policy"] is None
    assert functions["noconfig"]["code_signing_config_arn"] is None
    assert "put-function-code-signing-config" in functions["noconfig"]["remedy"]
    # who signed, and whether the code is still the signed object
    fine = functions["fine"]["artifacts"][0]
    assert fine["kind"] == "code"
    assert fine["signing_profile_version_arn"] == account.arns["good"]
    assert fine["signing_job_arn"].startswith("arn:aws:signer:us-east-1:")
    assert fine["matches_signed_object"] is True
    layer = functions["tamperedlayer"]["artifacts"][1]
    assert (layer["kind"], layer["arn"]) == ("layer", account.arns["layer"])
    assert (layer["standing"], layer["check"]) == ("REJECT", "integrity")
    assert functions["tamperedlayer"]["artifacts"][0]["standing"] == "ALLOW"
    # the expiring one is named with its date
    expiring = functions["expiring"]
    assert "2026-02-04T12:00:00" in expiring["message"]
    assert expiring["artifacts"][0]["signature_expires_at"].startswith("2026-02-04T12:00:00")
    assert document["expiries"][0]["function_name"] == "expiring"
    assert document["expiries"][0]["within_window"] is True
    assert all(not e["within_window"] for e in document["expiries"][1:])
    # Warn functions count their SignatureValidationErrors data points
    assert functions["unsignedwarn"]["signature_validation_errors"] == 1
    assert functions["outofband"]["signature_validation_errors"] == 1
    assert functions["outofband"]["check"] == "mismatch"
    assert functions["outofband"]["artifacts"][0]["signing_profile_version_arn"] is None
    assert functions["fine"]["signature_validation_errors"] is None  # Enforce: not counted


def test_code_signing_configs_are_reported(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    _, document = _json(capsys, account.home)
    configs = {c["arn"]: c for c in document["code_signing_configs"]}
    warn = configs[account.arns["warn"]]
    assert warn["policy"] == "Warn"
    assert warn["blocked_if_enforced"] == ["outofband", "unsignedwarn"]
    assert any("would be blocked today" in note for note in warn["notes"])
    enforce = configs[account.arns["enforce"]]
    statuses = {p["profile_version_arn"]: p["status"] for p in enforce["publishers"]}
    assert statuses[account.arns["revokedpv"]] == "Revoked"
    assert statuses[account.arns["good"]] == "Active"
    assert enforce["unused"] is False and enforce["blocked_if_enforced"] == []
    unused = configs[account.arns["unused"]]
    assert unused["unused"] is True and unused["functions"] == []
    assert unused["publishers"] == [
        {"profile_version_arn": account.arns["retired"], "status": "Canceled"}
    ]
    assert "no function uses this config" in unused["notes"]


def test_the_table_groups_by_standing_worst_first(
    account: Account, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    status, out, _ = run_audit(capsys, account.home, "--within", "30d")
    assert status == 1
    functions_table = out.split("Code signing configs")[0]
    rows = [line.split("│") for line in functions_table.splitlines() if line.startswith("│ ")]
    order = [cells[1].split()[0] for cells in rows if cells[2].strip()]
    assert order == ["REJECT"] * 4 + ["WARN"] * 2 + ["NO_CONFIG"] + ["ALLOW"] * 2
    named = {cells[2].strip(): cells[1].strip() for cells in rows if cells[2].strip()}
    assert named["expiring"] == "ALLOW → REJECT"  # the standing at the horizon
    assert named["fine"] == "ALLOW"
    assert set(named) == set(EXPECTED)
    assert "Code signing configs" in out and "Upcoming signature expiries" in out


def _keep_only(account: Account, *names: str) -> None:
    for name in set(EXPECTED) - set(names):
        account.backend.delete_function(name)


def test_exit_status_follows_fail_on(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_audit(capsys, account.home)[0] == 1
    _keep_only(account, "fine", "expiring", "unsignedwarn", "noconfig")
    assert run_audit(capsys, account.home)[0] == 0
    assert run_audit(capsys, account.home, "--fail-on", "warn")[0] == 1
    account.backend.delete_function("unsignedwarn")
    assert run_audit(capsys, account.home, "--fail-on", "warn")[0] == 1  # NO_CONFIG
    account.backend.delete_function("noconfig")
    assert run_audit(capsys, account.home, "--fail-on", "warn")[0] == 0
    status, out, err = run_audit(capsys, account.home, "--fail-on", "expiring")  # no window
    assert status == 2 and out == "" and "--fail-on expiring: give --within" in err
    expiring = run_audit(capsys, account.home, "--fail-on", "expiring", "--within", "30d")
    assert expiring[0] == 1
    assert run_audit(capsys, account.home, "--fail-on", "expiring", "--within", "10d")[0] == 0
    # --at moves the audit instant: past the short signature's expiry, it is a REJECT
    assert run_audit(capsys, account.home, "--at", "2026-02-05T00:00:00Z")[0] == 1


def _stored_code(account: Account, name: str) -> Path:
    return Path(account.backend.get_function(name)["CodeLocation"])


def test_an_unreadable_function_is_an_error_and_the_audit_goes_on(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    _stored_code(account, "noconfig").unlink()
    status, document = _json(capsys, account.home)
    assert status == 1  # REJECTs say 1 even when incomplete
    noconfig = by_name(document)["noconfig"]
    assert noconfig["standing"] == "ERROR" and noconfig["error"]
    assert document["complete"] is False
    assert len(document["functions"]) == len(EXPECTED)
    _keep_only(account, "fine", "noconfig")
    status, out, err = run_audit(capsys, account.home)
    assert status == EXIT_INCOMPLETE
    assert "incomplete" in err and "ERROR" in out


def _snapshot(home: Path) -> dict[str, str]:
    return {
        str(path.relative_to(home)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(home.rglob("*"))
        if path.is_file()
    }


def test_the_audit_changes_nothing(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(account.home)
    for args in (("--within", "30d"), ("--output", "json"), ("--fail-on", "warn")):
        run_audit(capsys, account.home, *args)
    assert _snapshot(account.home) == before


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--region", "mars-north-1"), "--region: 'mars-north-1' is not an AWS region"),
        (("--within", "30 days"), "--within: '30 days' is not a duration"),
        (("--within", "0d"), "--within: '0d' must be longer than zero"),
        (("--at", "yesterday"), "--at"),
        (("--region", "us-east-1", "--region", "eu-west-1"), "the local backend keeps one"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    account: Account, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], said: str
) -> None:
    before = _snapshot(account.home)
    status, out, err = run_audit(capsys, account.home, *args)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and said in err
    assert _snapshot(account.home) == before


def test_an_unreadable_keystore_is_one_line(
    account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "damaged"
    shutil.copytree(account.home, home)
    for journal in home.glob("index.sqlite3-*"):
        journal.unlink()
    (home / "index.sqlite3").write_bytes(b"this is not a database\n" * 100)
    before = _snapshot(home)
    status, out, err = run_audit(capsys, home, "--output", "json")
    assert status == EXIT_INCOMPLETE, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "us-east-1" in lines[0]
    assert parsed(out)["region_errors"][0]["region"] == "us-east-1"
    assert _snapshot(home) == before


def test_html_is_written_atomically_from_the_json_document(
    account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "report" / "audit.html"
    page.parent.mkdir()
    page.write_text("an older report")
    status, _ = _json(capsys, account.home, "--within", "30d", "--html", str(page))
    assert status == 1
    text = page.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html")
    assert "Content-Security-Policy" in text and "default-src" in text
    for name in EXPECTED:
        assert name in text
    assert [p.name for p in page.parent.iterdir()] == ["audit.html"]  # no temporary left
    mask = os.umask(0)
    os.umask(mask)
    assert page.stat().st_mode & 0o777 == 0o666 & ~mask
    missing = tmp_path / "nowhere" / "audit.html"
    status, out, err = run_audit(capsys, account.home, "--html", str(missing))
    assert out == ""
    assert status == 2 and "--html" in err and len(err.strip().splitlines()) == 1
    assert not missing.parent.exists()


def test_a_missing_keystore_is_bad_input_and_is_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "no-keystore"
    status, out, err = run_audit(capsys, home)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--home: no keystore at" in err
    assert not home.exists()


def _forget_job(account: Account, job_id: str) -> None:
    """The keystore loses a signing job's record (deleted by hand, or a restored copy)."""
    with account.backend.store.transaction() as db:
        db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))


def test_a_signature_whose_job_record_is_gone_is_unknown_not_allowed(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    _keep_only(account, "fine", "noconfig")
    _, document = _json(capsys, account.home)
    job_arn = by_name(document)["fine"]["artifacts"][0]["signing_job_arn"]
    job_id = job_arn.rsplit("/", 1)[1]
    _forget_job(account, job_id)
    status, document = _json(capsys, account.home)
    fine = by_name(document)["fine"]
    # whether the signature was revoked cannot be read: neither ALLOW nor a guess
    assert fine["standing"] == "UNKNOWN", fine
    assert fine["artifacts"][0]["standing"] == "UNKNOWN"
    assert "revocation" in fine["message"] and job_id in fine["message"]
    assert "cannot be read" in fine["message"]
    assert document["summary"]["by_standing"]["UNKNOWN"] == 1
    assert status == 0  # UNKNOWN fails --fail-on warn, not the default reject
    assert run_audit(capsys, account.home, "--fail-on", "warn")[0] == 1
    # Pulumi's refresh judges the deployed code the same way, and says so
    code = Path(account.backend.get_function("fine")["CodeLocation"])
    drift = account.backend.function_drift(
        "fine", csc_arn=account.arns["enforce"], code=code, at=AUDIT_AT
    )
    assert len(drift) == 1, drift
    assert "revocation check cannot be decided" in drift[0] and job_id in drift[0]


@pytest.mark.parametrize("exposed", ["home", "index"])
def test_a_keystore_other_users_can_read_is_refused_as_every_command_refuses_it(
    account: Account, capsys: pytest.CaptureFixture[str], exposed: str
) -> None:
    from sam_ext.cli import main

    path = account.home if exposed == "home" else account.home / "index.sqlite3"
    path.chmod(0o755 if exposed == "home" else 0o644)
    before = _snapshot(account.home)
    capsys.readouterr()
    other = main(["--home", str(account.home), "function", "list"])
    _, said = capsys.readouterr()
    status, out, err = run_audit(capsys, account.home, "--output", "json")
    assert (status, other) == (1, 1)  # refused, not an incomplete audit (3)
    assert out == ""
    assert err == said and len(err.strip().splitlines()) == 1
    assert "accessible by other users" in err and "chmod" in err and str(path) in err
    assert _snapshot(account.home) == before
