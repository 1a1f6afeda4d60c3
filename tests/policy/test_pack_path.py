"""Where the pack is: ``sam-ext policy-pack path`` and ``python -m provider.policy``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provider.policy import pack_path
from sam_ext.cli import main


def test_sam_ext_prints_the_pack_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy-pack", "path"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == pack_path()
    assert (printed / "PulumiPolicy.yaml").is_file()
    assert (printed / "__main__.py").is_file()


def test_python_m_prints_the_same_path_without_the_pulumi_sdk() -> None:
    literal = subprocess.run(
        [sys.executable, "-m", "provider.policy"], capture_output=True, text=True, check=True
    )
    assert Path(literal.stdout.strip()) == pack_path()
    probe = (
        "import runpy, sys; runpy.run_module('provider.policy', run_name='__main__', "
        "alter_sys=True); print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pulumi', 'pulumi_policy')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert Path(out[0]) == pack_path()
    assert out[1] == "[]", "printing the path must not load the Pulumi SDK"


def test_sam_ext_policy_pack_loads_no_pulumi_module() -> None:
    probe = (
        "import sys; from sam_ext.cli import main; main(['policy-pack', 'path']); "
        "print([m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_policy') "
        "or m.startswith('provider.resources')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-1] == "[]"
