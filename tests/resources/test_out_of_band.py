"""Resources deleted out of band, and refresh saying what it found, on the local backend
(the aws backend: tests/backends/aws/test_resources_aws.py; under the real engine:
tests/engine/test_out_of_band.py).

Pulumi's convention for every provider: ``read`` of a resource that no longer exists
returns no id (``pulumi refresh`` drops it from state, the next ``up`` creates it again),
and ``delete`` of one already gone succeeds (``pulumi destroy`` goes through).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from resources.test_providers import create_csc, create_profile, function_inputs
from resources.test_signing_again_and_layers import layer_inputs, signed

from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.resources.code_signing_config import CodeSigningConfigProvider
from provider.resources.function import LambdaFunctionProvider
from provider.resources.layer import LayerVersionProvider
from provider.resources.signed_package import SignedPackageProvider
from provider.resources.signing_profile import SigningProfileProvider


def test_each_resource_type_deleted_out_of_band_is_gone_on_read_and_deleted_on_delete(
    settings: dict[str, Any], source_dir: Path
) -> None:
    backend = LocalBackend(settings["home"])
    profile = create_profile(settings, profile_name="oob_pub")
    csc = create_csc(settings, [profile["profile_version_arn"]], "Enforce")
    package_inputs, package = signed(settings, source_dir, "oob_pub")
    layers = LayerVersionProvider()
    layer_checked = layers.check({}, layer_inputs(settings, package["location"]))
    layer = layers.create(layer_checked.inputs).outs or {}
    functions = LambdaFunctionProvider()
    function_checked = functions.check({}, function_inputs(settings, package["location"], csc))
    function = functions.create(function_checked.inputs)
    name = function.id

    # Present: read returns the resource.
    assert functions.read(name, function.outs or {}).id == name
    assert layers.read(layer["layer_version_arn"], layer).id == layer["layer_version_arn"]

    # Deleted out of band (as `aws lambda delete-function` etc. would).
    backend.delete_function(name)
    backend.delete_layer_version(layer["layer_version_arn"])
    backend.delete_code_signing_config(csc["arn"])
    Path(package["location"]).unlink()
    cases: list[tuple[Any, str, dict[str, Any]]] = [
        (functions, name, function.outs or {}),
        (layers, layer["layer_version_arn"], layer),
        (CodeSigningConfigProvider(), csc["arn"], csc),
        (SignedPackageProvider(), package["job_id"], {**package_inputs, **package}),
        # A signing job the keystore does not know (a keystore made anew).
        (SignedPackageProvider(), "0" * 8 + "-0000-4000-8000-" + "0" * 12, package),
        # A profile the backend does not know (AWS never deletes one; a new keystore does).
        (SigningProfileProvider(), "never_made", {**profile, "profile_name": "never_made"}),
    ]
    for provider, id_, props in cases:
        result = provider.read(id_, props)
        assert (result.id, result.outs) == (None, {}), (type(provider).__name__, id_)
        provider.delete(id_, props)  # already gone: deleted, no error

    # A profile canceled out of band is still there (canceled, not gone).
    backend.cancel_signing_profile("oob_pub", now=utcnow())
    read = SigningProfileProvider().read("oob_pub", profile)
    assert read.id == "oob_pub" and (read.outs or {})["status"] == "Canceled"


def test_a_refresh_after_a_revocation_warns_naming_the_function_the_check_and_the_fix(
    settings: dict[str, Any], source_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Outside the engine the warning goes to stderr (under it, to the engine, on the
    function: tests/engine/test_out_of_band.py)."""
    profile = create_profile(settings, profile_name="oob_rev")
    csc = create_csc(settings, [profile["profile_version_arn"]], "Enforce")
    _, package = signed(settings, source_dir, "oob_rev")
    functions = LambdaFunctionProvider()
    checked = functions.check({}, function_inputs(settings, package["location"], csc))
    created = functions.create(checked.inputs)
    assert functions.read(created.id or "", created.outs or {}).id == created.id
    assert "warning:" not in capsys.readouterr().err  # nothing to say while it stands

    LocalBackend(settings["home"]).revoke_signature(package["job_id"], "leaked key", now=utcnow())
    refreshed = functions.read(created.id or "", created.outs or {})
    assert (refreshed.outs or {})["deployed_code_standing"]["decision"] == "REJECT"
    [warning] = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert warning.startswith(f"warning: code signing: the deployed code of function {created.id}")
    assert "revocation" in warning and "leaked key" in warning
    assert "next code deploy would be rejected with CodeVerificationFailedException" in warning
    assert "to fix: " in warning and warning.endswith("(found by refresh)")
