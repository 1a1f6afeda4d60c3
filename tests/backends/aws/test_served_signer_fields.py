"""The aws backend judges deployed code by the signer Lambda reports for it
(``SigningProfileVersionArn``, ``SigningJobArn``, :mod:`provider.deployed`), on a real
``sam-ext serve``: a Pulumi refresh of a ``LambdaFunction`` whose recorded ``deployed_code``
object was replaced, or is not known, still gets the standing of the code and layers it
runs; an answer without the fields falls back to judging the recorded object's bytes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from endpoint.serving import Server, module_server

from provider.backends.aws import AwsBackend, S3Object
from provider.backends.function_settings import FunctionSettings
from provider.deployed import deployed_artifacts, facts_of_deployed
from provider.resources import function as function_module
from provider.resources.function import LambdaFunctionProvider

from .conftest import NOW, REGION
from .conftest import fixed_zip as zip_bytes
from .test_served_flows import Served

SETTINGS = {"backend": "aws", "home": None, "region": REGION, "now": None}
SIGNER_MEMBERS = ("SigningProfileVersionArn", "SigningJobArn")


server = module_server("fields-home")


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
        self.publisher = arn
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
        self.role = served.role()
        backend.create_function(
            self.name,
            signed,
            csc_arn=self.csc,
            layers=[self.layer],
            settings=FunctionSettings(role=self.role, runtime="python3.12", handler="app.handler"),
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
    signature this backend can read: UNKNOWN). A layer whose entry in the function names
    no signer is judged by the signer its version's ``Content`` reports (GetLayerVersion),
    and when that names none either, by what the program says of it (nothing: UNKNOWN)."""
    backend = AwsBackend(REGION, endpoint_url=deployed.served.url)

    def without_signer(parsed: dict[str, Any], **_: Any) -> None:
        configuration = parsed.get("Configuration", {})
        for document in (configuration, *configuration.get("Layers", []), parsed.get("Content")):
            for member in SIGNER_MEMBERS:
                (document or {}).pop(member, None)

    events = backend.clients.lambda_.meta.events
    events.register("after-call.lambda.GetFunction", without_signer)
    opened = function_module.backend_of
    monkeypatch.setattr(function_module, "backend_of", lambda _props: backend)
    assert _decisions(deployed.refresh(deployed.signed)) == ["ALLOW", "ALLOW"]
    events.register("after-call.lambda.GetLayerVersion", without_signer)
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


def test_a_preview_judges_a_layer_given_by_arn_by_the_signer_its_version_reports(
    deployed: Deployed,
) -> None:
    """A new function whose layer is a version ARN the program says nothing else of: the
    signer GetLayerVersion's ``Content`` reports decides it (it was UNKNOWN)."""
    news = {
        "logical_name": "other",
        "name_seed": "seed",
        "function_name": "other" + deployed.served.tag,
        "code": deployed.signed,
        "code_package": None,
        "code_signing_config_arn": deployed.csc,
        "code_signing_policy": "Enforce",
        "allowed_publishers": [deployed.publisher],
        "publisher_refs": None,
        "layers": [{"arn": deployed.layer, "name": None, "code": None, "package": None}],
        "role": deployed.role,
        "settings": SETTINGS,
    }
    provider = LambdaFunctionProvider()
    checked = provider.check({}, news)
    assert checked.failures == []
    prediction = checked.inputs["predicted_verdict"]
    assert [a["decision"] for a in prediction["artifacts"]] == ["ALLOW", "ALLOW"], prediction
    deployed.served.backend.revoke_signature(deployed.job_id, "key leaked", now=NOW)
    prediction = provider.check({}, news).inputs["predicted_verdict"]
    assert [a["decision"] for a in prediction["artifacts"]] == ["REJECT", "REJECT"]
    layer = prediction["artifacts"][1]
    assert layer["name"].startswith(f"layer {deployed.layer}")
    assert "key leaked" in layer["failed_checks"][0]


def test_the_signed_objects_sha256_is_the_version_its_job_wrote(deployed: Deployed) -> None:
    """``signed_sha256`` on aws: Lambda's ``CodeSha256`` of the object a job wrote, in the
    version it wrote (the key overwritten since changes nothing); deployed code whose
    ``CodeSha256`` differs was changed out of band, an integrity failure."""
    backend, served = deployed.served.backend, deployed.served
    configuration = backend.get_function(deployed.name)
    code = deployed_artifacts(configuration)[0]
    job = backend.signing_job(deployed.job_id)
    assert backend.signed_sha256(job) == configuration["CodeSha256"]
    signed = S3Object.parse(deployed.signed)
    served.s3.put_object(Bucket=signed.bucket, Key=signed.key, Body=b"PK\x05\x06" + b"\0" * 18)
    assert backend.signed_sha256(job) == configuration["CodeSha256"]
    facts = facts_of_deployed(code, backend, name="f", signed_sha256=backend.signed_sha256)
    assert facts.integrity_error is None and facts.unknown == frozenset()
    changed = replace(code, code_sha256="Y2hhbmdlZA==")
    facts = facts_of_deployed(changed, backend, name="f", signed_sha256=backend.signed_sha256)
    assert facts.integrity_error is not None and "changed out of band" in facts.integrity_error
