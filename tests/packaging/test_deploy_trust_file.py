"""``sam-ext deploy --trust-file``: the example app, packaged and signed on one keystore,
deployed by a real process whose CODESIGN_HOME is empty (its own local function registry)
with the keystore's verdicts; without the trust file that registry trusts no publisher."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

SIGN_ALL = ("--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher")


def _elsewhere(
    tools: Any, home: Path, *args: object, expect: int = 0, now: str | None = None
) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESIGN_")}
    env["CODESIGN_HOME"] = str(home)
    done = subprocess.run(
        [str(tools.bin / "sam-ext"), "--now", now or tools.now_text, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
    return done


def test_a_machine_without_the_keystore_deploys_with_its_trust_file(
    sam_ext: Any, app: Path, publisher: Any, tools: Any, tmp_path: Path
) -> None:
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "packaged.yaml")
    exported = sam_ext(
        "profile", "export-trust", "--profile-name", publisher.name, "--output", "trust.json"
    )
    anchor = json.loads(exported.out)["trustKeyFingerprint"]
    trust = ("--trust-file", app / "trust.json", "--trust-anchor", anchor)
    deploy = ("deploy", "-t", app / "packaged.yaml", *publisher.overrides)

    bare = tmp_path / "bare-home"
    refused = _elsewhere(tools, bare, *deploy, expect=1)
    assert "InvalidCodeSignatureException" in refused.stderr and "unknown" in refused.stderr

    fresh = tmp_path / "fresh-home"
    done = _elsewhere(tools, fresh, *deploy, *trust)
    assert "created app-HelloFunction (HelloFunction): ALLOW" in done.stderr
    assert "created app-GoodbyeFunction (GoodbyeFunction): WARN" in done.stderr
    listed = json.loads(_elsewhere(tools, fresh, "profile", "list", "--include-canceled").stdout)
    assert listed["profiles"] == []  # the registry knows the publisher only from the file

    # A signature revoked on the keystore and exported again: the same deploy is refused.
    hello = tools.load(app / "packaged.yaml")["Resources"]["HelloFunction"]["Properties"]
    job_id = Path(hello["CodeUri"]).stem.removeprefix("signed_")
    sam_ext("signature", "revoke", "--job-id", job_id, "--reason", "withdrawn release")
    sam_ext("profile", "export-trust", "--profile-name", publisher.name, "--output", "trust.json")
    later = tmp_path / "later-home"
    rejected = _elsewhere(tools, later, *deploy, *trust, expect=1)
    assert "CodeVerificationFailedException" in rejected.stderr
    assert "withdrawn release" in rejected.stderr
    assert "trust file exported at" in rejected.stderr


def test_deploy_refuses_a_trust_file_on_aws_and_an_anchor_alone(
    sam_ext: Any, app: Path, publisher: Any
) -> None:
    result = sam_ext(
        "--backend", "aws", "deploy", "--stack-name", "app", "--trust-file", "trust.json",
        status=2,
    )  # fmt: skip
    assert "--trust-file: verifies local packages" in result.err
    result = sam_ext("deploy", "--trust-anchor", "SHA256:" + "0" * 64, status=2)
    assert "--trust-anchor" in result.err


def test_deploy_refuses_a_trust_file_older_than_trust_max_age(
    sam_ext: Any, app: Path, publisher: Any, tools: Any, tmp_path: Path
) -> None:
    sam_ext("package", *SIGN_ALL, *publisher.overrides, "--output-template-file", "packaged.yaml")
    exported = json.loads(
        sam_ext(
            "profile", "export-trust", "--profile-name", publisher.name, "--output", "trust.json"
        ).out
    )
    trust = app / "trust.json"
    deploy = (
        "deploy", "-t", app / "packaged.yaml", *publisher.overrides,
        "--trust-file", trust, "--trust-anchor", exported["trustKeyFingerprint"],
        "--trust-max-age", "1d",
    )  # fmt: skip
    assert exported["exportedAt"] == "2026-01-15T12:00:00.000Z"  # the fixtures' --now

    home = tmp_path / "home"
    refused = _elsewhere(tools, home, *deploy, now="2026-01-17T12:00:00Z", expect=1)
    assert refused.stderr == (
        f"error: StaleTrustFile: --trust-file {trust}: exported at 2026-01-15T12:00:00.000Z, "
        "2 days before 2026-01-17T12:00:00.000Z, longer ago than --trust-max-age 1d allows; "
        "refusing it (export it again from the keystore: revocations made since are not in it)\n"
    )
    assert not home.exists()  # refused before the registry was opened: nothing deployed

    done = _elsewhere(tools, home, *deploy, now="2026-01-16T06:00:00Z")
    assert done.stderr.startswith(
        f"trust file {trust}: exported at 2026-01-15T12:00:00.000Z, 18 hours ago; revocations "
        "made after that are not known to these verdicts\n"
    )
    assert "created app-HelloFunction (HelloFunction): ALLOW" in done.stderr
