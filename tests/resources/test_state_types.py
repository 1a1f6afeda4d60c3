"""Each resource's computed state is declared once, as a TypedDict: the properties a new
resource leaves unknown are that TypedDict's keys, and a step's outputs are exactly the
keys its TypedDict names (with values of the declared kinds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provider.resources.code_signing_config import (
    CodeSigningConfigOutputs,
    CodeSigningConfigProvider,
)
from provider.resources.function import (
    _COMPUTED as FUNCTION_COMPUTED,
)
from provider.resources.function import (
    DeployOutputs,
    FunctionOutputs,
    LambdaFunctionProvider,
)
from provider.resources.signed_package import _COMPUTED as PACKAGE_COMPUTED
from provider.resources.signed_package import SignedPackageOutputs, SignedPackageProvider
from provider.resources.signing_profile import SigningProfileOutputs, SigningProfileProvider


def test_the_computed_properties_are_the_ones_declared_before() -> None:
    # The lists each resource spelled out in its constructor before the TypedDicts.
    assert set(PACKAGE_COMPUTED) == {
        "source_hash", "signing_generation", "job_id", "location", "deploy_location",
        "bucket", "key", "object_version", "profile_version_arn", "signed_at",
        "signature_expires_at", "digest", "revoked", "findings",
    }  # fmt: skip
    assert set(FUNCTION_COMPUTED) == {
        "code_sha384", "code_id", "code_ref", "layer_arns", "predicted_verdict", "findings",
        "function_arn", "version", "deployed_code", "deployed_code_sha256",
        "deployed_code_sha384", "deployed_layers", "deployed_code_standing", "deploying",
        "verdict", "warnings", "drift",
    }  # fmt: skip
    assert "function_name" in FunctionOutputs.__annotations__  # an input, given back
    assert set(DeployOutputs.__annotations__) == {"deployed_code", "verdict", "warnings"}


def _step(settings: dict[str, Any], source_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    profiles = SigningProfileProvider()
    checked = profiles.check(
        {},
        {
            "logical_name": "publisher",
            "profile_name": "team",
            "platform_id": "AWSLambda-SHA384-ECDSA",
            "signature_validity_period": None,
            "revocation": None,
            "settings": settings,
        },
    )
    profile = profiles.create(checked.inputs).outs or {}
    packages = SignedPackageProvider()
    inputs = packages.check(
        {}, {"source": str(source_dir), "profile_name": "team", "settings": settings}
    ).inputs
    package = packages.create(inputs).outs or {}
    csc_inputs = {
        "allowed_publishers": [profile["profile_version_arn"]],
        "policy": "Enforce",
        "description": None,
        "settings": settings,
    }
    csc = CodeSigningConfigProvider().create(csc_inputs).outs or {}
    functions = LambdaFunctionProvider()
    checked = functions.check(
        {},
        {
            "logical_name": "fn",
            "function_name": None,
            "code": package["location"],
            "code_signing_config_arn": csc["arn"],
            "code_signing_policy": None,
            "allowed_publishers": None,
            "settings": settings,
        },
    )
    assert checked.failures == []
    return package, functions.create(checked.inputs).outs or {}


def test_a_step_gives_exactly_its_declared_outputs(settings, source_dir) -> None:
    package, function = _step(settings, source_dir)
    package_outputs = {key: package[key] for key in SignedPackageOutputs.__annotations__}
    assert isinstance(package_outputs["job_id"], str)
    assert package_outputs["bucket"] is None and isinstance(package_outputs["digest"], str)
    assert package_outputs["revoked"] is False
    function_outputs = {key: function[key] for key in FunctionOutputs.__annotations__}
    assert function_outputs["verdict"]["decision"] == "ALLOW"
    assert function_outputs["deploying"] == {"code": False, "layers": False}
    assert isinstance(function_outputs["deployed_layers"], list)


def test_profile_and_config_outputs_are_their_typed_dicts(settings) -> None:
    profiles = SigningProfileProvider()
    inputs = {
        "logical_name": "publisher",
        "profile_name": "team",
        "platform_id": "AWSLambda-SHA384-ECDSA",
        "signature_validity_period": None,
        "revocation": None,
        "settings": settings,
    }
    profile = profiles.create(profiles.check({}, inputs).inputs).outs or {}
    assert {k: profile[k] for k in SigningProfileOutputs.__annotations__} == {
        "arn": profile["arn"],
        "profile_version": profile["profile_version"],
        "profile_version_arn": f"{profile['arn']}/{profile['profile_version']}",
        "status": "Active",
        "revocation_effective_from": None,
    }
    configs = CodeSigningConfigProvider()
    csc_inputs = {
        "allowed_publishers": [profile["profile_version_arn"]],
        "policy": "Enforce",
        "description": None,
        "settings": settings,
    }
    created = configs.create(csc_inputs)
    outs = created.outs or {}
    assert created.id == outs["arn"]
    assert set(CodeSigningConfigOutputs.__annotations__) <= set(outs)
    read = configs.read(created.id, outs).outs or {}
    assert read["policy"] == "Enforce" and read["allowed_publishers"] == [
        profile["profile_version_arn"]
    ]
    assert {k: read[k] for k in CodeSigningConfigOutputs.__annotations__} == {
        k: outs[k] for k in CodeSigningConfigOutputs.__annotations__
    }
