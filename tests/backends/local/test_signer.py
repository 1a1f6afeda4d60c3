"""The local backend's Signer operations: profiles, revocation, signing jobs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provider import schemas
from provider.backends.local import LocalBackend
from provider.errors import ConflictError, NotFoundError, ValidationError
from provider.validity import ValidityPeriod

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _valid(document: dict, schema: str) -> dict:
    errors = [e.message for e in schemas.validator(schema).iter_errors(document)]
    assert errors == [], errors
    return document


# --- profiles -------------------------------------------------------------------------------


def test_put_profile_returns_arns_of_aws_shape(backend):
    response = _valid(backend.put_signing_profile("team_a", now=T0), "put-signing-profile-response")

    assert re.fullmatch(r"[A-Za-z0-9]{10}", response["profileVersion"])
    assert response["arn"] == "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a"
    assert response["profileVersionArn"] == f"{response['arn']}/{response['profileVersion']}"


def test_region_comes_from_the_backend(home):
    response = LocalBackend(home, region="eu-central-1").put_signing_profile("team_a", now=T0)

    assert response["arn"].startswith("arn:aws:signer:eu-central-1:")


def test_get_profile_describes_it(ks):
    profile = _valid(ks.backend.get_signing_profile("publisher"), "signing-profile")

    assert profile["status"] == "Active"
    assert profile["platformId"] == "AWSLambda-SHA384-ECDSA"
    assert profile["signatureValidityPeriod"] == {"value": 135, "type": "MONTHS"}
    assert profile["profileVersionArn"] == ks.arn


def test_put_profile_keeps_the_given_validity(backend):
    backend.put_signing_profile("weekly", validity=ValidityPeriod(7, "DAYS"), now=T0)

    profile = backend.get_signing_profile("weekly")

    assert profile["signatureValidityPeriod"] == {"value": 7, "type": "DAYS"}


@pytest.mark.parametrize("name", ["a", "x" * 65, "with-dash", "with space", ""])
def test_put_profile_refuses_bad_names(backend, name):
    with pytest.raises(ValidationError, match="profileName"):
        backend.put_signing_profile(name, now=T0)


@pytest.mark.parametrize("name", ["ab", "x" * 64, "Team_1"])
def test_put_profile_accepts_names_at_the_bounds(backend, name):
    assert backend.put_signing_profile(name, now=T0)["arn"].endswith("/" + name)


def test_put_profile_refuses_another_platform(backend):
    with pytest.raises(ValidationError, match="platformId"):
        backend.put_signing_profile(
            "team_a", platform_id="AWSIoTDeviceManagement-SHA256-ECDSA", now=T0
        )


def test_a_profile_name_cannot_be_reused(ks):
    with pytest.raises(ConflictError, match="already exists"):
        ks.backend.put_signing_profile("publisher", now=T0)


def test_a_profile_name_cannot_be_reused_after_cancel(ks):
    ks.backend.cancel_signing_profile("publisher", now=T0)

    with pytest.raises(ConflictError, match="Canceled"):
        ks.backend.put_signing_profile("publisher", now=T0)
    assert ks.backend.get_signing_profile("publisher")["profileVersionArn"] == ks.arn


def test_get_unknown_profile_is_not_found(backend):
    with pytest.raises(NotFoundError, match="nobody"):
        backend.get_signing_profile("nobody")


def test_get_profile_of_another_account_is_not_found(ks):
    assert ks.backend.get_signing_profile("publisher", profile_owner="000000000000")
    with pytest.raises(NotFoundError, match="111111111111"):
        ks.backend.get_signing_profile("publisher", profile_owner="111111111111")
    with pytest.raises(ValidationError, match="profileOwner"):
        ks.backend.get_signing_profile("publisher", profile_owner="12345")


def test_list_hides_canceled_profiles_unless_asked(ks):
    ks.add_profile("second")
    ks.backend.cancel_signing_profile("second", now=T0)

    listed = _valid(ks.backend.list_signing_profiles(), "list-signing-profiles-response")
    everything = _valid(
        ks.backend.list_signing_profiles(include_canceled=True), "list-signing-profiles-response"
    )

    assert [p["profileName"] for p in listed["profiles"]] == ["publisher"]
    assert {p["profileName"]: p["status"] for p in everything["profiles"]} == {
        "publisher": "Active",
        "second": "Canceled",
    }


def test_a_canceled_profile_starts_no_job(ks, make_zip):
    ks.backend.cancel_signing_profile("publisher", now=T0)

    with pytest.raises(ValidationError, match="Canceled"):
        ks.sign(make_zip())
    assert not (ks.workdir / "signed").exists()


def test_a_revoked_profile_starts_no_job(ks, make_zip):
    ks.backend.revoke_signing_profile(
        "publisher", ks.profile["profileVersion"], "retired", T0, now=T0
    )

    with pytest.raises(ValidationError, match="Revoked"):
        ks.sign(make_zip(), now=T0 + HOUR)


# --- profile revocation ---------------------------------------------------------------------


def _revoke(ks, reason="key leaked", effective=T0, now=T0 + HOUR, version=None):
    ks.backend.revoke_signing_profile(
        "publisher", version or ks.profile["profileVersion"], reason, effective, now=now
    )


@pytest.mark.parametrize("reason", ["x", "r" * 500])
def test_revocation_reasons_of_1_to_500_characters_are_accepted(ks, reason):
    _revoke(ks, reason=reason)

    profile = _valid(ks.backend.get_signing_profile("publisher"), "signing-profile")
    assert profile["status"] == "Revoked"
    assert profile["statusReason"] == reason
    assert profile["revocationRecord"]["revocationEffectiveFrom"] == "2026-01-15T12:00:00.000Z"
    assert profile["revocationRecord"]["revokedAt"] == "2026-01-15T13:00:00.000Z"


@pytest.mark.parametrize("reason", ["", "r" * 501])
def test_revocation_reasons_outside_1_to_500_are_refused(ks, reason):
    with pytest.raises(ValidationError, match="reason"):
        _revoke(ks, reason=reason)
    assert ks.backend.get_signing_profile("publisher")["status"] == "Active"


def test_a_revocation_cannot_take_effect_in_the_future(ks):
    with pytest.raises(ValidationError, match="effectiveTime"):
        _revoke(ks, effective=T0 + 2 * HOUR, now=T0 + HOUR)
    assert ks.backend.get_signing_profile("publisher")["status"] == "Active"


def test_a_revocation_can_take_effect_now(ks):
    _revoke(ks, effective=T0 + HOUR, now=T0 + HOUR)

    assert ks.backend.get_signing_profile("publisher")["status"] == "Revoked"


def test_a_revocation_cannot_move_later(ks):
    _revoke(ks, effective=T0)

    with pytest.raises(ValidationError, match="only move earlier"):
        _revoke(ks, effective=T0 + HOUR / 2)
    record = ks.backend.get_signing_profile("publisher")["revocationRecord"]
    assert record["revocationEffectiveFrom"] == "2026-01-15T12:00:00.000Z"


def test_a_revocation_can_move_earlier(ks):
    _revoke(ks, effective=T0)

    _revoke(ks, effective=T0 - 24 * HOUR, now=T0 + 2 * HOUR)

    record = ks.backend.get_signing_profile("publisher")["revocationRecord"]
    assert record["revocationEffectiveFrom"] == "2026-01-14T12:00:00.000Z"


def test_revoking_an_unknown_version_is_not_found(ks):
    with pytest.raises(NotFoundError, match="ZZZZZZZZZZ"):
        _revoke(ks, version="ZZZZZZZZZZ")


def test_revoking_a_malformed_version_names_the_field(ks):
    with pytest.raises(ValidationError, match="profileVersion"):
        _revoke(ks, version="short")


def test_a_revoked_profile_is_still_listed(ks):
    _revoke(ks)

    profiles = ks.backend.list_signing_profiles()["profiles"]

    assert [(p["profileName"], p["status"]) for p in profiles] == [("publisher", "Revoked")]


# --- signing jobs ---------------------------------------------------------------------------


def test_a_signing_job_is_described_with_aws_shapes(ks, make_zip):
    source = make_zip()

    job = _valid(ks.sign(source, now=T0), "signing-job")

    assert job["status"] == "Succeeded"
    assert job["profileName"] == "publisher"
    assert job["profileVersion"] == ks.profile["profileVersion"]
    assert job["platformId"] == "AWSLambda-SHA384-ECDSA"
    assert job["jobOwner"] == "000000000000"
    assert job["createdAt"] == job["completedAt"] == "2026-01-15T12:00:00.000Z"
    assert job["signatureExpiresAt"] == "2037-04-15T12:00:00.000Z"  # + 135 months
    assert job["source"] == {"path": str(source)}
    assert ks.backend.describe_signing_job(job["jobId"]) == job


def test_the_signed_object_is_destination_prefix_job_id_zip(ks, make_zip):
    job = ks.sign(make_zip(), prefix="signed_")

    expected = (ks.workdir / "signed" / f"signed_{job['jobId']}.zip").resolve()
    assert Path(job["signedObject"]["path"]) == expected
    assert expected.is_file()
    assert [p.name for p in expected.parent.iterdir()] == [expected.name]


def test_a_failed_job_is_described_with_its_reason(ks, make_zip):
    job = _valid(ks.sign(make_zip({})), "signing-job")

    assert job["status"] == "Failed"
    assert "empty" in job["statusReason"]
    assert ks.backend.describe_signing_job(job["jobId"])["statusReason"] == job["statusReason"]


def test_a_client_request_token_makes_the_job_idempotent(ks, make_zip):
    source = make_zip()

    first = ks.sign(source, token="build-42")
    again = ks.sign(source, token="build-42", now=T0 + HOUR)

    assert again["jobId"] == first["jobId"]
    assert again["clientRequestToken"] == "build-42"
    assert again["createdAt"] == first["createdAt"]
    assert len(list((ks.workdir / "signed").iterdir())) == 1


def test_different_tokens_or_no_token_start_new_jobs(ks, make_zip):
    source = make_zip()

    ids = {ks.sign(source, token=t)["jobId"] for t in ("a", "b", None, None)}

    assert len(ids) == 4
    assert len(list((ks.workdir / "signed").iterdir())) == 4


def test_describe_unknown_job_is_not_found(backend):
    with pytest.raises(NotFoundError, match="does not exist"):
        backend.describe_signing_job("0f8fad5b-d9cb-469f-a165-70867728950e")


def test_signing_with_an_unknown_profile_is_not_found(backend, make_zip, tmp_path):
    with pytest.raises(NotFoundError, match="nobody"):
        backend.sign_package(make_zip(), str(tmp_path / "out"), "nobody", now=T0)


def test_signing_with_another_accounts_profile_is_not_found(ks, make_zip, tmp_path):
    with pytest.raises(NotFoundError, match="111111111111"):
        ks.backend.sign_package(
            make_zip(), str(tmp_path / "o"), "publisher", profile_owner="111111111111", now=T0
        )


# --- signature revocation -------------------------------------------------------------------


def test_revoke_signature_records_it_on_the_job(ks, make_zip):
    job = ks.sign(make_zip())

    ks.backend.revoke_signature(job["jobId"], "bad build", now=T0 + HOUR)

    described = _valid(ks.backend.describe_signing_job(job["jobId"]), "signing-job")
    assert described["revocationRecord"]["reason"] == "bad build"
    assert described["revocationRecord"]["revokedAt"] == "2026-01-15T13:00:00.000Z"


@pytest.mark.parametrize("reason", ["", "r" * 501])
def test_revoke_signature_reason_must_be_1_to_500(ks, make_zip, reason):
    job = ks.sign(make_zip())

    with pytest.raises(ValidationError, match="reason"):
        ks.backend.revoke_signature(job["jobId"], reason, now=T0)
    assert "revocationRecord" not in ks.backend.describe_signing_job(job["jobId"])


def test_revoke_signature_is_irreversible_and_once(ks, make_zip):
    job = ks.sign(make_zip())
    ks.backend.revoke_signature(job["jobId"], "first", now=T0)

    with pytest.raises(ConflictError, match="already revoked"):
        ks.backend.revoke_signature(job["jobId"], "second", now=T0)
    assert ks.backend.describe_signing_job(job["jobId"])["revocationRecord"]["reason"] == "first"


def test_a_failed_job_has_no_signature_to_revoke(ks, make_zip):
    job = ks.sign(make_zip({}))

    with pytest.raises(ValidationError, match="Failed"):
        ks.backend.revoke_signature(job["jobId"], "nothing to revoke", now=T0)


def test_revoke_signature_of_another_account_is_not_found(ks, make_zip):
    job = ks.sign(make_zip())

    with pytest.raises(NotFoundError):
        ks.backend.revoke_signature(job["jobId"], "x", job_owner="111111111111", now=T0)
