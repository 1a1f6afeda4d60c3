"""Real headless Chromium (the system package; scripts/install-chromium.sh) for the tests that
look at a page: a screenshot, the DOM after the page's scripts ran, and every connection the
browser opens, recorded by a proxy that serves nothing.

Each run gets a fresh temporary profile, a timeout, and its own process group, which is
killed when the run ends (Chromium leaves helper processes behind otherwise). Chromium's own
background traffic (updates, metrics, safe browsing) is switched off by flags, so a connection
the proxy sees comes from the page.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where the tests look for a browser, after $CHROMIUM.
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: No traffic of Chromium's own: only the page's requests reach the proxy.
QUIET = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--no-pings",
    "--mute-audio",
    "--hide-scrollbars",
    "--disable-features=MediaRouter,OptimizationHints,Translate,AutofillServerCommunication,"
    "NetworkTimeServiceQuerying",
)

#: A host name that resolves nowhere, inside Chromium (no DNS query, no connection): where
#: Chromium's own services that flags cannot switch off (the component updater's on-demand
#: checks, the Google account cookie check) are sent, so they never reach the proxy.
SINK = "chromium-services.invalid"


def chromium_binary() -> str:
    """The browser: $CHROMIUM, else the first of :data:`NAMES` on PATH."""
    explicit = os.environ.get("CHROMIUM")
    found = (
        shutil.which(explicit) if explicit else next(filter(None, map(shutil.which, NAMES)), None)
    )
    if not found:
        raise RuntimeError(
            "no Chromium for the browser tests: run `bash scripts/install-chromium.sh` "
            "(apt-get install chromium) or set CHROMIUM=/path/to/chromium"
        )
    return found


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 (a free port) that records every connection it accepts
    (with its request line, e.g. ``GET http://host/x`` or ``CONNECT host:443``) and answers
    each with 403. A context manager: stopped on exit."""

    def __init__(self) -> None:
        self.connections: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def handle(self) -> None:
                index = proxy._record("<connected, no request line>")
                try:
                    line = self.rfile.readline(8192).decode("latin-1").strip()
                except (OSError, TimeoutError):
                    line = ""
                if line:
                    proxy._replace(index, line)
                with contextlib.suppress(OSError):
                    self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _record(self, line: str) -> int:
        with self._lock:
            self.connections.append(line)
            return len(self.connections) - 1

    def _replace(self, index: int, line: str) -> None:
        with self._lock:
            self.connections[index] = line

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@dataclass
class Chromium:
    """Headless runs of ``binary``, every connection going through ``proxy`` (loopback
    included: ``--proxy-bypass-list=<-loopback>``)."""

    binary: str
    proxy: RecordingProxy
    timeout: float = 90.0
    runs: list[list[str]] = field(default_factory=list)

    def _command(
        self, profile: str, flags: tuple[str, ...], url: str, *, javascript: bool = True
    ) -> list[str]:
        """The command line of one run in the fresh profile directory ``profile``."""
        # No spell checking: it would download a dictionary.
        preferences: dict[str, Any] = {
            "browser": {"enable_spellchecking": False},
            "spellcheck": {"dictionaries": [], "use_spelling_service": False},
        }
        if not javascript:
            preferences["profile"] = {"default_content_setting_values": {"javascript": 2}}
        (Path(profile) / "Default").mkdir()
        (Path(profile) / "Default" / "Preferences").write_text(json.dumps(preferences))
        command = [
            self.binary,
            "--headless=new",
            "--no-sandbox",  # root in CI containers
            "--disable-gpu",
            f"--user-data-dir={profile}",
            f"--proxy-server=127.0.0.1:{self.proxy.port}",
            # Loopback goes through the proxy too; only the sink is direct (and resolves
            # nowhere).
            f"--proxy-bypass-list=<-loopback>;{SINK}",
            f"--host-resolver-rules=MAP {SINK} ~NOTFOUND",
            f"--gaia-url=https://{SINK}",
            f"--component-updater=url-source=https://{SINK}/update",
            *QUIET,
            *flags,
            url,
        ]
        self.runs.append(command)
        return command

    def run(
        self, url: str, *flags: str, javascript: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """One browser run on ``url`` in a fresh profile (``javascript=False``: with the
        profile's JavaScript setting off, as a reader may have it; ``--blink-settings=
        scriptEnabled=false`` would also stop --dump-dom and --screenshot); an
        AssertionError when it fails or times out."""
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            command = self._command(profile, flags, url, javascript=javascript)
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, killed below
            )
            try:
                out, err = process.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process.pid)
                process.communicate()
                raise AssertionError(
                    f"Chromium did not finish in {self.timeout} s: {command}"
                ) from None
            finally:
                _kill_group(process.pid)
        if process.returncode != 0:
            raise AssertionError(
                f"Chromium exited {process.returncode}: {command}\n{err.decode(errors='replace')}"
            )
        return subprocess.CompletedProcess(command, process.returncode, out, err)

    def dom(self, url: str, *, javascript: bool = True) -> str:
        """The page's DOM, serialised after it loaded (and its scripts ran)."""
        return self.run(url, "--dump-dom", javascript=javascript).stdout.decode("utf-8")

    def screenshot(self, url: str, path: Path, width: int, height: int) -> bytes:
        """A PNG of the page's first ``width`` x ``height`` pixels, written to ``path``."""
        self.run(url, f"--screenshot={path}", f"--window-size={width},{height}")
        return path.read_bytes()

    @contextlib.contextmanager
    def page(self, url: str, width: int = 1280, height: int = 900) -> Iterator[Page]:
        """``url`` open in a browser driven over the DevTools protocol
        (``--remote-debugging-pipe``: Chromium reads commands on its fd 3 and answers on
        its fd 4, no port), for a test that clicks; the browser is stopped on exit."""
        with contextlib.ExitStack() as stack:
            profile = stack.enter_context(tempfile.TemporaryDirectory(prefix="chromium-profile-"))
            flags = ("--remote-debugging-pipe", f"--window-size={width},{height}")
            command = self._command(profile, flags, url)
            commands_r, commands_w = os.pipe()
            answers_r, answers_w = os.pipe()
            # Out of the way of 3 and 4 before they are duplicated there in the child.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_r, answers_w)]
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (commands_r, answers_w, *high, commands_w, answers_r, devnull):
                stack.callback(os.close, fd)
            pid = os.posix_spawn(
                command[0],
                command,
                dict(os.environ),
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 0),
                    (os.POSIX_SPAWN_DUP2, devnull, 1),
                    (os.POSIX_SPAWN_DUP2, devnull, 2),
                    (os.POSIX_SPAWN_DUP2, high[0], 3),
                    (os.POSIX_SPAWN_DUP2, high[1], 4),
                ],
                setsid=True,  # its own process group, killed below
            )
            stack.callback(_reap, pid)
            stack.callback(_kill_group, pid)
            devtools = DevTools(commands_w, answers_r, self.timeout)
            targets: list[dict[str, Any]] = []
            deadline = time.monotonic() + self.timeout
            while not targets and time.monotonic() < deadline:
                found = devtools.send("Target.getTargets")["targetInfos"]
                targets = [t for t in found if t["type"] == "page"]
            assert targets, f"no page in {command}"
            attached = devtools.send(
                "Target.attachToTarget", {"targetId": targets[0]["targetId"], "flatten": True}
            )
            page = Page(devtools, attached["sessionId"])
            page.wait_for(
                f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
            )
            yield page
            with contextlib.suppress(AssertionError, OSError):
                devtools.send("Browser.close")


