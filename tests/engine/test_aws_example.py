"""``examples/pulumi/aws``: one program for both backends, through the real Pulumi CLI.
Here on the local backend (the default); on ``codesign:backend aws`` against a
``sam-ext serve`` process in test_aws_backend.py."""

from __future__ import annotations

from pathlib import Path

from engine.conftest import StackFactory

from provider.backends.local import LocalBackend


def test_the_aws_example_runs_unchanged_on_the_local_backend(
    engine_stack: StackFactory, keystore: Path
) -> None:
    # The inputs AWS needs (a role ARN among them) are accepted and recorded locally.
    role = "arn:aws:iam::123456789012:role/hello-role"
    stack = engine_stack("aws", config={"role": role})
    up = stack.up()
    assert up.error is None, up.error
    assert up.outputs["verdict"]["decision"] == "ALLOW"
    function = LocalBackend(str(keystore)).get_function(up.outputs["function_name"])
    assert (function["Role"], function["MemorySize"], function["Timeout"]) == (role, 256, 10)
    assert function["Environment"] == {"Variables": {"GREETING_SOURCE": "layer"}}
    assert [layer["Arn"] for layer in function["Layers"]] == [up.outputs["layer_version_arn"]]
    assert function["CodeSigningConfigArn"] == up.outputs["code_signing_config_arn"]
    assert "code_key" not in up.outputs  # no S3 object on local (a None output is dropped)
