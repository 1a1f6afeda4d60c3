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


def _elsewhere(tools: Any, home: Path, *args: object, expect: int = 0) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESIGN_")}
    env["CODESIGN_HOME"] = str(home)
    done = subprocess.run(
        [str(tools.bin / "sam-ext"), "--now", tools.now_text, *map(str, args)],
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
