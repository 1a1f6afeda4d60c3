"""``sam-ext signature list`` on the local backend: ListSigningJobs' filters and the AWS
CLI's pagination (``--max-items``, ``--starting-token``), through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCHEMA = "list-signing-jobs-response"


def _at(instant: str) -> tuple[str, str]:
    return ("--now", instant)


@pytest.fixture
def jobs(cli: Any, make_zip: Any, tmp_path: Path) -> dict[str, str]:
    """Four jobs: two by a 1-day profile (one revoked), one by a 12-month profile, one
    failed (an empty zip); created a minute apart, so the order is known."""
    cli.profile("short", "--signature-validity-period", "value=1,type=DAYS")
    cli.profile("long", "--signature-validity-period", "value=12,type=MONTHS")
    source = make_zip()
    empty = make_zip({}, name="empty.zip")
    made: dict[str, str] = {}
    for name, profile, zip_path, minute in (
        ("short1", "short", source, "00"),
        ("short2", "short", source, "01"),
        ("long1", "long", source, "02"),
    ):
        job = cli(
            *_at(f"2026-01-15T12:{minute}:00Z"),
            "sign",
            "--profile-name",
            profile,
            "--source",
            zip_path,
            "--destination",
            tmp_path / "out",
        ).json
        made[name] = job["jobId"]
    failed = cli(
        *_at("2026-01-15T12:03:00Z"),
        "sign",
        "--profile-name",
        "long",
        "--source",
        empty,
        "--destination",
        tmp_path / "out",
        status=1,
    ).json
    made["failed"] = failed["jobId"]
    cli(*cli.now, "signature", "revoke", "--job-id", made["short2"], "--reason", "leaked build")
    return made


def _ids(result: Any) -> list[str]:
    return [job["jobId"] for job in result.json["jobs"]]


def test_lists_every_job_newest_first_in_the_signing_job_shape(cli: Any, jobs: Any) -> None:
    listed = cli("signature", "list", schema=SCHEMA)
    assert _ids(listed) == [jobs["failed"], jobs["long1"], jobs["short2"], jobs["short1"]]
    assert "NextToken" not in listed.json
    first = listed.json["jobs"][1]
    assert first["profileName"] == "long" and first["status"] == "Succeeded"
    assert first["isRevoked"] is False and first["signatureExpiresAt"].startswith("2027-01-15")
    assert listed.json["jobs"][2]["isRevoked"] is True


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--status", "Failed"), ["failed"]),
        (("--status", "Succeeded"), ["long1", "short2", "short1"]),
        (("--is-revoked",), ["short2"]),
        (("--no-is-revoked", "--status", "Succeeded"), ["long1", "short1"]),
        (("--signature-expires-before", "2026-02-01T00:00:00Z"), ["short2", "short1"]),
        (("--signature-expires-after", "2026-02-01T00:00:00Z"), ["long1"]),
        (("--platform-id", "AWSLambda-SHA384-ECDSA"), ["failed", "long1", "short2", "short1"]),
        (
            ("--requested-by", "arn:aws:iam::000000000000:root"),
            ["failed", "long1", "short2", "short1"],
        ),
        (("--requested-by", "arn:aws:iam::000000000000:user/other"), []),
        (("--job-invoker", "000000000000"), ["failed", "long1", "short2", "short1"]),
    ],
)
def test_filters_as_list_signing_jobs_does(
    cli: Any, jobs: Any, options: tuple[str, ...], expected: list[str]
) -> None:
    assert _ids(cli("signature", "list", *options, schema=SCHEMA)) == [jobs[n] for n in expected]


def test_max_items_prints_a_next_token_that_resumes_the_listing(cli: Any, jobs: Any) -> None:
    first = cli("signature", "list", "--max-items", "3", "--page-size", "2", schema=SCHEMA)
    assert _ids(first) == [jobs["failed"], jobs["long1"], jobs["short2"]]
    token = first.json["NextToken"]
    rest = cli("signature", "list", "--max-items", "3", "--starting-token", token, schema=SCHEMA)
    assert _ids(rest) == [jobs["short1"]] and "NextToken" not in rest.json
    # Filters apply across pages.
    page = cli("signature", "list", "--status", "Succeeded", "--max-items", "1").json
    after = cli("signature", "list", "--status", "Succeeded", "--starting-token", page["NextToken"])
    assert [j["jobId"] for j in page["jobs"]] + _ids(after) == [
        jobs["long1"],
        jobs["short2"],
        jobs["short1"],
    ]


@pytest.mark.parametrize(
    ("options", "naming"),
    [
        (("--status", "Done"), "--status"),
        (("--max-items", "0"), "--max-items"),
        (("--page-size", "26"), "--page-size"),
        (("--starting-token", "not-a-token"), "--starting-token"),
        (("--signature-expires-before", "soon"), "--signature-expires-before"),
        (("--platform-id", "AWSIoTDeviceManagement-SHA256-ECDSA"), "platformId"),
        (("--job-invoker", "123"), "jobInvoker"),
        (
            (
                "--signature-expires-after",
                "2027-01-01T00:00:00Z",
                "--signature-expires-before",
                "2026-01-01T00:00:00Z",
            ),
            "window is empty",
        ),
    ],
)
def test_bad_options_are_refused_by_name(cli: Any, options: tuple[str, ...], naming: str) -> None:
    cli.fails("signature", "list", *options, naming=naming)


def test_the_console_script_pages_through_jobs(make_zip: Any, tmp_path: Path) -> None:
    """The installed ``sam-ext`` in real processes: two jobs, one per page."""
    home = tmp_path / "process-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESIGN_")}
    env["CODESIGN_HOME"] = str(home)
    sam_ext = Path(sys.executable).parent / "sam-ext"

    def run(*args: object) -> Any:
        done = subprocess.run(
            [str(sam_ext), *map(str, args)], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return json.loads(done.stdout) if done.stdout else None

    run("profile", "put", "--profile-name", "publisher")
    source = make_zip()
    first = run("--now", "2026-01-15T12:00:00Z", "sign", "--profile-name", "publisher",
                "--source", source, "--destination", tmp_path / "out")  # fmt: skip
    second = run("--now", "2026-01-15T12:01:00Z", "sign", "--profile-name", "publisher",
                 "--source", source, "--destination", tmp_path / "out")  # fmt: skip
    page = run("signature", "list", "--max-items", "1")
    assert [j["jobId"] for j in page["jobs"]] == [second["jobId"]]
    rest = run("signature", "list", "--max-items", "1", "--starting-token", page["NextToken"])
    assert [j["jobId"] for j in rest["jobs"]] == [first["jobId"]] and "NextToken" not in rest
