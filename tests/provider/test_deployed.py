"""provider/deployed.py: deployed code's signer from Lambda's own fields, as the facts the one
decision judges. The signer part is the real local backend (its jobs, profiles and
revocations); the configurations are Lambda's shapes (GetFunction, ListFunctions)."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from local_keystore import T0, Keystore

from provider.backends.values import SigningJob
from provider.deployed import (
    DeployedArtifact,
    deployed_artifacts,
    deployed_layer_version,
    facts_of_deployed,
    matches_signed_object,
)
from provider.errors import ValidationError
from provider.prediction import KnownConfig, predict
from provider.statuses import ArtifactKind
from provider.validity import ValidityPeriod
from provider.verdict import Check, CheckState, CscPolicy, Decision, decide

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:checkout"
LAYER_ARN = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"


def _sha256(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


class Deployed:
    """A package signed by the keystore's ``publisher``, as Lambda would report it deployed."""

    def __init__(self, ks: Keystore, source: Path, *, profile: str = "publisher") -> None:
        self.ks = ks
        self.job = ks.sign(source, profile=profile)
        assert self.job["status"] == "Succeeded", self.job
        self.path = Path(self.job["signedObject"]["path"])
        location = ks.backend.location
        self.version_arn = location.profile_version_arn(profile, self.job["profileVersion"])
        self.job_arn = (
            f"arn:aws:signer:{location.region}:{location.account}:/signing-jobs/{self.job['jobId']}"
        )

    def configuration(self, **extra: Any) -> dict[str, Any]:
        return {
            "FunctionName": "checkout",
            "FunctionArn": FUNCTION_ARN,
            "CodeSha256": _sha256(self.path),
            "SigningProfileVersionArn": self.version_arn,
            "SigningJobArn": self.job_arn,
            **extra,
        }

    def artifact(self, **extra: Any) -> DeployedArtifact:
        return deployed_artifacts(self.configuration(**extra))[0]

    def signed_sha256(self, job: SigningJob) -> str | None:
        assert job.signed_object is not None and job.signed_object.path is not None
        return _sha256(Path(job.signed_object.path))


@pytest.fixture
def deployed(ks: Keystore, make_zip: Any) -> Deployed:
    return Deployed(ks, make_zip())


def _enforce(arn: str) -> CscPolicy:
    return CscPolicy((arn,), "Enforce")


def test_code_first_then_each_layer_with_their_signers(deployed: Deployed) -> None:
    configuration = deployed.configuration(
        Layers=[
            {
                "Arn": LAYER_ARN,
                "CodeSize": 10,
                "SigningProfileVersionArn": deployed.version_arn,
                "SigningJobArn": deployed.job_arn,
            },
            {"Arn": LAYER_ARN.replace(":3", ":4"), "CodeSize": 10},
        ]
    )
    code, signed_layer, unsigned_layer = deployed_artifacts(configuration)
    assert code == DeployedArtifact(
        ArtifactKind.FUNCTION,
        FUNCTION_ARN,
        _sha256(deployed.path),
        deployed.version_arn,
        deployed.job_arn,
    )
    assert code.job_id == deployed.job["jobId"] and code.signed
    assert signed_layer.kind is ArtifactKind.LAYER and signed_layer.arn == LAYER_ARN
    assert signed_layer.job_id == deployed.job["jobId"] and signed_layer.code_sha256 is None
    assert not unsigned_layer.signed and unsigned_layer.job_id is None
    # GetFunction's whole answer reads through its Configuration
    assert deployed_artifacts({"Configuration": configuration, "Code": {}}) == (
        code,
        signed_layer,
        unsigned_layer,
    )


def test_a_layer_version_content_gives_its_sha_and_signer(deployed: Deployed) -> None:
    layer = deployed_layer_version(
        {
            "LayerVersionArn": LAYER_ARN,
            "Content": {
                "CodeSha256": "abc=",
                "SigningProfileVersionArn": deployed.version_arn,
                "SigningJobArn": deployed.job_arn,
            },
        }
    )
    assert (layer.kind, layer.arn, layer.code_sha256) == (ArtifactKind.LAYER, LAYER_ARN, "abc=")
    assert layer.signing_profile_version_arn == deployed.version_arn


