"""The ``SignedPackage`` provider on ``codesign:backend aws``, its lifecycle methods called
directly (as tests/resources/test_providers.py does for local): moto S3 and Signer
profiles, the fake Signer for jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provider.backends.aws import S3Object
from provider.resources._base import UNKNOWN, CodesignStepError
from provider.resources.function import LambdaFunctionProvider
from provider.resources.layer import LayerVersionProvider
from provider.resources.signed_package import SignedPackageProvider, _destination_input
from provider.verdict import CscPolicy, Decision

from .conftest import BUCKET, NOW, AwsWorld

SETTINGS = {"backend": "aws", "home": None, "region": "us-east-1", "now": None}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A function's source directory."""
    directory = tmp_path / "src"
    directory.mkdir()
    (directory / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return directory


def inputs(source: Path, **overrides: Any) -> dict[str, Any]:
    """SignedPackage inputs on the aws backend."""
    return {
        "source": str(source),
        "profile_name": "publisher",
        "profile_owner": None,
        "destination": f"s3://{BUCKET}/signed",
        "signature_revocation": None,
        "settings": SETTINGS,
        **overrides,
    }


def test_create_signs_into_s3_and_fills_the_s3_outputs(cli_world: AwsWorld, source: Path) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    provider = SignedPackageProvider()
    checked = provider.check({}, inputs(source))
    assert checked.failures == []
    assert checked.inputs["profile_version_arn"] == arn
    assert len(checked.inputs["source_hash"]) == 96

    outs = provider.create(checked.inputs).outs or {}
    job_id = outs["job_id"]
    assert outs["bucket"] == BUCKET
    assert outs["key"] == f"signed/signed_{job_id}.zip"
    assert outs["location"] == f"s3://{BUCKET}/signed/signed_{job_id}.zip"
    assert outs["object_version"]
    # What a LambdaFunction or LayerVersion given the package deploys: that version.
    assert outs["deploy_location"] == f"{outs['location']}?versionId={outs['object_version']}"
    assert outs["digest"] is None  # not downloaded back; object_version names the bytes
    assert outs["profile_version_arn"] == arn
    assert outs["signature_expires_at"] > outs["signed_at"]
    assert outs["revoked"] is False
    head = cli_world.s3.head_object(
        Bucket=BUCKET, Key=outs["key"], VersionId=outs["object_version"]
    )
    assert head["ContentLength"] > 0
    assert fake.started == 1

    # Read (refresh): the same outputs; DescribeSigningJob has no version, it is kept.
    read = provider.read(job_id, outs)
    assert read.id == job_id
    assert {k: (read.outs or {})[k] for k in outs} == outs

    # An unchanged source: no diff, so no new job; a create again (what `pulumi up
    # --replace` does) signs anew.
    again = provider.check(outs, inputs(source))
    assert provider.diff(job_id, outs, again.inputs).changes is False
    assert fake.started == 1
    assert (provider.create(again.inputs).outs or {})["job_id"] != job_id
    assert fake.started == 2


def test_revocation_updates_in_place(cli_world: AwsWorld, source: Path) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("publisher")
    provider = SignedPackageProvider()
    checked = provider.check({}, inputs(source))
    outs = {**checked.inputs, **(provider.create(checked.inputs).outs or {})}
    news = provider.check(outs, inputs(source, signature_revocation={"reason": "leaked"})).inputs
    diff = provider.diff(outs["job_id"], outs, news)
    assert diff.changes is True and diff.replaces == []
    updated = provider.update(outs["job_id"], outs, news).outs or {}
    assert updated["revoked"] is True
    assert updated["object_version"] == outs["object_version"]

    # Revoked at create (a package signed and revoked in one update): the version stays.
    other = source / "more.py"
    other.write_text("X = 1\n")
    revoked = provider.check({}, inputs(source, signature_revocation={"reason": "test run"}))
    created = provider.create(revoked.inputs).outs or {}
    assert created["revoked"] is True and created["object_version"]
    assert created["job_id"] != outs["job_id"]


def test_destination_rules_on_aws(cli_world: AwsWorld, source: Path) -> None:
    cli_world.put_profile("publisher")
    provider = SignedPackageProvider()
    for destination, expected in (
        (None, "the aws backend needs an S3 location s3://BUCKET/PREFIX"),
        ("/tmp/signed", "'/tmp/signed' is not an S3 location"),
        ("s3://Bad_Bucket/x", "'Bad_Bucket' is not an S3 bucket name"),
    ):
        failures = provider.check({}, inputs(source, destination=destination)).failures
        assert [f.property for f in failures] == ["destination"], destination
        assert expected in failures[0].reason
        assert failures[0].reason.startswith("SignedPackage input destination")
    # Program side: stack config codesign:bucket gives s3://BUCKET/signed/ on aws only.
    assert _destination_input(None, "aws", "team-bucket") == "s3://team-bucket/signed/"
    assert _destination_input("s3://b-1/x", "aws", "team-bucket") == "s3://b-1/x"
    assert _destination_input(None, "local", "team-bucket") is None


def test_an_unversioned_bucket_fails_the_step_with_the_fix(
    cli_world: AwsWorld, source: Path
) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("publisher")
    cli_world.s3.create_bucket(Bucket="plain-bucket")
    provider = SignedPackageProvider()
    checked = provider.check({}, inputs(source, destination="s3://plain-bucket/signed"))
    assert checked.failures == []
    with pytest.raises(CodesignStepError, match="versioning is not enabled"):
        provider.create(checked.inputs)


# --- LambdaFunction and LayerVersion on aws -------------------------------------------
ROLE_NAME = "codesign-test"


def signed(cli_world: AwsWorld, source: Path, **overrides: Any) -> dict[str, Any]:
    """A SignedPackage created on aws: its check's inputs and its outputs."""
    provider = SignedPackageProvider()
    checked = provider.check({}, inputs(source, **overrides))
    assert checked.failures == []
    return {**checked.inputs, **(provider.create(checked.inputs).outs or {})}


def versioned(package: dict[str, Any]) -> str:
    """What a program's LambdaFunction(code=package) passes on aws."""
    return str(package["deploy_location"])


def csc_state(arn: str, policy: str = "Enforce") -> dict[str, Any]:
    """A CodeSigningConfig created on aws (through the fake code signing configs)."""
    from provider.resources.code_signing_config import CodeSigningConfigProvider

    props = {
        "allowed_publishers": [arn],
        "publisher_refs": None,
        "policy": policy,
        "description": None,
        "settings": SETTINGS,
    }
    return {**props, **(CodeSigningConfigProvider().create(props).outs or {})}


def function_inputs(code: str | None, csc: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """LambdaFunction inputs on aws, with pulumi-aws's names for the settings."""
    return {
        "logical_name": "web",
        "name_seed": "seed",
        "function_name": None,
        "code": code,
        "code_package": None,
        "code_signing_config_arn": csc.get("arn"),
        "code_signing_policy": csc.get("policy"),
        "allowed_publishers": csc.get("allowed_publishers"),
        "publisher_refs": None,
        "layers": [],
        "settings": SETTINGS,
        **overrides,
    }


def layer_inputs(code: str, **overrides: Any) -> dict[str, Any]:
    """LayerVersion inputs on aws."""
    return {
        "logical_name": "deps",
        "name_seed": "seed",
        "layer_name": None,
        "code": code,
        "code_package": None,
        "compatible_runtimes": ["python3.12"],
        "license_info": "MIT",
        "description": None,
        "settings": SETTINGS,
        **overrides,
    }


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A layer's source directory."""
    directory = tmp_path / "lib" / "python"
    directory.mkdir(parents=True)
    (directory / "shared.py").write_text("X = 1\n")
    return directory.parent


def test_a_function_with_a_layer_is_deployed_predicted_and_refreshed_on_aws(
    cli_world: AwsWorld, source: Path, library: Path, role: str
) -> None:
    """The same provider code as on local, through the aws backend: moto's Lambda holds
    the function and layer; the fakes sign and keep the code signing configs."""
    fake = cli_world.fake_signer()
    cli_world.fake_code_signing()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    csc = csc_state(arn)
    code = signed(cli_world, source)
    layer_package = signed(cli_world, library)

    layers = LayerVersionProvider()
    layer_checked = layers.check({}, layer_inputs(versioned(layer_package)))
    assert layer_checked.failures == []
    assert layer_checked.inputs["code_id"] == versioned(layer_package)
    layer = {**layer_checked.inputs, **(layers.create(layer_checked.inputs).outs or {})}
    published = cli_world.lambda_.get_layer_version(
        LayerName=layer["layer_name"], VersionNumber=layer["version"]
    )
    assert published["CompatibleRuntimes"] == ["python3.12"]
    assert layers.read(layer["layer_version_arn"], layer).outs["version"] == layer["version"]

    provider = LambdaFunctionProvider()
    news = function_inputs(
        versioned(code),
        csc,
        layers=[
            {
                "arn": layer["layer_version_arn"],
                "name": layer["layer_name"],
                "code": layer["code_ref"],
                "package": None,
            }
        ],
        role=role,
        memory_size=256.0,  # Pulumi sends every number as a double
        timeout=10.0,
        environment={"variables": {"STAGE": "test"}},
        tags={"team": "a"},
        architectures=["arm64"],
    )
    checked = provider.check({}, news)
    assert checked.failures == []
    prediction = checked.inputs["predicted_verdict"]
    assert prediction["decision"] == "ALLOW", prediction
    assert [a["name"] for a in prediction["artifacts"]] == [
        f"function {checked.inputs['function_name']}",
        f"layer {layer['layer_version_arn']} of function {checked.inputs['function_name']}",
    ]

    created = {**checked.inputs, **(provider.create(checked.inputs).outs or {})}
    name = created["function_name"]
    deployed = cli_world.lambda_.get_function(FunctionName=name)["Configuration"]
    assert (deployed["MemorySize"], deployed["Timeout"], deployed["Architectures"]) == (
        256,
        10,
        ["arm64"],
    )
    assert deployed["Environment"]["Variables"] == {"STAGE": "test"}
    assert [entry["Arn"] for entry in deployed["Layers"]] == [layer["layer_version_arn"]]
    assert (
        cli_world.lambda_.get_function_code_signing_config(FunctionName=name)[
            "CodeSigningConfigArn"
        ]
        == csc["arn"]
    )
    assert created["verdict"]["decision"] == "ALLOW"
    assert created["deployed_code"] == versioned(code)
    assert created["deployed_code_standing"]["decision"] == "ALLOW"

    # An unchanged program: no diff; its preview judges the deployed code's standing.
    again = provider.check(created, news)
    assert provider.diff(name, created, again.inputs).changes is False
    assert again.inputs["findings"] == []
    assert provider.read(name, created).outs["drift"] == []

    # Out of band: the signature revoked, the config detached, other code deployed.
    cli_world.backend.revoke_signature(code["job_id"], "key leaked", now=NOW)
    revoked = provider.read(name, created).outs or {}
    assert revoked["deployed_code_standing"]["decision"] == "REJECT"
    [said] = revoked["drift"]
    assert "since the deploy" in said and "revocation" in said
    # The preview of an unchanged program: the deployed code's standing, as a warning.
    [standing] = provider.check({**created, **revoked}, news).inputs["findings"]
    assert standing["level"] == "warning" and "keeps running" in standing["message"]
    assert "key leaked" in standing["message"]
    cli_world.lambda_.delete_function_code_signing_config(FunctionName=name)
    other = S3Object(BUCKET, "other/app.zip")
    cli_world.s3.put_object(Bucket=BUCKET, Key=other.key, Body=b"PK\x05\x06" + b"\0" * 18)
    cli_world.lambda_.update_function_code(FunctionName=name, S3Bucket=BUCKET, S3Key=other.key)
    drifted = provider.read(name, created).outs or {}
    assert drifted["code_signing_config_arn"] is None
    assert drifted["code_id"] is None
    assert any("was detached out of band" in d for d in drifted["drift"])
    assert any("code changed out of band" in d for d in drifted["drift"])

    # The next up puts the program's back: the config attached, the code deployed again
    # (a new signature first: the old one is revoked, so the package is signed again).
    fresh = signed(cli_world, source)
    restored_news = provider.check(drifted, {**news, "code": versioned(fresh)}).inputs
    assert restored_news["predicted_verdict"]["decision"] == "ALLOW"
    assert provider.diff(name, drifted, restored_news).changes is True
    restored = provider.update(name, drifted, restored_news).outs or {}
    assert (
        cli_world.lambda_.get_function_code_signing_config(FunctionName=name)[
            "CodeSigningConfigArn"
        ]
        == csc["arn"]
    )
    assert restored["deployed_code"] == versioned(fresh)
    assert provider.read(name, {**restored_news, **restored}).outs["drift"] == []
    assert fake.started == 3

    provider.delete(name, restored)
    layers.delete(layer["layer_version_arn"], layer)
    assert cli_world.lambda_.list_functions()["Functions"] == []
    assert (
        cli_world.lambda_.list_layer_versions(LayerName=layer["layer_name"])["LayerVersions"] == []
    )


def test_a_create_lambda_refuses_fails_in_one_line_and_leaves_nothing(
    cli_world: AwsWorld, source: Path, role: str
) -> None:
    cli_world.fake_signer()
    cli_world.fake_code_signing()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    csc = csc_state(arn)
    code = signed(cli_world, source)
    provider = LambdaFunctionProvider()
    checked = provider.check({}, function_inputs(versioned(code), csc, role=role)).inputs
    stub = cli_world.stub_lambda("create_function")
    stub.add_client_error(
        "create_function",
        "CodeVerificationFailedException",
        "The code signature failed one or more validation checks for signature mismatch "
        "or expiry, and the code signing policy is set to ENFORCE.",
        400,
    )
    with pytest.raises(CodesignStepError) as raised:
        provider.create(checked)
    message = raised.value.message
    assert "\n" not in message
    assert f"function {checked['function_name']!r}: Lambda rejected CreateFunction" in message
    assert "CodeVerificationFailedException" in message and "Remedy:" in message
    stub.deactivate()
    assert cli_world.lambda_.list_functions()["Functions"] == []


def test_settings_and_layers_update_in_place_on_aws(
    cli_world: AwsWorld, source: Path, library: Path, role: str
) -> None:
    cli_world.fake_signer()
    cli_world.fake_code_signing()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    csc = csc_state(arn)
    code = signed(cli_world, source)
    provider = LambdaFunctionProvider()
    news = function_inputs(versioned(code), csc, role=role, memory_size=512.0, description="v1")
    checked = provider.check({}, news).inputs
    created = {**checked, **(provider.create(checked).outs or {})}
    name = created["function_name"]
    layer_package = signed(cli_world, library)
    layers = LayerVersionProvider()
    layer_checked = layers.check({}, layer_inputs(versioned(layer_package))).inputs
    layer = {**layer_checked, **(layers.create(layer_checked).outs or {})}

    # memory_size removed (back to Lambda's default), a new description, a layer added.
    changed = {k: v for k, v in news.items() if k != "memory_size"}
    changed.update(
        description="v2",
        layers=[
            {
                "arn": layer["layer_version_arn"],
                "name": None,
                "code": layer["code_ref"],
                "package": None,
            }
        ],
    )
    update = provider.check(created, changed).inputs
    # Only the layer is deployed: the code's standing is judged, the layer predicted.
    assert [a["name"] for a in update["predicted_verdict"]["artifacts"]] == [
        f"layer {layer['layer_version_arn']} of function {name}"
    ]
    assert provider.diff(name, created, update).changes is True
    outs = provider.update(name, created, update).outs or {}
    deployed = cli_world.lambda_.get_function(FunctionName=name)["Configuration"]
    assert (deployed["MemorySize"], deployed["Description"]) == (128, "v2")
    assert outs["deployed_layers"] == [layer["layer_version_arn"]]
    assert outs["deployed_code"] == versioned(code)  # the code was not deployed again


def test_previews_on_aws_judge_what_lambda_would(
    cli_world: AwsWorld, source: Path, role: str
) -> None:
    cli_world.fake_signer()
    cli_world.fake_code_signing()
    provider = LambdaFunctionProvider()
    # A new stack: profile, config and package are all to be created by this update.
    ref = "urn:pulumi:dev::app::codesign:SigningProfile::publisher"
    new_stack = provider.check(
        {},
        function_inputs(
            UNKNOWN,
            {"arn": UNKNOWN, "policy": "Enforce", "allowed_publishers": [UNKNOWN]},
            publisher_refs=[{"ref": ref, "profile_name": UNKNOWN}],
            code_package={
                "signer_ref": ref,
                "profile_name": UNKNOWN,
                "profile_version_arn": UNKNOWN,
            },
            role=UNKNOWN,  # an IAM role of the same update: not known yet, not missing
        ),
    )
    assert new_stack.failures == []
    assert new_stack.inputs["predicted_verdict"]["decision"] == "ALLOW"

    # A signed object overwritten after signing (not a zip now), deployed by key (unpinned).
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    csc = csc_state(arn)
    code = signed(cli_world, source)
    # A config given by ARN alone: its policy and publishers come from GetCodeSigningConfig.
    by_arn = provider.check(
        {}, function_inputs(versioned(code), {"arn": csc["arn"]}, role=role)
    ).inputs["predicted_verdict"]
    assert (by_arn["decision"], by_arn["policy"]) == ("ALLOW", "Enforce")
    cli_world.s3.put_object(Bucket=BUCKET, Key=code["key"], Body=b"tampered")
    tampered = provider.check(
        {}, function_inputs(None, csc, s3_bucket=BUCKET, s3_key=code["key"], role=role)
    )
    assert tampered.failures == []
    assert tampered.inputs["code_ref"] == f"s3://{BUCKET}/{code['key']}"
    verdict = tampered.inputs["predicted_verdict"]
    # Judged by its bytes: no longer a zip, which Lambda refuses whatever signed what.
    assert verdict["decision"] == "REJECT"
    assert verdict["exception"] == "InvalidParameterValueException"
    [error] = tampered.inputs["findings"]
    assert error["level"] == "error"
    assert f"function {tampered.inputs['function_name']}" in error["message"]
    assert "integrity: the package is not a readable .zip archive" in error["message"]

    # What check refuses on aws, each on its input.
    for overrides, field, said in (
        (
            {"package_type": "Image"},
            "package_type",
            "Lambda code signing covers .zip packages only",
        ),
        ({"code": str(source / "app.py")}, "code", "the aws backend works on signed S3 objects"),
        ({"role": None}, "role", "a function on AWS needs an execution role"),
        ({"memory_size": 64.0}, "memory_size", "128 to 10240"),
    ):
        failures = provider.check(
            {}, {**function_inputs(versioned(code), csc, role=role), **overrides}
        ).failures
        assert [f.property for f in failures] == [field], overrides
        assert said in failures[0].reason and failures[0].reason.startswith(
            "LambdaFunction input"
        ), failures[0].reason
    layer = LayerVersionProvider().check({}, layer_inputs(str(source)))
    assert [f.property for f in layer.failures] == ["code"]


def test_the_signed_object_verifies_under_a_policy_allowing_its_profile(
    cli_world: AwsWorld, source: Path
) -> None:
    """The outputs are what pulumi_aws.lambda_.Function takes, and the object they name
    is one Lambda would accept under a config allowing the profile."""
    cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    provider = SignedPackageProvider()
    outs = provider.create(provider.check({}, inputs(source)).inputs).outs or {}
    obj = S3Object(outs["bucket"], outs["key"], outs["object_version"])
    verdict = cli_world.backend.evaluate_package(obj, CscPolicy((arn,), "Enforce"), at=NOW)
    assert verdict.decision is Decision.ALLOW


def test_resources_deleted_out_of_band_are_gone_on_read_and_deleted_on_delete_on_aws(
    cli_world: AwsWorld,
    source: Path,
    library: Path,
    role: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pulumi's convention on the aws backend too: ``read`` of a resource AWS no longer has
    gives no id (refresh drops it), ``delete`` of one already gone succeeds. And a refresh
    after a revocation says so (on stderr here; under the engine, on the function)."""
    from provider.resources.code_signing_config import CodeSigningConfigProvider
    from provider.resources.signing_profile import SigningProfileProvider

    cli_world.fake_signer()
    cli_world.fake_code_signing()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    csc = csc_state(arn)
    code = signed(cli_world, source)
    layer_package = signed(cli_world, library)
    layers = LayerVersionProvider()
    layer_checked = layers.check({}, layer_inputs(versioned(layer_package)))
    layer = {**layer_checked.inputs, **(layers.create(layer_checked.inputs).outs or {})}
    functions = LambdaFunctionProvider()
    checked = functions.check({}, function_inputs(versioned(code), csc, role=role))
    created = {**checked.inputs, **(functions.create(checked.inputs).outs or {})}
    name = created["function_name"]
    capsys.readouterr()

    cli_world.backend.revoke_signature(code["job_id"], "key leaked", now=NOW)
    assert functions.read(name, created).id == name
    [warning] = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert f"the deployed code of function {name}" in warning and "key leaked" in warning
    assert "revocation" in warning and "to fix: " in warning

    # Deleted out of band, as `aws lambda delete-function` etc. would.
    cli_world.lambda_.delete_function(FunctionName=name)
    cli_world.lambda_.delete_layer_version(
        LayerName=layer["layer_name"], VersionNumber=int(layer["version"])
    )
    cli_world.lambda_.delete_code_signing_config(CodeSigningConfigArn=csc["arn"])
    cli_world.s3.delete_object(
        Bucket=BUCKET, Key=layer_package["key"], VersionId=layer_package["object_version"]
    )
    profiles = SigningProfileProvider()
    cases: list[tuple[Any, str, dict[str, Any]]] = [
        (functions, name, created),
        (layers, layer["layer_version_arn"], layer),
        (CodeSigningConfigProvider(), csc["arn"], csc),
        (SignedPackageProvider(), layer_package["job_id"], layer_package),
        (profiles, "never_made", {"profile_name": "never_made", "settings": SETTINGS}),
    ]
    # moto answers a missing profile with a KeyError: Signer's own answer, stubbed.
    stub = cli_world.stub_signer("get_signing_profile", "cancel_signing_profile")
    for operation in ("get_signing_profile", "cancel_signing_profile"):
        stub.add_client_error(
            operation, "ResourceNotFoundException", "profile never_made not found", 404
        )
    for provider, id_, props in cases:
        result = provider.read(id_, props)
        assert (result.id, result.outs) == (None, {}), (type(provider).__name__, id_)
        provider.delete(id_, props)  # already gone: deleted, no error
    stub.assert_no_pending_responses()
    stub.deactivate()
    # The package whose object stays is still there.
    assert SignedPackageProvider().read(code["job_id"], code).id == code["job_id"]
