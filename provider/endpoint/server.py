"""Running the endpoint: a threaded HTTP server on loopback (at most
:data:`~provider.endpoint.limits.MAX_REQUEST_THREADS` request threads, each client socket
with a timeout), a clean stop on SIGINT and SIGTERM, one ``listening on`` line on stderr
once requests are accepted."""

from __future__ import annotations

import errno
import ipaddress
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from provider.endpoint import limits
from provider.endpoint.app import EndpointApp
from provider.endpoint.state import EndpointState
from provider.endpoint.validation import JsonErrors
from provider.errors import ValidationError


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine (``localhost``, any of
    127.0.0.0/8, ``::1``); a name that may resolve elsewhere is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` and listening, as werkzeug would bind it; a port
    in use (or refused) is a :class:`ValidationError` naming it, where werkzeug itself
    would print its own lines and exit 1."""
    from werkzeug.serving import LISTEN_QUEUE, get_sockaddr, select_address_family

    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except OSError as exc:
        sock.close()
        why = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            why += " (another program listens there; stop it, or pick another --port, 0 for any)"
        raise ValidationError(f"--port: cannot listen on {host}:{port}: {why}") from None
    return sock


def bounded_server(host: str, port: int, app: Any, fd: int, handler: Any, slots: int) -> Any:
    """werkzeug's threaded server on the listening socket ``fd`` (bound to ``host``:
    ``port``), with at most ``slots``
    request threads: when all are busy, the accept loop waits for one to end (new
    connections wait in the listen queue). werkzeug answers every request with
    ``Connection: close``, so a thread is one request."""
    from werkzeug.serving import ThreadedWSGIServer

    class BoundedServer(ThreadedWSGIServer):
        def __init__(self) -> None:
            super().__init__(host, port, app, handler=handler, fd=fd)
            self.slots = threading.BoundedSemaphore(slots)
            self.closing = threading.Event()

        def process_request(self, request: Any, client_address: Any) -> None:
            while not self.slots.acquire(timeout=0.5):
                if self.closing.is_set():
                    self.shutdown_request(request)
                    return
            try:
                super().process_request(request, client_address)
            except BaseException:
                self.slots.release()
                raise

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                self.slots.release()

        def shutdown(self) -> None:
            self.closing.set()
            super().shutdown()

    return BoundedServer()


def serve(
    host: str = "127.0.0.1",
    port: int = 4566,
    home: Path | None = None,
    job_delay: float = 0.0,
    log: TextIO = sys.stderr,
    request_timeout: float = limits.REQUEST_TIMEOUT,
) -> None:
    """Serve until SIGINT or SIGTERM. ``home`` None: a fresh temporary home, removed at
    the end. ``request_timeout``: seconds a read or write on a client's socket may wait."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    try:
        socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError as exc:  # before anything is created or warned about
        raise ValidationError(
            f"--host: cannot listen on {host!r}: {exc.strerror or exc} (an address or name "
            "of this machine, e.g. 127.0.0.1)"
        ) from None
    listening = listening_socket(host, port)  # before anything is created or warned about
    temporary = None
    if home is None:
        temporary = tempfile.TemporaryDirectory(prefix="sam-ext-serve-")
        home = Path(temporary.name)
    state = EndpointState(home)
    earlier = state.summary()
    if earlier["profiles"] or earlier["earlier_signed_objects"]:
        print(
            f"sam-ext serve: {home} holds {earlier['profiles']} signing profile(s) from earlier "
            f"runs (keys, revocations, code signing configs kept); "
            f"{earlier['earlier_signed_objects']} signed object(s) of earlier runs are gone "
            "with that run's S3 (DescribeSigningJob says so)",
            file=log,
            flush=True,
        )
    if not is_loopback(host):
        print(
            f"sam-ext serve: warning: listening on {host}, beyond this machine; requests "
            "are not authenticated (any caller can sign with these keys)",
            file=log,
            flush=True,
        )

    class QuietHandler(JsonErrors, MotoRequestHandler):
        """moto's request handler without a log line per request, with a timeout on every
        read and write of the client's socket; its own refusals (an unparseable request line
        or headers) are JSON, not HTML."""

        timeout = request_timeout

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    app = EndpointApp(state, job_delay=job_delay)
    server = bounded_server(
        host, port, app, listening.fileno(), QuietHandler, limits.MAX_REQUEST_THREADS
    )
    listening.close()  # the server holds its own duplicate of the socket
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    print(f"listening on http://{shown}:{bound_port}", file=log, flush=True)
    try:
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
        app.close()
        print("sam-ext serve: stopped", file=log, flush=True)
        if temporary is not None:
            temporary.cleanup()
