"""The local backend's Lambda side: code signing configs and a function registry that
accepts or rejects deployments as Lambda does."""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from provider import schemas
from provider.errors import ConflictError, DeploymentRejected, NotFoundError, ValidationError
from provider.verdict import INTEGRITY_EXCEPTION, VERIFICATION_EXCEPTION

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
METRIC = "SignatureValidationErrors"


def _arn(i: int) -> str:
    return f"arn:aws:signer:us-east-1:000000000000:/signing-profiles/p{i:02d}/AbCdE{i:05d}"


def _valid(document: dict, schema: str) -> dict:
    errors = [e.message for e in schemas.validator(schema).iter_errors(document)]
    assert errors == [], errors
    return document


def _sha384(path) -> str:
    return hashlib.sha384(path.read_bytes()).hexdigest()


@pytest.fixture
def csc(ks):
    """``csc(policy)`` creates a CSC allowing ``publisher`` and returns its ARN."""

    def create(policy: str = "Enforce", *arns: str) -> str:
        response = ks.backend.create_code_signing_config(
            list(arns or (ks.arn,)), policy=policy, now=T0
        )
        return response["CodeSigningConfig"]["CodeSigningConfigArn"]

    return create


# --- code signing configs -------------------------------------------------------------------


def test_create_csc_defaults_to_warn_and_has_aws_ids(backend):
    response = _valid(backend.create_code_signing_config([_arn(1)], now=T0), "code-signing-config")

    config = response["CodeSigningConfig"]
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert re.fullmatch(r"csc-[a-zA-Z0-9-_.]{17}", config["CodeSigningConfigId"])
    assert config["CodeSigningConfigArn"] == (
        "arn:aws:lambda:us-east-1:000000000000:code-signing-config:" + config["CodeSigningConfigId"]
    )
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [_arn(1)]}
    assert config["LastModified"] == "2026-01-15T12:00:00.000Z"
    assert config["Description"] == ""


@pytest.mark.parametrize("count", [1, 20])
def test_create_csc_accepts_1_to_20_publishers(backend, count):
    arns = [_arn(i) for i in range(count)]

    config = backend.create_code_signing_config(arns, policy="Enforce", now=T0)

    assert config["CodeSigningConfig"]["AllowedPublishers"]["SigningProfileVersionArns"] == arns


@pytest.mark.parametrize("count", [0, 21])
def test_create_csc_refuses_0_or_21_publishers(backend, count):
    with pytest.raises(ValidationError, match="SigningProfileVersionArns"):
        backend.create_code_signing_config([_arn(i) for i in range(count)], now=T0)
    assert backend.list_code_signing_configs() == {"CodeSigningConfigs": []}


def test_create_csc_refuses_duplicate_or_malformed_arns(backend):
    with pytest.raises(ValidationError, match="duplicates"):
        backend.create_code_signing_config([_arn(1), _arn(1)], now=T0)
    with pytest.raises(ValidationError, match="SigningProfileVersionArns"):
        backend.create_code_signing_config(["arn:aws:signer:nope"], now=T0)


def test_create_csc_description_up_to_256(backend):
    config = backend.create_code_signing_config([_arn(1)], description="d" * 256, now=T0)

    assert config["CodeSigningConfig"]["Description"] == "d" * 256
    with pytest.raises(ValidationError, match="Description"):
        backend.create_code_signing_config([_arn(1)], description="d" * 257, now=T0)


@pytest.mark.parametrize("policy", ["warn", "enforce", "ENFORCE", "Deny", ""])
def test_create_csc_policy_casing_is_strict(backend, policy):
    with pytest.raises(ValidationError, match="UntrustedArtifactOnDeployment"):
        backend.create_code_signing_config([_arn(1)], policy=policy, now=T0)


def test_get_csc_returns_what_create_returned(backend):
    created = backend.create_code_signing_config([_arn(1)], policy="Enforce", now=T0)
    arn = created["CodeSigningConfig"]["CodeSigningConfigArn"]

    assert backend.get_code_signing_config(arn) == created