def test_a_configuration_without_arn_or_a_layer_without_arn_is_refused() -> None:
    with pytest.raises(ValidationError, match="FunctionArn"):
        deployed_artifacts({"FunctionName": "x"})
    with pytest.raises(ValidationError, match=r"Layers\[0\]"):
        deployed_artifacts({"FunctionArn": FUNCTION_ARN, "Layers": [{"CodeSize": 1}]})


def test_signed_code_gets_its_signer_times_and_passes_under_a_config_listing_it(
    deployed: Deployed,
) -> None:
    facts = facts_of_deployed(
        deployed.artifact(),
        deployed.ks.backend,
        name="function checkout",
        signed_sha256=deployed.signed_sha256,
    )
    assert facts.signed and facts.profile_version_arn == deployed.version_arn
    assert facts.job_id == deployed.job["jobId"]
    assert facts.signed_at == T0
    assert facts.expires_at is not None and facts.expires_at > T0 + timedelta(days=365)
    assert facts.unknown == frozenset() and facts.integrity_error is None
    assert decide(facts, _enforce(deployed.version_arn), T0).decision is Decision.ALLOW
    other = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/other/ABCDEFGHIJ"
    verdict = decide(facts, _enforce(other), T0)
    assert verdict.decision is Decision.REJECT and verdict.checks[Check.MISMATCH] is (
        CheckState.FAILED
    )


def test_no_fields_is_unsigned(deployed: Deployed) -> None:
    artifact = deployed_artifacts({"FunctionArn": FUNCTION_ARN, "CodeSha256": "x="})[0]
    facts = facts_of_deployed(artifact, deployed.ks.backend, name="function checkout")
    assert not facts.signed
    verdict = decide(facts, _enforce(deployed.version_arn), T0)
    assert verdict.decision is Decision.REJECT
    assert [f.message for f in verdict.failed] == ["the package is not signed"]


def test_an_expiring_signature_is_judged_by_the_jobs_expiry(ks: Keystore, make_zip: Any) -> None:
    ks.add_profile("shortlived", validity=ValidityPeriod(30, "DAYS"))
    deployed = Deployed(ks, make_zip(), profile="shortlived")
    facts = facts_of_deployed(deployed.artifact(), ks.backend, name="function checkout")
    assert facts.expires_at == T0 + timedelta(days=30)
    policy = _enforce(deployed.version_arn)
    assert decide(facts, policy, T0 + timedelta(days=29)).decision is Decision.ALLOW
    later = decide(facts, policy, T0 + timedelta(days=31))
    assert later.decision is Decision.REJECT and later.failed[0].check is Check.EXPIRY


def test_a_revoked_signature_fails_revocation_with_its_reason(deployed: Deployed) -> None:
    deployed.ks.backend.revoke_signature(
        deployed.job["jobId"], "key leaked", now=T0 + timedelta(hours=1)
    )
    facts = facts_of_deployed(deployed.artifact(), deployed.ks.backend, name="function checkout")
    assert facts.signature_revoked_reason == "key leaked"
    verdict = decide(facts, CscPolicy((deployed.version_arn,), "Warn"), T0 + timedelta(hours=2))
    assert verdict.decision is Decision.WARN
    assert verdict.failed[0].check is Check.REVOCATION and "key leaked" in verdict.failed[0].message


def test_a_profile_revocation_counts_from_its_effective_time(deployed: Deployed) -> None:
    backend = deployed.ks.backend
    version = deployed.job["profileVersion"]
    backend.revoke_signing_profile(
        "publisher", version, "compromised", T0 + timedelta(minutes=5), now=T0 + timedelta(days=1)
    )
    facts = facts_of_deployed(deployed.artifact(), backend, name="function checkout")
    assert facts.profile_revoked_from == T0 + timedelta(minutes=5)
    # signed before the effective time: still trusted
    policy = _enforce(deployed.version_arn)
    assert decide(facts, policy, T0 + timedelta(days=2)).decision is Decision.ALLOW
    backend.revoke_signing_profile(
        "publisher", version, "compromised", T0 - timedelta(days=1), now=T0 + timedelta(days=1)
    )
    facts = facts_of_deployed(deployed.artifact(), backend, name="function checkout")
    verdict = decide(facts, policy, T0 + timedelta(days=2))
    assert verdict.decision is Decision.REJECT and verdict.failed[0].check is Check.REVOCATION


