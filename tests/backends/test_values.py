"""Typed values made from the backends' AWS-shaped documents, and back unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from provider.archive import build_package
from provider.backends.base import policy_of_config
from provider.backends.local import LocalBackend
from provider.backends.values import (
    CodeSigningConfig,
    FunctionConfiguration,
    SigningJob,
    SigningProfile,
)
from provider.errors import NotFoundError, ValidationError
from provider.objects import S3Object
from provider.statuses import JobStatus, ProfileStatus
from provider.verdict import Policy

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def local(tmp_path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "keys")
    backend.put_signing_profile("team_a", now=NOW)
    return backend


def _same(value, document) -> None:
    """``to_document`` gives the document back key for key, in its order (CLI output)."""
    assert json.dumps(value.to_document()) == json.dumps(document)


def test_a_local_signing_job_round_trips(local, tmp_path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.py").write_text("x = 1\n")
    source = tmp_path / "app.zip"
    source.write_bytes(build_package(tmp_path / "src").data)
    document = local.sign_package(source, str(tmp_path), "team_a", now=NOW)

    job = SigningJob.from_document(document)

    assert job.status is JobStatus.SUCCEEDED and job.succeeded
    assert job.job_id == document["jobId"] and job.profile_name == "team_a"
    assert job.signed_object is not None
    assert job.signed_object.path == document["signedObject"]["path"]
    assert job.signature_expires_at == document["signatureExpiresAt"]
    _same(job, document)


def test_an_aws_signing_job_names_its_s3_object() -> None:
    document = {
        "jobId": "j-1",
        "status": "Failed",
        "statusReason": "bad zip",
        "profileName": "team_a",
        "createdAt": "2026-06-01T12:00:00Z",
        "signedObject": {"bucketName": "b", "key": "k.zip", "version": "v1"},
    }
    job = SigningJob.from_document(document)
    assert (job.status, job.status_reason) == (JobStatus.FAILED, "bad zip")
    assert job.signed_object is not None and job.signed_object.s3 == S3Object("b", "k.zip", "v1")
    _same(job, document)


def test_a_signing_profile_round_trips(local) -> None:
    document = local.get_signing_profile("team_a")
    profile = SigningProfile.from_document(document)
    assert profile.active and profile.status is ProfileStatus.ACTIVE
    assert profile.profile_version_arn == document["profileVersionArn"]
    _same(profile, document)
    local.cancel_signing_profile("team_a", now=NOW)
    assert not SigningProfile.from_document(local.get_signing_profile("team_a")).active


def test_a_code_signing_config_gives_the_same_verdict_inputs(local) -> None:
    arn = local.get_signing_profile("team_a")["profileVersionArn"]
    created = local.create_code_signing_config([arn], policy=None, description=None, now=NOW)
    document = local.get_code_signing_config(created["CodeSigningConfig"]["CodeSigningConfigArn"])
    config = CodeSigningConfig.from_document(document)
    assert config.untrusted_artifact_on_deployment is Policy.WARN
    assert config.allowed == (arn,)
    assert config.policy == policy_of_config(document["CodeSigningConfig"], config.arn)
    _same(config, document)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"status": "Succeeded", "createdAt": "x"}, "jobId"),
        ({"jobId": "j", "status": "Done", "createdAt": "x"}, "status"),
    ],
)
def test_a_document_that_is_not_a_job_is_refused_naming_the_field(document, field) -> None:
    with pytest.raises(ValidationError) as caught:
        SigningJob.from_document(document)
    assert caught.value.field == field


def test_a_function_configuration_reads_what_the_resources_record(local, tmp_path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.py").write_text("x = 1\n")
    code = tmp_path / "app.zip"
    code.write_bytes(build_package(tmp_path / "src").data)
    document = local.create_function("fn", code, now=NOW)

    configuration = FunctionConfiguration.from_document(document)

    assert configuration.function_name == "fn"
    assert configuration.function_arn == document["FunctionArn"]
    assert configuration.code_sha256 == document["CodeSha256"]
    assert configuration.csc_arn is None and configuration.layers == ()
    _same(configuration, document)
    with pytest.raises(ValidationError, match="FunctionArn"):
        FunctionConfiguration.from_document({"FunctionName": "fn"})


def test_the_typed_reads_are_the_documents_made_values(local, tmp_path) -> None:
    """``signing_profile``, ``signing_job`` and ``code_signing_config`` give the values the
    AWS-named reads' documents make, and refuse what those refuse."""
    assert local.signing_profile("team_a") == SigningProfile.from_document(
        local.get_signing_profile("team_a")
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.py").write_text("x = 1\n")
    source = tmp_path / "app.zip"
    source.write_bytes(build_package(tmp_path / "src").data)
    signed = local.sign_package(source, str(tmp_path), "team_a", now=NOW)
    job = local.signing_job(signed["jobId"])
    assert isinstance(job, SigningJob) and job == SigningJob.from_document(signed)
    arn = local.signing_profile("team_a").profile_version_arn
    created = local.create_code_signing_config([arn], policy="Enforce", description=None, now=NOW)
    csc_arn = created["CodeSigningConfig"]["CodeSigningConfigArn"]
    config = local.code_signing_config(csc_arn)
    assert config == CodeSigningConfig.from_document(local.get_code_signing_config(csc_arn))
    assert config.untrusted_artifact_on_deployment is Policy.ENFORCE
    with pytest.raises(NotFoundError, match="nobody"):
        local.signing_profile("nobody")
