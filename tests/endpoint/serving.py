"""Starting ``sam-ext serve`` as users start it, for any test that needs a server."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class Server:
    """A running ``sam-ext serve``: its URL, home, process, and what it printed."""

    url: str
    home: Path
    process: subprocess.Popen[str]
    stderr: list[str] = field(default_factory=list)

    def log(self) -> str:
        """Everything the server printed on stderr so far."""
        return "".join(self.stderr)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Send ``sig`` and wait for the process to end; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_server(
    home: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    max_open_files: int | None = None,
) -> Server:
    """Start ``sam-ext serve --port 0 --home HOME`` and wait for its listening line
    (``max_open_files``: the process's descriptor limit, as ``ulimit -n`` sets it)."""

    def limit() -> None:
        if max_open_files is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_open_files, hard))

    command = [
        sys.executable,
        "-m",
        "sam_ext.cli",
        "serve",
        "--port",
        "0",
        "--home",
        str(home),
        *extra,
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=limit if max_open_files is not None else None,
    )
    assert process.stderr is not None
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            match = _LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout) or not found:
        process.kill()
        raise AssertionError(f"sam-ext serve did not start: {''.join(lines)}")
    return Server(found[0], home, process, lines)


def module_server(home: str, *extra: str) -> Callable[..., Iterator[Server]]:
    """A module-scoped ``server`` fixture: one ``sam-ext serve`` (``extra``: its options)
    per test module, with a fresh home named after ``home``, stopped after the module's
    tests (they use their own names, so they do not collide). In a test module:
    ``server = module_server("check-home")``."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
        running = start_server(tmp_path_factory.mktemp(home), *extra)
        yield running
        running.stop()

    return server
