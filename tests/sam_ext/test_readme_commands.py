"""The README's CLI commands, run as a new user runs them: its local ``sh`` blocks (the quick
start, packaging the example app and examples/sam/nested, signature list, verifying and
deploying on a trust file with an empty keystore), as written, in bash, from the top of a
copy of the repository's examples, with the installed ``sam-ext``.

Each block runs in its own subshell after the quick start (whose variables, ``ARN`` among
them, the later blocks use, as a reader's shell would have them). Every command's failure
is recorded; the only one expected is the quick start's unsigned package, refused with 1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
#: Lines echoed around the registry block, to read its output apart.
REGISTRY_START, REGISTRY_END = "--- registry", "--- end of registry"
#: Lines echoed before the check and cfn-lint blocks, and before the audit block.
CHECK_START, AUDIT_START = "--- check", "--- audit"


def sh_block(after_heading: str, index: int = 0) -> str:
    """The ``index``-th ```sh block of the README section under ``after_heading``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(after_heading)
    section_end = re.compile(r"^#{2,3} ", re.MULTILINE).search(text, start + len(after_heading))
    section = text[start : section_end.start() if section_end else len(text)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return str(blocks[index])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The examples of the repository, with a ``.venv/bin/activate`` that puts this
    interpreter's scripts (``sam-ext``, ``python``) first on PATH."""
    root = tmp_path / "lambda-codesign"
    shutil.copytree(
        REPO / "examples",
        root / "examples",
        ignore=shutil.ignore_patterns(".sam-ext", "__pycache__", "packaged.yaml", "Pulumi.*.yaml"),
    )
    activate = root / ".venv" / "bin" / "activate"
    activate.parent.mkdir(parents=True)
    activate.write_text(f'export PATH="{Path(sys.executable).parent}:$PATH"\n')
    return root


def test_the_readme_cli_blocks_work_as_written(checkout: Path) -> None:
    script = "\n".join(
        [
            "set -uo pipefail",
            # Each failing command, with its status, in the order run.
            "trap 'echo \"$?: $BASH_COMMAND\" >> failures.txt' ERR",
            sh_block("## Quick start: the CLI (local backend)"),
            "(",
            sh_block("### Packaging SAM applications"),
            ")",
            "(",
            sh_block("### Packaging SAM applications", 1),  # examples/sam/nested
            ")",
            f"echo '{REGISTRY_START}'",
            sh_block("### The local function registry"),
            f"echo '{REGISTRY_END}'",
            sh_block("### Signing jobs, trust files, third-party layers"),
            sh_block("### Signing jobs, trust files, third-party layers", 1),
            f"echo '{CHECK_START}'",
            "(",
            sh_block("### `sam-ext check`: Lambda's verdict for any template"),
            ")",
            sh_block("### `sam-ext check`: Lambda's verdict for any template", 1),  # cfn-lint
            f"echo '{AUDIT_START}'",
            sh_block("## Auditing an account"),
        ]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODESIGN_", "SAM_EXT_"))}
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    record = checkout / "failures.txt"
    failures = record.read_text() if record.exists() else ""
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert failures.splitlines() == [
        '1: sam-ext verify app.zip --code-signing-config-arn "$CSC"',
        # cfn-lint's own exit status for an error and a warning (2 + 4).
        "6: cfn-lint examples/sam/app/template.yaml --append-rules "
        '"$(sam-ext cfn-lint-rules path)" --parameters TrustedProfileVersionArn=$ARN '
        "--format parseable",
        "1: sam-ext audit --within 30d --fail-on warn",
    ], done.stderr
    before, rest = done.stdout.split(REGISTRY_START + "\n")
    registry, after = rest.split(REGISTRY_END + "\n")
    after, checked = after.split(CHECK_START + "\n")
    checked, audited = checked.split(AUDIT_START + "\n")
    verdicts = re.findall(r'"decision": "(\w+)"', before + after)
    assert verdicts == ["ALLOW", "REJECT", "ALLOW"]  # the last one on the trust file alone
    assert '"trustFileExportedAt"' in done.stdout
    # The registry after the example app's deploy: GoodbyeFunction deployed unsigned
    # under its Warn config, once.
    assert '"FunctionName": "app-HelloFunction"' in registry
    assert registry.count('"FunctionName": "app-GoodbyeFunction"') == 2  # list, get
    assert '"Label": "SignatureValidationErrors"' in registry and '"Sum": 1,' in registry
    assert "stack app deployed to the local function registry" in done.stderr
    deepest = "created nested-Orders-Billing-BillingFunction (Orders/Billing/BillingFunction)"
    assert f"{deepest}: ALLOW" in done.stderr
    assert '{\n    "jobs": []\n}' in done.stdout  # nothing revoked yet
    # The deploy on the trust file, in a keystore that holds no profile.
    assert done.stderr.count("stack app deployed to the local function registry") == 2
    # check (in a subshell, whose exit 1 the trap does not see): the template as written,
    # then as --signing-profiles would sign it, then the packaged one as JSON; cfn-lint
    # says the first one's findings at their lines.
    assert checked.count("2 REJECT, 1 WARN") == 1 and checked.count("1 WARN, 2 ALLOW") == 1
    assert '"standing": "ALLOW"' in checked and '"standing": "WARN"' in checked
    assert re.search(r"template\.yaml:\d+:\d+:\d+:\d+:E9301:HelloFunction: ", checked)
    assert re.search(r"template\.yaml:\d+:\d+:\d+:\d+:W9303:GoodbyeFunction: ", checked)
    # audit: the registry's functions (GoodbyeFunction unsigned under Warn), its JSON, its page.
    assert "app-GoodbyeFunction" in audited and "WARN" in audited
    assert (checkout / "audit.html").read_text().startswith("<!DOCTYPE html>")
    report = json.loads((checkout / "audit.json").read_text())
    standings = {f["function_name"]: f["standing"] for f in report["functions"]}
    assert standings["app-GoodbyeFunction"] == "WARN"
    assert standings["app-HelloFunction"] == "ALLOW"


def test_what_the_readme_commands_leave_in_a_checkout_is_ignored_by_git() -> None:
    left = ["app.zip", "signed/x.zip", "csc.json", "trust.json", "examples/sam/app/packaged.yaml"]
    left += ["examples/sam/nested/packaged.yaml", "examples/pulumi/basic/Pulumi.dev.yaml"]
    left += [".keystore/index.sqlite3", "examples/sam/app/.sam-ext/artifacts/a.zip"]
    left += ["audit.html", "audit.json", "examples/cdk/cdk.out/manifest.json"]
    left += ["examples/cdk/packaged.json", "examples/cdk/.sam-ext/artifacts/a.zip"]

    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *left],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )

    assert sorted(done.stdout.split()) == sorted(left), done.stderr
    kept = subprocess.run(
        ["git", "check-ignore", "--no-index", "examples/pulumi/basic/Pulumi.yaml"],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    assert kept.returncode == 1  # a project file stays tracked
