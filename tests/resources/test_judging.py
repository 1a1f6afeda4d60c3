"""What resources say of a failure is chosen by its typed fields, never by its wording."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resources.test_providers import function_inputs

from provider.errors import ValidationError
from provider.prediction import KnownConfig, PendingSignature, Publisher, predict
from provider.resources import judging
from provider.resources.function import LambdaFunctionProvider, input_failure
from provider.verdict import Policy, Reason

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LISTED = "urn:pulumi:dev::app::pulumi-python:dynamic:Resource::publisher"
#: A profile whose name, in a mismatch message, reads like "not signed".
UNLISTED = "urn:pulumi:dev::app::pulumi-python:dynamic:Resource::not signed"


def test_the_remedy_of_a_mismatch_follows_its_reason_not_its_message() -> None:
    config = KnownConfig(Policy.ENFORCE, (Publisher(None, LISTED),))
    unlisted = predict("function f", PendingSignature(profile_ref=UNLISTED), config, T0)
    [failed] = unlisted.failed
    assert "not signed" in failed.message and failed.reason is Reason.NOT_ALLOWED
    assert "allowed_publishers" in judging.pulumi_remedy(failed)
    unsigned = predict("function f", PendingSignature(profile_ref=LISTED), config, T0)
    assert unsigned.failed == ()


def test_an_input_failure_names_the_field_the_error_carries() -> None:
    error = ValidationError("the function would time out at once (0 seconds)", field="timeout")
    failure = input_failure("LambdaFunction", error, {"timeout": 0})
    assert failure.property == "timeout"
    assert failure.reason == f"LambdaFunction input {error.message}"
    # A field the resource does not take falls back to its code.
    assert input_failure("LambdaFunction", ValidationError("x", field="Zzz"), {}).property == "code"


def test_a_bad_setting_fails_on_its_own_input(settings: dict[str, Any], tmp_path: Path) -> None:
    inputs = function_inputs(settings, str(tmp_path / "app.zip"), {}, memory_size=64)
    [failure] = LambdaFunctionProvider().check({}, inputs).failures
    assert failure.property == "memory_size" and "128 to 10240" in failure.reason


def test_one_unknown_sentinel() -> None:
    """The pack's wire and the resources' inputs hold the same sentinel: Pulumi's own."""
    from pulumi.runtime import rpc

    from provider.policy import wire
    from provider.resources import _base

    assert _base.UNKNOWN is wire.UNKNOWN and wire.UNKNOWN == rpc.UNKNOWN
    assert _base.is_unknown({"code": wire.normalized(wire.UNKNOWN_VALUE)})
