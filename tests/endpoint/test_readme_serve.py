"""The README's "Try it without an AWS account" blocks, run as written in bash by a new
user with the real AWS CLI and SAM CLI, from a copy of the repository's examples, against a
``sam-ext serve`` process. (Only its first line, which starts a server on 4566, is replaced
by the test's own server on a free port.) The one failure expected is the block's own:
unsigned code refused under Enforce."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from .clients import client_bin, client_env
from .serving import REPO, start_server

SECTION = "## Try it without an AWS account"
SERVE_LINE = re.compile(r"^sam-ext serve --port 4566 &.*$", re.MULTILINE)


def sh_blocks(heading: str) -> list[str]:
    """The ```sh blocks of the README section under ``heading``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(heading)
    end = re.compile(r"^## ", re.MULTILINE).search(text, start + len(heading))
    return re.findall(r"```sh\n(.*?)```", text[start : end.start() if end else None], re.DOTALL)


def test_the_try_it_without_an_aws_account_blocks_work_as_written(tmp_path: Path) -> None:
    first, second = sh_blocks(SECTION)
    assert SERVE_LINE.search(first), "the section no longer starts with its server line"
    checkout = tmp_path / "lambda-codesign"
    shutil.copytree(
        REPO / "examples",
        checkout / "examples",
        ignore=shutil.ignore_patterns(".sam-ext", "__pycache__", "packaged.yaml", "Pulumi.*"),
    )
    aws, sam = client_bin("aws"), client_bin("sam")
    server = start_server(tmp_path / "serve-home")
    try:
        env = client_env(server, tmp_path)
        env["PATH"] = f"{Path(sys.executable).parent}:{aws.parent}:{sam.parent}:{env['PATH']}"
        script = "\n".join(
            [
                "set -Euo pipefail",  # -E: the trap records failures inside the ( ) too
                "trap 'echo \"$?: $BASH_COMMAND\" >> failures.txt' ERR",
                SERVE_LINE.sub("", first).replace("http://127.0.0.1:4566", server.url),
                "(",
                second,
                ")",
            ]
        )
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        assert server.stop() == 0
    failures_file = checkout / "failures.txt"
    failures = failures_file.read_text().splitlines() if failures_file.exists() else []
    report = f"{failures}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    assert len(failures) == 1 and "--function-name nope" in failures[0], report
    # As the block's comment says:
    assert "CodeVerificationFailedException" in result.stderr, report
    assert "mismatch: the package is not signed" in result.stderr, report
    assert "Successfully created/updated stack - app" in result.stdout, report
    assert '"decision": "ALLOW"' in result.stdout, report
    assert "Traceback" not in server.log(), server.log()
