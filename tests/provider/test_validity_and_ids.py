"""Validity periods, expiry arithmetic, instants, and the shapes of ids and ARNs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from provider import schemas
from provider.arns import (
    CSC_ARN_RE,
    PROFILE_VERSION_ARN_RE,
    Location,
    check_csc_arn,
    check_profile_name,
    check_profile_version,
    new_csc_id,
    new_job_id,
    new_profile_version,
    parse_profile_version_arn,
)
from provider.clock import add_months, format_instant, parse_instant
from provider.errors import ValidationError
from provider.validity import ValidityPeriod

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

# --- validity bounds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [(1, "DAYS"), (4109, "DAYS"), (1, "MONTHS"), (135, "MONTHS"), (1, "YEARS"), (11, "YEARS")],
)
def test_validity_within_bounds_is_accepted(value, kind):
    period = ValidityPeriod(value, kind)

    assert period.to_document() == {"value": value, "type": kind}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (0, "DAYS"),
        (4110, "DAYS"),
        (0, "MONTHS"),
        (136, "MONTHS"),
        (0, "YEARS"),
        (12, "YEARS"),
        (-1, "DAYS"),
    ],
)
def test_validity_out_of_bounds_is_refused_naming_the_field(value, kind):
    with pytest.raises(ValidationError, match="signatureValidityPeriod") as raised:
        ValidityPeriod(value, kind)

    assert "135 months" in raised.value.message


@pytest.mark.parametrize(
    ("value", "kind", "fragment"),
    [
        (1, "WEEKS", "type"),
        (1, "days", "type"),
        (True, "DAYS", "value"),
        (1.5, "DAYS", "value"),
        ("3", "DAYS", "value"),
    ],
)
def test_validity_with_a_bad_type_or_value_is_refused(value, kind, fragment):
    with pytest.raises(ValidationError, match=rf"signatureValidityPeriod\.{fragment}"):
        ValidityPeriod(value, kind)


def test_default_validity_is_135_months():
    assert (
        ValidityPeriod.from_document(None)
        == ValidityPeriod.default()
        == ValidityPeriod(135, "MONTHS")
    )


def test_shorthand_is_parsed_case_insensitively_for_the_type():
    assert ValidityPeriod.parse_shorthand("value=12,type=months") == ValidityPeriod(12, "MONTHS")
    assert ValidityPeriod.parse_shorthand(" type=DAYS , value=3 ") == ValidityPeriod(3, "DAYS")


@pytest.mark.parametrize(
    "text", ["12 MONTHS", "value=12", "value=x,type=DAYS", "value=1,type=DAYS,extra=1", ""]
)
def test_bad_shorthand_names_the_option(text):
    with pytest.raises(ValidationError, match="--signature-validity-period"):
        ValidityPeriod.parse_shorthand(text)


# --- expiry arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "period", "expires"),
    [
        (T0, ValidityPeriod(1, "DAYS"), T0 + timedelta(days=1)),
        (T0, ValidityPeriod(4109, "DAYS"), T0 + timedelta(days=4109)),
        (
            datetime(2026, 1, 31, 9, 30, tzinfo=UTC),
            ValidityPeriod(1, "MONTHS"),
            datetime(2026, 2, 28, 9, 30, tzinfo=UTC),
        ),
        (
            datetime(2028, 1, 31, tzinfo=UTC),
            ValidityPeriod(1, "MONTHS"),
            datetime(2028, 2, 29, tzinfo=UTC),
        ),
        (
            datetime(2026, 3, 31, tzinfo=UTC),
            ValidityPeriod(1, "MONTHS"),
            datetime(2026, 4, 30, tzinfo=UTC),
        ),
        (
            datetime(2026, 12, 15, tzinfo=UTC),
            ValidityPeriod(1, "MONTHS"),
            datetime(2027, 1, 15, tzinfo=UTC),
        ),
        (
            datetime(2028, 2, 29, tzinfo=UTC),
            ValidityPeriod(1, "YEARS"),
            datetime(2029, 2, 28, tzinfo=UTC),
        ),
        (T0, ValidityPeriod(135, "MONTHS"), datetime(2037, 4, 15, 12, 0, tzinfo=UTC)),
        (T0, ValidityPeriod(11, "YEARS"), datetime(2037, 1, 15, 12, 0, tzinfo=UTC)),
    ],
)
def test_expiry_is_signing_time_plus_validity(signed, period, expires):
    assert period.expiry_from(signed) == expires


def test_add_months_keeps_the_time_of_day_and_zone():
    start = datetime(2026, 5, 31, 23, 59, 59, 999000, tzinfo=UTC)

    assert add_months(start, 1) == datetime(2026, 6, 30, 23, 59, 59, 999000, tzinfo=UTC)
    assert add_months(start, 12) == datetime(2027, 5, 31, 23, 59, 59, 999000, tzinfo=UTC)


def test_a_signing_job_records_the_expiry_with_the_month_end_clamp(backend, make_zip, tmp_path):
    backend.put_signing_profile("monthly", validity=ValidityPeriod(1, "MONTHS"), now=T0)
    signed_at = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)

    job = backend.sign_package(make_zip(), str(tmp_path / "out"), "monthly", now=signed_at)

    assert job["signatureExpiresAt"] == "2026-02-28T10:00:00.000Z"


# --- instants -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-15T12:00:00Z",
        "2026-01-15T12:00:00z",
        "2026-01-15T12:00:00+00:00",
        "2026-01-15T13:00:00+01:00",
        "2026-01-15T12:00:00",
        " 2026-01-15T12:00:00.000Z ",
    ],
)
def test_instants_parse_to_utc(text):
    assert parse_instant(text, field="--at") == T0


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "", "12:00"])
def test_bad_instants_name_the_field(text):
    with pytest.raises(ValidationError, match="--at"):
        parse_instant(text, field="--at")


def test_instants_are_formatted_as_utc_milliseconds_with_z():
    local = datetime(2026, 1, 15, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))

    assert format_instant(local) == "2026-01-15T12:00:00.123Z"


# --- ids and ARNs -------------------------------------------------------------------------


def test_profile_versions_are_10_alphanumerics():
    versions = {new_profile_version() for _ in range(300)}

    assert len(versions) == 300
    assert all(len(v) == 10 and v.isascii() and v.isalnum() for v in versions)


def test_csc_ids_are_csc_and_17_characters():
    ids = {new_csc_id() for _ in range(300)}

    assert len(ids) == 300
    for csc_id in ids:
        assert csc_id.startswith("csc-") and len(csc_id) == 21
        check_csc_arn(Location("us-east-1", "000000000000").csc_arn(csc_id))


def test_job_ids_are_uuids():
    job_id = new_job_id()
    assert str(uuid.UUID(job_id)) == job_id


def test_location_arns_have_aws_shapes_and_match_the_schemas():
    where = Location("eu-west-3", "123456789012")
    version_arn = where.profile_version_arn("team_a", "AbCdE12345")
    document = {
        "arn": where.profile_arn("team_a"),
        "profileVersion": "AbCdE12345",
        "profileVersionArn": version_arn,
    }

    assert document["arn"] == "arn:aws:signer:eu-west-3:123456789012:/signing-profiles/team_a"
    assert version_arn == document["arn"] + "/AbCdE12345"
    assert PROFILE_VERSION_ARN_RE.match(version_arn)
    assert list(schemas.validator("put-signing-profile-response").iter_errors(document)) == []
    csc_arn = where.csc_arn("csc-0123456789abcdef0")
    assert (
        csc_arn == "arn:aws:lambda:eu-west-3:123456789012:code-signing-config:csc-0123456789abcdef0"
    )
    assert CSC_ARN_RE.match(csc_arn)
    assert where.function_arn("fn") == "arn:aws:lambda:eu-west-3:123456789012:function:fn"


def test_parse_profile_version_arn_splits_the_parts():
    ref = parse_profile_version_arn(
        "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a/AbCdE12345"
    )

    assert (ref.region, ref.account, ref.name, ref.version) == (
        "us-east-1",
        "000000000000",
        "team_a",
        "AbCdE12345",
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a",
        "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a/short",
        "arn:aws:signer:us-east-1:00000000000:/signing-profiles/team_a/AbCdE12345",
        "arn:aws:lambda:us-east-1:000000000000:/signing-profiles/team_a/AbCdE12345",
        "arn:aws:signer:us-east-1:000000000000:/signing-profiles/a/AbCdE12345",
        "",
    ],
)
def test_malformed_profile_version_arns_are_refused(arn):
    with pytest.raises(ValidationError, match="SigningProfileVersionArns"):
        parse_profile_version_arn(arn)


@pytest.mark.parametrize("name", ["ab", "A_1", "x" * 64, "__", "Team_Prod_2026"])
def test_good_profile_names(name):
    assert check_profile_name(name) == name


@pytest.mark.parametrize("name", ["a", "x" * 65, "has-dash", "has space", "naïve", "", "a.b"])
def test_bad_profile_names_name_the_field(name):
    with pytest.raises(ValidationError, match="profileName"):
        check_profile_name(name)


@pytest.mark.parametrize("version", ["AbCdE1234", "AbCdE123456", "AbCdE_1234", ""])
def test_bad_profile_versions_name_the_field(version):
    with pytest.raises(ValidationError, match="profileVersion"):
        check_profile_version(version)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef",
        "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef01",
        "arn:aws:lambda:us-east-1:000000000000:function:csc-0123456789abcdef0",
        "csc-0123456789abcdef0",
    ],
)
def test_bad_csc_arns_name_the_field(arn):
    with pytest.raises(ValidationError, match="CodeSigningConfigArn"):
        check_csc_arn(arn)


def test_days_in_month_is_calendars_for_every_month_of_every_year():
    import calendar

    from provider.clock import days_in_month

    for year in range(1, 10000):
        for month in range(1, 13):
            assert days_in_month(year, month) == calendar.monthrange(year, month)[1]
