"""What changed outside Pulumi, under the real engine, on the local backend (the aws
backend against ``sam-ext serve``: tests/engine/test_aws_example.py).

- ``pulumi refresh`` after a revocation says so: a warning on the function naming it, the
  check and the fix (a refresh runs no program: the provider sends it to the engine).
- Resources deleted out of band: ``refresh`` drops them from state, ``up`` creates them
  again, and ``destroy`` of ones already gone succeeds (Pulumi's convention).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.conftest import EXAMPLES, StackFactory
from engine.harness import EngineStack

from provider.backends.local import LocalBackend
from provider.clock import utcnow

HELLO = EXAMPLES.parent / "functions" / "hello"


def _kept(stack: EngineStack) -> set[str]:
    """``name:Type`` of each resource in the stack's state."""
    return {
        r["urn"].rsplit("::", 1)[-1] + ":" + r["type"].rsplit(":", 1)[-1]
        for r in stack.state().get("resources", [])
    }


def test_refresh_says_a_revocation_and_drops_what_was_deleted_out_of_band(
    engine_stack: StackFactory, keystore: Path, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    shutil.copytree(HELLO, source)
    stack = engine_stack("aws", config={"source": str(source)})
    up = stack.up()
    assert up.error is None, up.error
    backend = LocalBackend(str(keystore))
    name = up.outputs["function_name"]

    # A revocation made outside Pulumi: the refresh records it and says it, on the function.
    backend.revoke_signature(up.outputs["code_job_id"], "built from a leaked branch", now=utcnow())
    refreshed = stack.refresh()
    assert refreshed.error is None, refreshed.error
    [warning] = refreshed.messages("warning", "hello")
    assert warning.startswith(f"code signing: the deployed code of function {name}"), warning
    assert "revocation" in warning and "built from a leaked branch" in warning
    assert "its next code deploy would be rejected with CodeVerificationFailedException" in warning
    assert "to fix: " in warning
    # What the user reads: the warning, under the function, in the CLI's output.
    assert f"codesign:LambdaFunction (hello):\n    warning: {warning}" in refreshed.stdout

    # Deleted out of band: the function, its layer version, the config, a signed object.
    backend.delete_function(name)
    backend.delete_layer_version(up.outputs["layer_version_arn"])
    backend.delete_code_signing_config(up.outputs["code_signing_config_arn"])
    [shared] = [
        r
        for r in stack.state()["resources"]
        if r["urn"].endswith("::shared") and r["type"].endswith("SignedPackage")
    ]
    Path(shared["outputs"]["location"]).unlink()
    dropped = stack.refresh()
    assert dropped.error is None, dropped.error  # before: "function ... does not exist"
    left = _kept(stack)
    for gone in (
        "hello:LambdaFunction",
        "shared:LayerVersion",
        "enforce:CodeSigningConfig",
        "shared:SignedPackage",
    ):
        assert gone not in left, (gone, left)
    assert {"publisher:SigningProfile", "code:SignedPackage"} <= left

    # The next up creates them again (and signs the revoked package again).
    again = stack.up()
    assert again.error is None, again.error
    for resource in ("hello", "enforce"):
        assert again.ops(resource) == ["create"], (resource, again.steps)
    function = backend.get_function(again.outputs["function_name"])
    assert function["CodeSigningConfigArn"] == again.outputs["code_signing_config_arn"]
    assert again.outputs["code_job_id"] != up.outputs["code_job_id"]
    assert again.outputs["verdict"]["decision"] == "ALLOW"

    # Gone again before a destroy: deleting what is already gone succeeds.
    backend.delete_function(again.outputs["function_name"])
    backend.delete_layer_version(again.outputs["layer_version_arn"])
    backend.delete_code_signing_config(again.outputs["code_signing_config_arn"])
    destroyed = stack.destroy()
    assert destroyed.error is None, destroyed.error  # before: "does not exist"
    assert stack.state().get("resources") in (None, [])
    assert backend.get_signing_profile(up.outputs["profile_name"])["status"] == "Canceled"
