"""Throttling and transient errors are retried by botocore (adaptive mode by default) on
the wire; what still fails after the last attempt is one clear message. The errors are
real HTTP responses injected before moto answers, so botocore's retry handler sees them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provider.backends.aws import AwsBackend
from provider.backends.aws.errors import ThrottledError

from .conftest import BUCKET, AwsWorld, inject_errors, make_clients

pytestmark = pytest.mark.usefixtures("no_backoff")


def signer_error(status: int, code: str, message: str) -> tuple[int, bytes, dict[str, str]]:
    """A Signer (REST-JSON) error response."""
    return status, json.dumps({"message": message}).encode(), {"x-amzn-ErrorType": code}


def s3_error(status: int, code: str) -> tuple[int, bytes, dict[str, str]]:
    """An S3 (REST-XML) error response."""
    body = f"<Error><Code>{code}</Code><Message>Please reduce your request rate.</Message></Error>"
    return status, body.encode(), {"Content-Type": "application/xml"}


def test_signer_throttling_is_retried_until_it_succeeds(world: AwsWorld) -> None:
    world.put_profile()
    attempts = inject_errors(
        world.signer,
        "GetSigningProfile",
        [
            signer_error(429, "TooManyRequestsException", "Rate exceeded"),
            signer_error(429, "ThrottlingException", "Rate exceeded"),
        ],
    )
    assert world.backend.get_signing_profile("publisher")["status"] == "Active"
    assert len(attempts) == 3


def test_a_transient_server_error_is_retried(world: AwsWorld) -> None:
    world.put_profile()
    attempts = inject_errors(
        world.signer,
        "GetSigningProfile",
        [signer_error(500, "InternalServiceErrorException", "try again")],
    )
    assert world.backend.get_signing_profile("publisher")["profileName"] == "publisher"
    assert len(attempts) == 2


def test_s3_slow_down_is_retried_during_an_upload(
    world: AwsWorld, package: Callable[..., Path]
) -> None:
    attempts = inject_errors(world.backend.clients.s3, "PutObject", [s3_error(503, "SlowDown")])
    uploaded, fresh = world.backend.objects.put_content_addressed(package(), BUCKET, "app/")
    assert fresh and uploaded.version
    assert len(attempts) == 2


def test_throttling_that_outlasts_the_retries_is_one_clear_error(world: AwsWorld) -> None:
    world.put_profile()
    backend = AwsBackend(clients=make_clients(max_attempts=3), job_delay=0)
    throttled = signer_error(429, "TooManyRequestsException", "Rate exceeded")
    attempts = inject_errors(backend.clients.signer, "GetSigningProfile", [throttled] * 10)
    with pytest.raises(ThrottledError) as caught:
        backend.get_signing_profile("publisher")
    assert len(attempts) == 3
    message = str(caught.value)
    assert message.startswith(
        "TooManyRequestsException: AWS throttled signer:GetSigningProfile on signing profile "
        "'publisher' after 3 attempts"
    )
    assert "\n" not in message


def test_client_errors_are_not_retried(world: AwsWorld) -> None:
    world.put_profile()
    attempts: Any = inject_errors(
        world.signer,
        "GetSigningProfile",
        [signer_error(403, "AccessDeniedException", "not authorized")] * 3,
    )
    with pytest.raises(Exception, match="was denied: not authorized"):
        world.backend.get_signing_profile("publisher")
    assert len(attempts) == 1
