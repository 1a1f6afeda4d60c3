"""Diagnostics from a lifecycle step, on its resource, in the dynamic provider host.

The program reports what ``check`` finds (:mod:`provider.resources.report`), but a step the
program does not see (``read``, during ``pulumi refresh``) has no program to log through.
The engine starts every provider plugin with the address of its host server (the first
argument of ``pulumi-resource-pulumi-python``), which serves ``pulumirpc.Engine.Log``, as
it does for the program: a :class:`~pulumi.runtime.proto.engine_pb2.LogRequest` with the
resource's URN is a diagnostic on that resource, shown in the CLI's output and among its
``Diagnostics``. The URN is the one of the engine's request being served (``ReadRequest``,
``CreateRequest``... all carry it). Outside the engine (a provider called directly), the
message goes to stderr, as ``pulumi.log`` does without an engine.
"""

from __future__ import annotations

import re
import sys
from typing import Any

#: ``host:port`` of the engine's host server, as the engine passes it to provider plugins.
_ADDRESS_RE = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d+$")
#: How long a diagnostic may take to reach the engine before it is printed instead.
_TIMEOUT_SECONDS = 10


def _engine_address() -> str | None:
    argument = sys.argv[1] if len(sys.argv) > 1 else ""
    return argument if _ADDRESS_RE.match(argument) else None


def _request_urn() -> str:
    """The URN of the engine request this thread is serving: the ``request`` argument of
    the dynamic provider host's gRPC method (``Read(self, request, context)``...) up the
    stack; empty when there is none."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        request = frame.f_locals.get("request")
        urn = getattr(request, "urn", None)
        if isinstance(urn, str) and urn.startswith("urn:pulumi:"):
            return urn
        frame = frame.f_back
    return ""


def warn(message: str) -> None:
    """A warning on the resource whose step is running (see the module's docstring)."""
    import grpc  # type: ignore[import-untyped]
    from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

    address = _engine_address()
    if address is not None:
        try:
            with grpc.insecure_channel(address) as channel:
                engine_pb2_grpc.EngineStub(channel).Log(
                    engine_pb2.LogRequest(
                        severity=engine_pb2.WARNING, message=message, urn=_request_urn()
                    ),
                    timeout=_TIMEOUT_SECONDS,
                )
            return
        except grpc.RpcError:
            pass  # the engine did not take it: say it where it is still seen
    print(f"warning: {message}", file=sys.stderr, flush=True)