def _kill_group(pgid: int) -> None:
    """Kill the process group this module started for one run (the browser and its helpers)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


class DevTools:
    """The DevTools protocol over a pipe: JSON messages, each ended by a NUL byte."""

    def __init__(self, commands: int, answers: int, timeout: float) -> None:
        self._commands, self._answers, self._timeout = commands, answers, timeout
        self._buffer = b""
        self._last = 0

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send one command; its result (events in between are dropped)."""
        self._last += 1
        message: dict[str, Any] = {"id": self._last, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self._timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._last:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._answers], [], [], left)[0]:
                raise AssertionError("Chromium did not answer in time")
            chunk = os.read(self._answers, 1 << 16)
            if not chunk:
                raise AssertionError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        decoded: dict[str, Any] = json.loads(message)
        return decoded


@dataclass(frozen=True)
class Page:
    """One page of a :meth:`Chromium.page` session."""

    devtools: DevTools
    session: str

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        answer = self.devtools.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise AssertionError(f"still false after {timeout} s: {expression}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click (pressed, released) in the middle of the element."""
        x, y = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.devtools.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                self.session,
            )


@contextlib.contextmanager
def chromium_with_proxy() -> Iterator[Chromium]:
    """A :class:`Chromium` and its :class:`RecordingProxy`, stopped on exit."""
    with RecordingProxy() as proxy:
        yield Chromium(chromium_binary(), proxy)


def free_port_refuses() -> int:
    """A loopback port nothing listens on (for a page that tries loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- PNG, read with zlib -----------------------------------------------------------------


@dataclass(frozen=True)
class Png:
    """A decoded 8-bit RGB/RGBA PNG: its size, how many pixels have each (r, g, b), and a
    digest of its pixels (equal for the same picture, whatever the encoding)."""

    width: int
    height: int
    colours: Counter[tuple[int, int, int]]
    digest: str


def read_png(data: bytes) -> Png:
    """Decode ``data`` (8-bit RGB or RGBA, not interlaced: what Chromium writes), checking
    every chunk's CRC; a ValueError for anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG signature")
    position, header, idat = 8, b"", bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}")
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(bytes(idat))
    if len(raw) != height * (stride + 1):
        raise ValueError("PNG data does not match its size")
    colours: Counter[tuple[int, int, int]] = Counter()
    pixels = hashlib.sha256()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, bpp)
        colours.update(zip(line[0::bpp], line[1::bpp], line[2::bpp], strict=True))
        pixels.update(line)
        previous = line
    return Png(width, height, colours, pixels.hexdigest())


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> bytearray:
    if kind == 0:
        return line
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
    for x in range(len(line)):
        left = line[x - bpp] if x >= bpp else 0
        if kind == 1:
            line[x] = (line[x] + left) & 0xFF
        elif kind == 3:
            line[x] = (line[x] + ((left + previous[x]) >> 1)) & 0xFF
        elif kind == 4:
            up = previous[x]
            upper_left = previous[x - bpp] if x >= bpp else 0
            estimate = left + up - upper_left
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
            best = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
            line[x] = (line[x] + best) & 0xFF
        else:
            raise ValueError(f"unknown PNG filter {kind}")
    return line
