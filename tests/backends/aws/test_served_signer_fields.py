"""The aws backend judges deployed code by the signer Lambda reports for it
(``SigningProfileVersionArn``, ``SigningJobArn``, :mod:`provider.deployed`), on a real
``sam-ext serve``: a Pulumi refresh of a ``LambdaFunction`` whose recorded ``deployed_code``
object was replaced, or is not known, still gets the standing of the code and layers it
runs; an answer without the fields falls back to judging the recorded object's bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from endpoint.serving import Server, start_server

from provider.backends.aws import AwsBackend, S3Object
from provider.backends.function_settings import FunctionSettings
from provider.resources import function as function_module
from provider.resources.function import LambdaFunctionProvider

from .conftest import NOW, REGION
from .conftest import fixed_zip as zip_bytes
from .test_served_flows import Served

SETTINGS = {"backend": "aws", "home": None, "region": REGION, "now": None}
SIGNER_MEMBERS = ("SigningProfileVersionArn", "SigningJobArn")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("fields-home"))
    yield running
    running.stop()


@pytest.fixture
def served(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Served:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    return Served(server, tmp_path)


class Deployed:
    """A function under an Enforce config whose code and one layer are signed by one
    profile, and, as state recorded it, ``deployed_code`` at a key since overwritten with
    unsigned bytes."""

    def __init__(self, served: Served) -> None:
        backend, self.served = served.backend, served
        profile = served.name("publisher")
        arn = backend.put_signing_profile(profile, now=NOW)["profileVersionArn"]
        self.csc = backend.create_code_signing_config([arn], policy="Enforce", now=NOW)[
            "CodeSigningConfig"
        ]["CodeSigningConfigArn"]
        job = backend.sign_package(
            served.package("app.zip"), f"s3://{served.bucket}/web", profile, now=NOW
        )
        self.job_id = job["jobId"]
        signed = S3Object.from_location(job["signedObject"])
        self.signed = signed.uri
        self.layer = backend.publish_layer_version(served.name("deps"), signed, now=NOW)[
            "LayerVersionArn"
        ]
        self.name = "fields" + served.tag
        backend.create_function(
            self.name,
            signed,
            csc_arn=self.csc,
            layers=[self.layer],
            settings=FunctionSettings(
                role=served.role(), runtime="python3.12", handler="app.handler"
            ),
            now=NOW,
        )
        unsigned = zip_bytes({"app.py": b"def handler(e, c):\n    return 9\n"})
        served.s3.put_object(Bucket=served.bucket, Key="recorded/app.zip", Body=unsigned)
        self.recorded = f"s3://{served.bucket}/recorded/app.zip"

    def props(self, deployed_code: str | None) -> dict[str, Any]:
        """A LambdaFunction's state as the provider reads it back."""
        return {
            "function_name": self.name,
            "code_signing_config_arn": self.csc,
            "deployed_code": deployed_code,
            "layers": [{"arn": self.layer, "name": None, "code": None, "package": None}],
            "layer_arns": [self.layer],
            "settings": SETTINGS,
        }

    def refresh(self, deployed_code: str | None) -> dict[str, Any]:
        return LambdaFunctionProvider().read(self.name, self.props(deployed_code)).outs or {}


@pytest.fixture
def deployed(served: Served) -> Deployed:
    return Deployed(served)


def _decisions(outs: dict[str, Any]) -> list[str]:
    return [a["decision"] for a in outs["deployed_code_standing"]["artifacts"]]


def test_refresh_judges_the_code_and_layers_by_the_signer_lambda_reports(
    deployed: Deployed,
) -> None:
    configuration = deployed.served.lambda_.get_function(FunctionName=deployed.name)
    assert all(member in configuration["Configuration"] for member in SIGNER_MEMBERS)
    # The recorded object now holds unsigned bytes, or nothing is recorded: the fields
    # still name the signer, whose config lists it.
    for recorded in (deployed.recorded, None):
        outs = deployed.refresh(recorded)
        assert _decisions(outs) == ["ALLOW", "ALLOW"], outs["deployed_code_standing"]
        assert outs["findings"] == []

    # Revoked since: found through the job Lambda names, for the code and its layer.
    deployed.served.backend.revoke_signature(deployed.job_id, "key leaked", now=NOW)
    for recorded in (deployed.recorded, None):
        outs = deployed.refresh(recorded)
        assert _decisions(outs) == ["REJECT", "REJECT"]
        code, layer = outs["deployed_code_standing"]["artifacts"]
        assert code["failed_checks"] == layer["failed_checks"]
        assert (
            code["failed_checks"][0].startswith("revocation: ")
            and "key leaked" in (code["failed_checks"][0])
        )
        said = " ".join(outs["drift"])
        assert "since the deploy" in said and "key leaked" in said, outs["drift"]


def test_an_answer_without_the_fields_falls_back_to_the_recorded_object(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint that reports no signer: what state recorded deploying is judged by its
    bytes: the signed object, as its signer; bytes overwritten since, as what they are (no
    signature this backend can read: UNKNOWN); a layer the program says nothing of, UNKNOWN."""
    backend = AwsBackend(REGION, endpoint_url=deployed.served.url)

    def without_signer(parsed: dict[str, Any], **_: Any) -> None:
        configuration = parsed.get("Configuration", {})
        for document in (configuration, *configuration.get("Layers", [])):
            for member in SIGNER_MEMBERS:
                document.pop(member, None)

    backend.clients.lambda_.meta.events.register("after-call.lambda.GetFunction", without_signer)
    opened = function_module.backend_of
    monkeypatch.setattr(function_module, "backend_of", lambda _props: backend)
    assert _decisions(deployed.refresh(deployed.signed)) == ["ALLOW", "UNKNOWN"]
    outs = deployed.refresh(deployed.recorded)
    assert _decisions(outs) == ["UNKNOWN", "UNKNOWN"], outs["deployed_code_standing"]
    [code, layer] = outs["findings"]
    assert "no signing job this account can see wrote these bytes" in code["message"]
    assert "the code is not known until deploy" in layer["message"]
    assert _decisions(deployed.refresh(None)) == ["UNKNOWN", "UNKNOWN"]
    # the same refreshes, with the fields: judged by the signer Lambda names
    monkeypatch.setattr(function_module, "backend_of", opened)
    for recorded in (deployed.signed, deployed.recorded, None):
        assert _decisions(deployed.refresh(recorded)) == ["ALLOW", "ALLOW"]
