"""Where and as whom the aws backend acts: boto3's resolution, retries, endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider.backends.aws import AwsBackend
from provider.backends.aws.session import DEFAULT_MAX_ATTEMPTS, open_clients, retry_config
from provider.backends.factory import open_backend
from provider.errors import ValidationError

from .conftest import ACCOUNT, NOW


def test_region_comes_from_the_environment_and_an_argument_overrides_it() -> None:
    assert open_clients().region == "us-east-1"
    assert open_clients(region="eu-west-1").region == "eu-west-1"


def test_no_region_anywhere_is_a_message_saying_where_to_set_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ValidationError, match="no AWS region is configured; set AWS_REGION") as e:
        AwsBackend()
    # Both tools' own settings are named: the CLI's option and Pulumi's stack config.
    assert "--region (sam-ext)" in e.value.message
    assert "codesign:region (Pulumi stack config)" in e.value.message


def test_aws_region_is_honoured_over_aws_default_region_as_the_aws_cli_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # boto3 alone reads only AWS_DEFAULT_REGION; the README says AWS_REGION works.
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    assert AwsBackend().clients.region == "eu-north-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert open_clients().region == "eu-north-1"
    assert open_clients(region="ap-south-1").region == "ap-south-1"  # --region wins
    config = tmp_path / "config"
    config.write_text("[profile ci]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert open_clients(profile="ci").region == "eu-north-1"  # the environment over ~/.aws
    monkeypatch.setenv("AWS_REGION", "Mars")
    with pytest.raises(ValidationError, match="AWS_REGION: 'Mars' is not an AWS region"):
        open_clients()


def test_a_bad_region_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="region: 'Frankfurt' is not an AWS region"):
        open_clients(region="Frankfurt")


def test_aws_profile_selects_the_profile_and_its_region(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile ci]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_PROFILE", "ci")
    assert AwsBackend().clients.region == "eu-central-1"


def test_an_unknown_aws_profile_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    with pytest.raises(
        ValidationError, match=r"AWS_PROFILE \(or --profile\): .*nobody.*~/.aws/config"
    ):
        AwsBackend()


def test_retry_mode_and_attempts_default_to_adaptive_and_honour_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert retry_config().retries == {
        "mode": "adaptive",
        "total_max_attempts": DEFAULT_MAX_ATTEMPTS,
    }
    assert open_clients().signer.meta.config.retries["mode"] == "adaptive"
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "12")
    assert retry_config().retries == {"mode": "standard", "total_max_attempts": 12}
    assert retry_config("legacy", 2).retries == {"mode": "legacy", "total_max_attempts": 2}
    client = open_clients().signer
    assert client.meta.config.retries["mode"] == "standard"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AWS_RETRY_MODE", "eager", "AWS_RETRY_MODE: 'eager' is not one of"),
        ("AWS_MAX_ATTEMPTS", "many", "AWS_MAX_ATTEMPTS: 'many' is not a whole number"),
        ("AWS_MAX_ATTEMPTS", "0", "AWS_MAX_ATTEMPTS: 0 must be at least 1"),
    ],
)
def test_bad_retry_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        retry_config()


def test_the_factory_opens_the_aws_backend_by_name() -> None:
    backend = open_backend("aws", region="us-west-2")
    assert isinstance(backend, AwsBackend)
    assert backend.clients.region == "us-west-2"
    with pytest.raises(ValidationError, match="backend: 'gcp' is not one of local, aws"):
        open_backend("gcp")


def test_the_account_of_the_arns_is_the_callers(moto: None) -> None:
    location = AwsBackend().location
    assert (location.partition, location.region, location.account) == ("aws", "us-east-1", ACCOUNT)


def test_aws_endpoint_url_sends_every_call_to_that_endpoint(moto_server: str) -> None:
    backend = AwsBackend()
    for client in (backend.clients.signer, backend.clients.lambda_, backend.clients.s3):
        assert client.meta.endpoint_url == moto_server
    created = backend.put_signing_profile("over_http", now=NOW)
    assert (
        backend.get_signing_profile("over_http")["profileVersionArn"]
        == (created["profileVersionArn"])
    )
    assert backend.location.account == ACCOUNT


def test_the_caller_account_is_asked_once_when_threads_ask_at_once() -> None:
    """An audit's first workers all need the account at once: one GetCallerIdentity."""
    import threading
    import time
    from typing import Any

    from provider.backends.aws import AwsClients

    class Sts:
        def __init__(self) -> None:
            self.calls = 0

        def get_caller_identity(self) -> dict[str, Any]:
            self.calls += 1
            time.sleep(0.05)  # every thread asks while the first one waits on STS
            return {"Account": ACCOUNT}

    clients = open_clients()
    sts = Sts()
    shared = AwsClients(signer=clients.signer, lambda_=clients.lambda_, s3=clients.s3, sts=sts)
    barrier = threading.Barrier(8)
    found: list[str] = []

    def ask() -> None:
        barrier.wait()
        found.append(shared.caller_account())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [ACCOUNT] * 8
    assert sts.calls == 1
    assert shared.caller_account() == ACCOUNT and sts.calls == 1
