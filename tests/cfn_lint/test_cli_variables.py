"""``SAM_EXT_BACKEND`` and ``SAM_EXT_NOW``: the variables ``--backend`` and ``--now`` default
from (what the cfn-lint rule pack reads), for every command of the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from cfn_lint.conftest import lint_env

SAM_EXT = Path(sys.executable).parent / "sam-ext"


def _run(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAM_EXT), *map(str, args)], capture_output=True, text=True, env=env, timeout=60
    )


def test_sam_ext_now_is_the_clock_unless_now_is_given(home: Path, tmp_path: Path) -> None:
    env = lint_env(home, SAM_EXT_NOW="2026-03-04T05:06:07Z")
    assert _run(env, "profile", "put", "--profile-name", "publisher").returncode == 0
    source = tmp_path / "code.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    sign = ("sign", "--profile-name", "publisher", "--source", source, "--destination", tmp_path)
    job = json.loads(_run(env, *sign).stdout)
    assert job["createdAt"].startswith("2026-03-04T05:06:07")
    given = json.loads(_run(env, "--now", "2026-03-05T00:00:00Z", *sign).stdout)
    assert given["createdAt"].startswith("2026-03-05T00:00:00")


def test_sam_ext_backend_chooses_the_backend(home: Path) -> None:
    done = _run(lint_env(home, SAM_EXT_BACKEND="azure"), "profile", "list")
    assert done.returncode == 2
    assert "'azure' is not one of 'local', 'aws'" in done.stderr
    assert "Traceback" not in done.stderr
    assert _run(lint_env(home, SAM_EXT_BACKEND="local"), "profile", "list").returncode == 0