def test_code_changed_out_of_band_is_an_integrity_failure_under_any_policy(
    deployed: Deployed,
) -> None:
    changed = deployed.artifact(CodeSha256="bm90IHRoZSBzaWduZWQgb2JqZWN0")
    facts = facts_of_deployed(
        changed,
        deployed.ks.backend,
        name="function checkout",
        signed_sha256=deployed.signed_sha256,
    )
    assert facts.integrity_error is not None and "changed out of band" in facts.integrity_error
    verdict = decide(facts, CscPolicy((deployed.version_arn,), "Warn"), T0)
    assert verdict.decision is Decision.REJECT
    assert verdict.exception == "InvalidCodeSignatureException"
    job = deployed.ks.backend.signing_job(deployed.job["jobId"])
    assert matches_signed_object(changed, job, deployed.signed_sha256) is False
    assert matches_signed_object(deployed.artifact(), job, deployed.signed_sha256) is True
    # the signed object cannot be read: Lambda's word at deploy stands, the match unknown
    unknown = facts_of_deployed(
        changed, deployed.ks.backend, name="function checkout", signed_sha256=lambda _: None
    )
    assert unknown.integrity_error is None
    assert matches_signed_object(changed, job, lambda _: None) is None


def test_a_job_that_cannot_be_read_leaves_expiry_and_revocation_unknown(
    deployed: Deployed,
) -> None:
    missing = (
        "arn:aws:signer:us-east-1:123456789012:/signing-jobs/00000000-0000-0000-0000-000000000000"
    )
    artifact = deployed.artifact(SigningJobArn=missing)
    facts = facts_of_deployed(artifact, deployed.ks.backend, name="function checkout")
    assert facts.unknown == {Check.EXPIRY, Check.REVOCATION}
    assert facts.undecided is not None and "cannot be read" in facts.undecided
    # the signer Lambda names still decides the mismatch check
    prediction = predict("function checkout", facts, KnownConfig.of(_enforce("arn:other")), T0)
    assert prediction.decision is Decision.REJECT
    prediction = predict(
        "function checkout", facts, KnownConfig.of(_enforce(deployed.version_arn)), T0
    )
    assert prediction.decision is Decision.UNKNOWN


def test_a_signer_the_job_does_not_confirm_is_an_integrity_failure(
    ks: Keystore, make_zip: Any
) -> None:
    deployed = Deployed(ks, make_zip())
    other = ks.add_profile("other_pub")["profileVersionArn"]
    facts = facts_of_deployed(
        deployed.artifact(SigningProfileVersionArn=other), ks.backend, name="function checkout"
    )
    assert facts.integrity_error is not None and "signed with profile 'publisher'" in (
        facts.integrity_error
    )


class Counting:
    """A signer part that counts its typed reads."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name in ("signing_job", "signing_profile"):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] += 1
                return attribute(*args, **kwargs)

            return counted
        return attribute


def test_one_job_and_one_profile_read_per_artifact_through_the_signer_given(
    deployed: Deployed,
) -> None:
    signer = Counting(deployed.ks.backend)
    facts_of_deployed(deployed.artifact(), signer, name="function checkout")
    assert signer.calls == {"signing_job": 1, "signing_profile": 1}
    signer.calls.clear()
    unsigned = deployed_artifacts({"FunctionArn": FUNCTION_ARN})[0]
    facts_of_deployed(unsigned, signer, name="function checkout")
    assert signer.calls == {}


def test_a_job_alone_names_its_signer(deployed: Deployed) -> None:
    """Only ``SigningJobArn`` reported: the job's own record names the profile version."""
    artifact = deployed.artifact(SigningProfileVersionArn=None)
    assert artifact.signed and artifact.signing_profile_version_arn is None
    facts = facts_of_deployed(artifact, deployed.ks.backend, name="function checkout")
    assert facts.profile_version_arn == deployed.version_arn and facts.unknown == frozenset()
    assert decide(facts, _enforce(deployed.version_arn), T0).decision is Decision.ALLOW
