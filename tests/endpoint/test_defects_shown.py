"""The endpoint's routing helpers catch what botocore says of a name it does not know, and
nothing else: a defect reaches the application's last-resort handler, which answers the
service's 500 and traces it in the log (tests/endpoint/test_bad_requests.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provider.endpoint import app, protocol


def _broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a bug")


def test_an_unknown_signing_name_is_answered_in_json() -> None:
    headers, body = app._aws_error_body("nosuchservice", "UnknownOperationException", "no")
    assert ("Content-Type", "application/json") in headers
    assert json.loads(body) == {"__type": "UnknownOperationException", "message": "no"}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "QUERY_STRING": ""}
    assert app.operation_name(environ, "nosuchservice", b"") == "GET /x"


def test_a_defect_while_naming_an_error_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "service_model", _broken)
    with pytest.raises(RuntimeError, match="a bug"):
        app._aws_error_body("signer", "X", "m")


def test_a_defect_while_naming_an_operation_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/2015-03-31/functions", "QUERY_STRING": ""}
    assert app.operation_name(environ, "lambda", b"") == "ListFunctions"
    monkeypatch.setattr(protocol, "match", _broken)
    with pytest.raises(RuntimeError, match="a bug"):
        app.operation_name(environ, "lambda", b"")
