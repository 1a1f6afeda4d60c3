"""scripts/install-chromium.sh (run by scripts/test.sh, so CI's brand-new machine gets the
browser the HTML report's tests use), driven with stand-ins for apt-get, id and Chromium on
PATH: it installs only when no Chromium is found, non-interactively, refreshes the package
lists when a fresh machine has none, and says in one line what to do when it cannot."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-chromium.sh"
BASH = shutil.which("bash") or "/bin/bash"
ENV = shutil.which("env") or "/usr/bin/env"
CHMOD = shutil.which("chmod") or "/bin/chmod"

FAKE_CHROMIUM = '#!{bash}\necho "Chromium 1.0 (stand-in)"\n'

#: apt-get that logs each call (its arguments and DEBIAN_FRONTEND); `install` fails while
#: no `update` ran when $APT_NEEDS_UPDATE is set, else puts a chromium on PATH; exit
#: $APT_FAIL makes every call fail.
FAKE_APT = """#!{bash}
echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> "{log}"
[ -n "$APT_FAIL" ] && exit "$APT_FAIL"
case " $* " in
  *" update "*) : > "{bin}/.updated"; exit 0 ;;
  *" install "*)
    if [ -n "$APT_NEEDS_UPDATE" ] && [ ! -e "{bin}/.updated" ]; then
      echo "E: Unable to locate package chromium" >&2; exit 100
    fi
    printf '%s' '{chromium}' > "{bin}/chromium"; "{chmod}" +x "{bin}/chromium"; exit 0 ;;
esac
"""


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A PATH directory holding only env and an `id` printing $FAKE_UID (default 0)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "env").symlink_to(ENV)
    _script(bin_dir / "id", f'#!{BASH}\necho "${{FAKE_UID:-0}}"\n')
    return bin_dir


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _with_apt(bin_dir: Path) -> Path:
    log = bin_dir.parent / "apt.log"
    chromium = FAKE_CHROMIUM.format(bash=BASH)
    _script(
        bin_dir / "apt-get",
        FAKE_APT.format(bash=BASH, log=log, bin=bin_dir, chromium=chromium, chmod=CHMOD),
    )
    return log


def _run(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": str(bin_dir), "HOME": str(bin_dir.parent), **env}
    return subprocess.run(
        [BASH, str(SCRIPT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_chromium_already_there_is_left_alone(machine: Path) -> None:
    log = _with_apt(machine)
    _script(machine / "chromium", FAKE_CHROMIUM.format(bash=BASH))
    done = _run(machine, "--print-bin")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{machine / 'chromium'}\n", "")
    assert not log.exists()  # apt-get never ran


def test_a_missing_chromium_is_installed_once_non_interactively(machine: Path) -> None:
    log = _with_apt(machine)
    done = _run(machine, "--print-bin")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{machine / 'chromium'}\n"
    assert "install-chromium: installing chromium" in done.stderr
    (call,) = log.read_text().splitlines()
    assert call.startswith("DEBIAN_FRONTEND=noninteractive ")
    words = call.split()
    assert "-y" in words
    assert words[words.index("install") :] == [
        "install",
        "--no-install-recommends",
        "chromium",
        "fonts-liberation",
        "fonts-dejavu-core",
    ]
    again = _run(machine)  # idempotent: found now, nothing installed
    assert (again.returncode, again.stderr) == (0, "")
    assert len(log.read_text().splitlines()) == 1


def test_a_machine_without_package_lists_gets_them_first(machine: Path) -> None:
    log = _with_apt(machine)
    done = _run(machine, APT_NEEDS_UPDATE="1")
    assert done.returncode == 0, done.stderr
    calls = [line.split() for line in log.read_text().splitlines()]
    assert ["install" in c for c in calls] == [True, False, True]
    assert "update" in calls[1]
    assert (machine / "chromium").is_file()


@pytest.mark.parametrize(
    ("setup", "env", "says"),
    [
        ("no-apt", {}, "no Chromium found, and no apt-get to install it"),
        ("apt", {"FAKE_UID": "1000"}, "this user cannot install packages"),
        ("apt", {"APT_FAIL": "100"}, "apt-get update failed"),
        ("apt", {"CHROMIUM": "/nonexistent/chromium"}, "CHROMIUM=/nonexistent/chromium is not"),
        ("stub", {}, "chromium does not run (try:"),
    ],
    ids=["no-apt", "not-root", "apt-fails", "bad-CHROMIUM", "a-stub"],
)
def test_what_it_says_when_it_cannot(
    machine: Path, setup: str, env: dict[str, str], says: str
) -> None:
    if setup == "apt":
        _with_apt(machine)
    if setup == "stub":  # e.g. a package that only points at another installer
        _script(machine / "chromium", f"#!{BASH}\necho 'install it with snap' >&2\nexit 1\n")
    done = _run(machine, **env)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("install-chromium:")]
    assert says in lines[-1], done.stderr  # one line saying why, the last
    assert [line for line in lines if "installing" not in line] == lines[-1:]
    assert (machine / "chromium").exists() == (setup == "stub")


def test_the_test_suite_installs_it() -> None:
    test_sh = SCRIPT.parent / "test.sh"
    assert "bash scripts/install-chromium.sh" in test_sh.read_text()
    assert os.access(SCRIPT, os.X_OK)