def test_get_unknown_csc_is_not_found_and_a_bad_arn_is_invalid(backend):
    with pytest.raises(NotFoundError):
        backend.get_code_signing_config(
            "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
        )
    with pytest.raises(ValidationError, match="CodeSigningConfigArn"):
        backend.get_code_signing_config("csc-123")


def test_update_csc_changes_only_the_given_fields(backend):
    created = backend.create_code_signing_config([_arn(1)], description="first", now=T0)
    arn = created["CodeSigningConfig"]["CodeSigningConfigArn"]

    updated = _valid(
        backend.update_code_signing_config(arn, policy="Enforce", now=T0 + HOUR),
        "code-signing-config",
    )["CodeSigningConfig"]

    assert updated["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert updated["Description"] == "first"
    assert updated["AllowedPublishers"]["SigningProfileVersionArns"] == [_arn(1)]
    assert updated["LastModified"] == "2026-01-15T13:00:00.000Z"

    again = backend.update_code_signing_config(
        arn, allowed=[_arn(2), _arn(3)], description="", now=T0 + 2 * HOUR
    )["CodeSigningConfig"]
    assert again["AllowedPublishers"]["SigningProfileVersionArns"] == [_arn(2), _arn(3)]
    assert again["Description"] == ""
    assert again["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"


def test_an_invalid_update_changes_nothing(backend):
    created = backend.create_code_signing_config([_arn(1)], now=T0)
    arn = created["CodeSigningConfig"]["CodeSigningConfigArn"]

    with pytest.raises(ValidationError, match="SigningProfileVersionArns"):
        backend.update_code_signing_config(arn, allowed=[], now=T0 + HOUR)
    for policy in ("enforce", ""):
        with pytest.raises(ValidationError, match="UntrustedArtifactOnDeployment"):
            backend.update_code_signing_config(arn, policy=policy, now=T0 + HOUR)

    assert backend.get_code_signing_config(arn) == created


def test_list_and_delete_cscs(backend):
    arns = [
        backend.create_code_signing_config([_arn(i)], now=T0)["CodeSigningConfig"][
            "CodeSigningConfigArn"
        ]
        for i in range(3)
    ]
    listed = _valid(backend.list_code_signing_configs(), "list-code-signing-configs-response")
    assert sorted(c["CodeSigningConfigArn"] for c in listed["CodeSigningConfigs"]) == sorted(arns)

    backend.delete_code_signing_config(arns[1])

    remaining = backend.list_code_signing_configs()["CodeSigningConfigs"]
    assert sorted(c["CodeSigningConfigArn"] for c in remaining) == sorted([arns[0], arns[2]])
    with pytest.raises(NotFoundError):
        backend.get_code_signing_config(arns[1])
    with pytest.raises(NotFoundError):
        backend.delete_code_signing_config(arns[1])


def test_a_csc_in_use_cannot_be_deleted(ks, make_zip, csc):
    arn = csc("Enforce")
    ks.backend.create_function("fn", ks.signed(make_zip()), csc_arn=arn, now=T0)

    with pytest.raises(ConflictError) as refused:
        ks.backend.delete_code_signing_config(arn)

    assert refused.value.code == "ResourceConflictException"
    assert "fn" in refused.value.message
    assert ks.backend.get_code_signing_config(arn)
    ks.backend.delete_function_code_signing_config("fn")
    ks.backend.delete_code_signing_config(arn)
    with pytest.raises(NotFoundError):
        ks.backend.get_code_signing_config(arn)


# --- functions --------------------------------------------------------------------------------


def test_enforce_rejects_unsigned_code_and_creates_nothing(ks, make_zip, csc):
    with pytest.raises(DeploymentRejected) as rejected:
        ks.backend.create_function("fn", make_zip(), csc_arn=csc("Enforce"), now=T0)

    assert rejected.value.code == VERIFICATION_EXCEPTION
    assert "not signed" in rejected.value.message
    with pytest.raises(NotFoundError):
        ks.backend.get_function("fn")
    assert ks.backend.list_functions() == {"Functions": []}


def test_integrity_failures_are_rejected_even_under_warn(ks, make_zip, csc):
    package = ks.signed(make_zip({"app.py": b"print('trusted')"}, compression=zipfile.ZIP_STORED))
    package.write_bytes(package.read_bytes().replace(b"trusted", b"evil!!!"))

    with pytest.raises(DeploymentRejected) as rejected:
        ks.backend.create_function("fn", package, csc_arn=csc("Warn"), now=T0)

    assert rejected.value.code == INTEGRITY_EXCEPTION
    assert ks.backend.metric_count(METRIC) == 0


def test_signed_code_deploys_and_records_its_verdict(ks, make_zip, csc):
    package = ks.signed(make_zip())
    arn = csc("Enforce")

    function = _valid(ks.backend.create_function("fn", package, csc_arn=arn, now=T0), "function")

    assert function["CodeSigningConfigArn"] == arn
    assert function["CodeSha384"] == _sha384(package)
    assert function["LastVerdict"]["decision"] == "ALLOW"
    assert function["Warnings"] == []
    assert function["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"


def test_warn_deploys_unsigned_code_with_a_warning_and_a_metric(ks, make_zip, csc):
    arn = csc("Warn")

    function = ks.backend.create_function("fn", make_zip(), csc_arn=arn, now=T0)

    assert function["LastVerdict"]["decision"] == "WARN"
    assert len(function["Warnings"]) == 1 and "not signed" in function["Warnings"][0]
    assert ks.backend.metric_count(METRIC) == 1
    assert ks.backend.metric_count(METRIC, "fn") == 1
    assert ks.backend.metric_count(METRIC, "other") == 0

    ks.backend.update_function_code("fn", make_zip(name="v2.zip"), now=T0 + HOUR)
    assert ks.backend.metric_count(METRIC, "fn") == 2
    ks.backend.update_function_code("fn", ks.signed(make_zip(name="v3.zip")), now=T0 + HOUR)
    assert ks.backend.metric_count(METRIC, "fn") == 2
    assert ks.backend.get_function("fn")["Warnings"] == []


def test_a_function_without_csc_takes_any_code_unchecked(ks, make_zip):
    function = ks.backend.create_function("fn", make_zip(), now=T0)

    assert "CodeSigningConfigArn" not in function
    assert "LastVerdict" not in function
    assert ks.backend.metric_count(METRIC) == 0


def test_a_rejected_code_update_leaves_the_function_unchanged(ks, make_zip, csc):
    ks.backend.create_function("fn", ks.signed(make_zip()), csc_arn=csc("Enforce"), now=T0)
    before = ks.backend.get_function("fn")

    with pytest.raises(DeploymentRejected) as rejected:
        ks.backend.update_function_code("fn", make_zip(name="unsigned.zip"), now=T0 + HOUR)

    assert rejected.value.code == VERIFICATION_EXCEPTION
    assert ks.backend.get_function("fn") == before


def test_deployed_code_does_not_change_when_the_source_file_does(ks, make_zip):
    source = make_zip()
    function = ks.backend.create_function("fn", source, now=T0)
    source.write_bytes(b"overwritten")

    assert ks.backend.get_function("fn")["CodeSha384"] == function["CodeSha384"]


def test_function_names_are_validated_and_unique(ks, make_zip):
    with pytest.raises(ValidationError, match="FunctionName"):
        ks.backend.create_function("bad name!", make_zip(), now=T0)
    ks.backend.create_function("fn", make_zip(), now=T0)
    with pytest.raises(ConflictError) as conflict:
        ks.backend.create_function("fn", make_zip(), now=T0)
    assert conflict.value.code == "ResourceConflictException"


def test_create_function_with_an_unknown_csc_is_not_found(ks, make_zip):
    with pytest.raises(NotFoundError):
        ks.backend.create_function(
            "fn",
            make_zip(),
            csc_arn="arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0",
            now=T0,
        )


# --- layers -----------------------------------------------------------------------------------


def test_an_unsigned_layer_is_rejected_on_an_enforce_function(ks, make_zip, csc):
    layer = ks.backend.publish_layer_version("deps", make_zip(name="layer.zip"), now=T0)
    assert layer["Version"] == 1

    with pytest.raises(DeploymentRejected) as rejected:
        ks.backend.create_function(
            "fn",
            ks.signed(make_zip()),
            csc_arn=csc("Enforce"),
            layers=[layer["LayerVersionArn"]],
            now=T0,
        )

    assert rejected.value.code == VERIFICATION_EXCEPTION
    assert "layer" in rejected.value.message
    with pytest.raises(NotFoundError):
        ks.backend.get_function("fn")


def test_a_signed_layer_is_accepted(ks, make_zip, csc):
    layer = ks.backend.publish_layer_version("deps", ks.signed(make_zip(name="layer.zip")), now=T0)

    function = ks.backend.create_function(
        "fn",
        ks.signed(make_zip()),
        csc_arn=csc("Enforce"),
        layers=[layer["LayerVersionArn"]],
        now=T0,
    )

    assert [entry["Location"] for entry in function["Layers"]] == [layer["LayerVersionArn"]]
    assert function["Layers"][0]["CodeSha384"] == layer["Content"]["CodeSha384"]


def test_layer_versions_count_up(ks, make_zip):
    first = ks.backend.publish_layer_version("deps", make_zip(name="a.zip"), now=T0)
    second = ks.backend.publish_layer_version("deps", make_zip(name="b.zip"), now=T0)

    assert (first["Version"], second["Version"]) == (1, 2)
    assert second["LayerVersionArn"] == ("arn:aws:lambda:us-east-1:000000000000:layer:deps:2")


def test_update_configuration_checks_new_layers(ks, make_zip, csc):
    signed_layer = ks.backend.publish_layer_version(
        "deps", ks.signed(make_zip(name="l1.zip")), now=T0
    )["LayerVersionArn"]
    unsigned_layer = ks.backend.publish_layer_version("deps", make_zip(name="l2.zip"), now=T0)[
        "LayerVersionArn"
    ]
    ks.backend.create_function(
        "fn", ks.signed(make_zip()), csc_arn=csc("Enforce"), layers=[signed_layer], now=T0
    )
    before = ks.backend.get_function("fn")

    with pytest.raises(DeploymentRejected):
        ks.backend.update_function_configuration(
            "fn", layers=[signed_layer, unsigned_layer], now=T0 + HOUR
        )
    assert ks.backend.get_function("fn") == before

    ks.backend.update_function_configuration("fn", layers=[], now=T0 + HOUR)
    assert ks.backend.get_function("fn")["Layers"] == []


def test_an_unsigned_layer_under_warn_deploys_with_a_warning(ks, make_zip, csc):
    layer = ks.backend.publish_layer_version("deps", make_zip(name="layer.zip"), now=T0)

    function = ks.backend.create_function(
        "fn",
        ks.signed(make_zip()),
        csc_arn=csc("Warn"),
        layers=[layer["LayerVersionArn"]],
        now=T0,
    )

    assert len(function["Warnings"]) == 1 and "layer" in function["Warnings"][0]
    assert ks.backend.metric_count(METRIC, "fn") == 1


# --- function code signing config ------------------------------------------------------------


def test_put_get_delete_function_code_signing_config(ks, make_zip, csc):
    ks.backend.create_function("fn", make_zip(), now=T0)
    arn = csc("Warn")

    assert ks.backend.put_function_code_signing_config("fn", arn) == {
        "CodeSigningConfigArn": arn,
        "FunctionName": "fn",
    }
    assert ks.backend.get_function_code_signing_config("fn")["CodeSigningConfigArn"] == arn
    assert ks.backend.get_function("fn")["CodeSigningConfigArn"] == arn

    ks.backend.delete_function_code_signing_config("fn")

    assert ks.backend.get_function_code_signing_config("fn")["CodeSigningConfigArn"] == ""
    assert "CodeSigningConfigArn" not in ks.backend.get_function("fn")


def test_attaching_a_csc_affects_only_the_next_deployment(ks, make_zip, csc):
    unsigned = make_zip(name="v1.zip")
    ks.backend.create_function("fn", unsigned, now=T0)
    deployed = ks.backend.get_function("fn")

    ks.backend.put_function_code_signing_config("fn", csc("Enforce"))

    still = ks.backend.get_function("fn")
    assert still["CodeSha384"] == deployed["CodeSha384"] == _sha384(unsigned)
    assert still["LastModified"] == deployed["LastModified"]
    with pytest.raises(DeploymentRejected):
        ks.backend.update_function_code("fn", make_zip(name="v2.zip"), now=T0 + HOUR)
    assert ks.backend.get_function("fn")["CodeSha384"] == _sha384(unsigned)
    signed = ks.signed(make_zip(name="v3.zip"))
    assert ks.backend.update_function_code("fn", signed, now=T0 + HOUR)["CodeSha384"] == (
        _sha384(signed)
    )


def test_tightening_a_csc_affects_only_the_next_deployment(ks, make_zip, csc):
    arn = csc("Warn")
    ks.backend.create_function("fn", make_zip(), csc_arn=arn, now=T0)
    deployed = ks.backend.get_function("fn")

    ks.backend.update_code_signing_config(arn, policy="Enforce", now=T0 + HOUR)

    assert ks.backend.get_function("fn") == deployed
    with pytest.raises(DeploymentRejected):
        ks.backend.update_function_code("fn", make_zip(name="v2.zip"), now=T0 + 2 * HOUR)


def test_putting_an_unknown_csc_on_a_function_is_not_found(ks, make_zip):
    ks.backend.create_function("fn", make_zip(), now=T0)

    with pytest.raises(NotFoundError):
        ks.backend.put_function_code_signing_config(
            "fn", "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
        )


def test_deleting_a_function_frees_its_csc(ks, make_zip, csc):
    arn = csc("Warn")
    ks.backend.create_function("fn", make_zip(), csc_arn=arn, now=T0)

    ks.backend.delete_function("fn")

    ks.backend.delete_code_signing_config(arn)
    with pytest.raises(NotFoundError):
        ks.backend.get_function("fn")


#: What CDK writes for an imported signing profile's version: Lambda accepts it (botocore's
#: lambda shape ``Arn``) though it is no profile version ARN, so no signature matches it.
CDK_PUBLISHER = "arn:aws:signer:us-east-1:123456789012://signing-profiles/N/V"


def test_a_publisher_lambda_accepts_is_kept_and_matches_no_signature(
    ks, make_zip, csc, tmp_path, capsys
):
    from sam_ext.cli import main

    status = main(
        [
            "--home",
            str(ks.backend.store.home),
            "csc",
            "create",
            "--allowed-publishers",
            f"SigningProfileVersionArns={CDK_PUBLISHER}",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    assert CDK_PUBLISHER in out
    package = ks.signed(make_zip())
    enforce = csc("Enforce", CDK_PUBLISHER)
    with pytest.raises(DeploymentRejected) as rejected:
        ks.backend.create_function("strict", package, csc_arn=enforce, now=T0)
    assert rejected.value.code == VERIFICATION_EXCEPTION and "mismatch" in str(rejected.value)
    warned = ks.backend.create_function(
        "lenient", package, csc_arn=csc("Warn", CDK_PUBLISHER), now=T0
    )
    assert warned["LastVerdict"]["decision"] == "WARN"
    assert "not among the code signing config's allowed publishers" in warned["Warnings"][0]
    assert ks.backend.metric_count(METRIC, "lenient") == 1
    # what Lambda refuses is still refused, in one line naming the field
    with pytest.raises(ValidationError, match="SigningProfileVersionArns"):
        ks.backend.create_code_signing_config(["arn:aws:signer:mars-1:1:/x"], now=T0)
