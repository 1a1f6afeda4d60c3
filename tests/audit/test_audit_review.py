"""``sam-ext audit`` against hostile input: expiries shared by a function's code and its
layer, what the account says (revocation reasons) shown as text on a terminal, and
instants at the ends of the calendar said as bad input, never a traceback."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from provider import schemas

from .conftest import T0, Account, parsed, run_audit


def test_code_and_layer_expiring_at_the_same_instant(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """Code and layer signed by one profile at one instant expire together; a window that
    reached that instant sorted (instant, artifact) pairs and failed ("internal error")."""
    layer_zip, _ = account.sign("samelayer", "good")
    layer = account.backend.publish_layer_version("same", layer_zip, now=T0)["LayerVersionArn"]
    code, _ = account.sign("samecode", "good")
    account.backend.create_function(
        "together", code, csc_arn=account.arns["enforce"], layers=(layer,), now=T0
    )
    status, out, _ = run_audit(capsys, account.home, "--within", "12000w", "--output", "json")
    assert status == 1
    document = parsed(out)
    schemas.validate(document, "audit-report", what="audit")
    together = next(f for f in document["functions"] if f["function_name"] == "together")
    expiries = [a["signature_expires_at"] for a in together["artifacts"]]
    assert len(expiries) == 2 and len(set(expiries)) == 1 and None not in expiries
    assert together["standing_at_horizon"] == "REJECT"
    assert "its code's signature expires at" in together["message"]
    assert f"layer {layer}'s signature expires at" in together["message"]


def test_a_revocation_reason_is_text_not_markup_or_terminal_codes(
    account: Account, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reason is free text (Signer's RevokeSignature): rich markup in it crashed the
    table (MarkupError, "internal error") and terminal codes reached the terminal."""
    signed, job = account.sign("hostile", "good")
    account.backend.create_function("hostile", signed, csc_arn=account.arns["enforce"], now=T0)
    reason = "[/] [link=https://evil.example]x[/link] \x1b]0;pwned\x07\x1b[2J"
    account.backend.revoke_signature(job, reason, now=T0 + timedelta(hours=1))
    monkeypatch.setenv("COLUMNS", "400")  # one line per row: the reason unfolded
    status, out, _ = run_audit(capsys, account.home)
    assert status == 1
    assert "was revoked: [/] [link=https://evil.example]x[/link] " in out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--within", ""), "--within: '' is not a duration"),
        (("--at", "9999-12-31T23:59:59Z", "--within", "30d"), "past the year 9999"),
    ],
)
def test_windows_that_are_no_duration_or_leave_the_calendar_are_bad_input(
    account: Account, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], said: str
) -> None:
    status, out, err = run_audit(capsys, account.home, *args)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and said in err


def test_an_instant_before_year_1000_is_written_with_four_digits(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_audit(
        capsys, account.home, "--at", "0999-01-01T00:00:00Z", "--output", "json"
    )
    document = parsed(out)
    schemas.validate(document, "audit-report", what="audit")
    assert document["audited_at"] == "0999-01-01T00:00:00.000Z", err
    assert status in (0, 1)


def test_html_onto_a_device_or_pipe_is_bad_input_and_leaves_it(
    account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The page is renamed over its target: a FIFO (or, as root, /dev/null) was replaced
    by a regular file."""
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    status, out, err = run_audit(capsys, account.home, "--html", str(fifo))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "not a regular file" in err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".pipe")) == []
