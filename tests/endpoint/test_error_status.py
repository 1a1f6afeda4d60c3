"""The HTTP status of a refused request follows the error's class, not its code's text."""

from __future__ import annotations

from provider.endpoint.app import server_fault_status
from provider.endpoint.protocol import render_error
from provider.errors import CodesignError, KeystoreError, ValidationError


def test_a_keystore_failure_is_the_servers_fault() -> None:
    assert server_fault_status(KeystoreError("cannot use keystore '/home': denied")) == 500


def test_an_error_only_named_like_it_keeps_its_codes_status() -> None:
    named = CodesignError("a request's own failure", code="KeystoreError")
    assert server_fault_status(named) is None
    assert server_fault_status(ValidationError("profileName: bad")) is None
    status, _, _ = render_error("signer", "ValidationException", "x", server_fault_status(named))
    assert status == 400
