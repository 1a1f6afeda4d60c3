"""Both backends are a Signer part and a Lambda part: each part implements its protocol
(mypy checks it in :mod:`provider.backends.factory`; this checks it at run time), the
capabilities callers once probed for are in the protocols, and the Lambda part takes the
trust it judges publishers by as an argument."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provider.archive import BuiltPackage, build_package
from provider.arns import Location
from provider.backends import base
from provider.backends.aws import AwsBackend
from provider.backends.aws.lambda_functions import AwsFunctions
from provider.backends.aws.signer import AwsSigner
from provider.backends.local import LocalBackend
from provider.backends.local.registry import LocalFunctions
from provider.backends.local.signer import LocalSigner
from provider.backends.local.store import Keystore
from provider.errors import ValidationError
from provider.inspect_package import PublisherRecord
from provider.resources.signed_package import _signing_destination
from provider.statuses import JobStatus

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _members(protocol: type) -> set[str]:
    """The operations a protocol declares (its own and its bases')."""
    return {
        name
        for klass in protocol.__mro__
        if klass not in (object,) and klass.__module__ == base.__name__
        for name, value in vars(klass).items()
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))
    }


def test_the_protocols_name_the_capabilities_once_probed():
    signer, lambda_ = _members(base.SignerPart), _members(base.LambdaPart)
    # What the packager probed for with isinstance (signing what it built, seals) and
    # what a resource asked ``isinstance(backend, LocalBackend)`` for.
    assert {"sign_archive", "seal_signed", "sealed_facts", "file_facts"} <= signer
    assert "default_signing_destination" in signer
    assert {"evaluate_package", "csc_policy_of", "function_drift"} <= lambda_
    assert _members(base.Backend) == signer | lambda_ | {"adopt_layer"}


@pytest.mark.parametrize(
    ("part", "protocol"),
    [
        (LocalSigner, base.SignerPart),
        (AwsSigner, base.SignerPart),
        (LocalFunctions, base.LambdaPart),
        (AwsFunctions, base.LambdaPart),
        (LocalBackend, base.Backend),
        (AwsBackend, base.Backend),
    ],
)
def test_each_part_has_every_operation_of_its_protocol(part, protocol):
    methods = _members(protocol) - {"location"}  # an attribute on local, a property on aws
    missing = sorted(name for name in methods if not callable(getattr(part, name, None)))
    assert missing == []
    for name in methods:  # the same parameters, by name (as a caller passes them)
        wanted = set(inspect.signature(getattr(protocol, name)).parameters)
        have = set(inspect.signature(getattr(part, name)).parameters)
        assert wanted <= have, (part.__name__, name, sorted(wanted - have))


class _Trust:
    """Trust records of no keystore: no publisher is known."""

    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        return None

    def signature_revocation(self, job_id: str) -> str | None:
        return None


def test_the_lambda_part_judges_by_the_trust_it_is_given(tmp_path):
    signing = LocalBackend(tmp_path / "keys")
    profile = signing.put_signing_profile("team_a", now=NOW)
    source = tmp_path / "app.zip"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.py").write_text("def handler(e, c):\n    return 1\n")
    source.write_bytes(build_package(tmp_path / "src").data)
    job = signing.sign_package(source, str(tmp_path), "team_a", now=NOW)
    signed = Path(job["signedObject"]["path"])

    location = Location("us-east-1", "000000000000")
    own = LocalFunctions(signing.store, location, trust=signing)
    stranger = LocalFunctions(Keystore(tmp_path / "other"), location, trust=_Trust())

    assert own.package_facts(signed).profile_version_arn == profile["profileVersionArn"]
    assert own.package_facts(signed).publisher_known is True
    assert stranger.package_facts(signed).publisher_known is False


def test_the_local_signer_signs_what_was_built_and_fails_a_bad_one_with_its_reason(tmp_path):
    backend = LocalBackend(tmp_path / "keys")
    backend.put_signing_profile("team_a", now=NOW)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.py").write_text("x = 1\n")
    built = build_package(tmp_path / "src")
    source = tmp_path / "app.zip"
    source.write_bytes(built.data)

    job, started = backend.sign_archive(
        source, str(tmp_path), "team_a", written=built, client_request_token="t1", now=NOW
    )
    assert (job.status, started) == (JobStatus.SUCCEEDED, True)
    again, started = backend.sign_archive(
        source, str(tmp_path), "team_a", written=built, client_request_token="t1", now=NOW
    )
    assert (again.job_id, started) == (job.job_id, False)
    assert again.to_document() == backend.describe_signing_job(job.job_id)

    broken = BuiltPackage(b"not a zip", built.sha384, built.content_digest, 1)
    failed, started = backend.sign_archive(source, str(tmp_path), "team_a", written=broken, now=NOW)
    assert (failed.status, started) == (JobStatus.FAILED, True)
    assert failed.status_reason


def test_the_aws_signer_keeps_no_seals_and_refuses_local_files(tmp_path):
    signer = AwsSigner.__new__(AwsSigner)  # no clients needed: nothing is called
    assert signer.seal_signed(tmp_path / "a.zip", {}, "k") is None
    assert signer.sealed_facts(tmp_path / "a.zip", {}, "k", name="a") is None
    assert signer.default_signing_destination() is None
    with pytest.raises(ValidationError, match="aws backend verifies signed S3 objects"):
        signer.file_facts(tmp_path / "a.zip", name="a")


class _SignsSomewhere:
    """A Signer part whose jobs write to a directory of its own by default."""

    def default_signing_destination(self) -> str | None:
        return "/signed/here"


def test_a_signed_package_asks_the_backend_where_jobs_write(tmp_path):
    assert _signing_destination({}, _SignsSomewhere()) == "/signed/here"
    local = LocalBackend(tmp_path / "keys")
    assert _signing_destination({}, local) == str(local.store.home / "artifacts")
    assert _signing_destination({"destination": "s3://b/p"}, local) == "s3://b/p"
    aws = AwsBackend.__new__(AwsBackend)
    with pytest.raises(ValidationError, match="the aws backend needs"):
        _signing_destination({}, aws)
