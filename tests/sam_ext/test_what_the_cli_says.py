"""What the CLI says, in `--help` and in messages, matches the code and reads well (found
trying the CLI as a new user)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

SAM_EXT = Path(sys.executable).parent / "sam-ext"


def _flat(text: str) -> str:
    """Help text with click's line wrapping undone."""
    return re.sub(r"\s+", " ", text)


def test_the_global_region_help_names_every_source_the_code_reads(run):
    text = _flat(run("--help").stdout)

    assert "AWS_REGION, AWS_DEFAULT_REGION, else the AWS profile's" in text
    assert "$CODESIGN_REGION" in text


def test_codesign_region_sets_the_region_of_local_arns_as_the_help_says(home):
    env = {**os.environ, "CODESIGN_HOME": str(home), "CODESIGN_REGION": "eu-west-1"}
    done = subprocess.run(
        [str(SAM_EXT), "profile", "put", "--profile-name", "team_a"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )

    assert json.loads(done.stdout)["arn"].startswith("arn:aws:signer:eu-west-1:000000000000:")


def test_deploy_and_verify_say_how_each_uses_a_trust_file(run):
    deploy = _flat(run("deploy", "--help").stdout)
    verify = _flat(run("verify", "--help").stdout)

    assert "trust file (sam-ext profile export-trust) first, then by the keystore's own" in deploy
    assert "trust file (sam-ext profile export-trust) instead of the keystore" in verify


def test_a_config_without_publishers_is_refused_in_good_english(run):
    done = run(
        "csc", "create", "--allowed-publishers", "SigningProfileVersionArns=", expect=2
    )  # fmt: skip

    assert done.stderr == (
        "error: ValidationException: code signing config: "
        "AllowedPublishers.SigningProfileVersionArns: at least 1 item (got 0)\n"
    )


def test_adopting_a_layer_of_one_file_says_one_file(run, home, make_zip):
    run("profile", "put", "--profile-name", "team_a")
    layer = make_zip({"python/vendor.py": b"VALUE = 1\n"}, name="vendor.zip")

    done = run("layer", "adopt", "--zip-file", layer, "--profile-name", "team_a")

    assert "(unchanged: 1 file; added by signing: .codesign/signature.json)" in done.stderr
