"""``examples/pulumi/aws``: one program for both backends, through the real Pulumi CLI.

On the local backend (the default), and on ``codesign:backend aws`` against a
``sam-ext serve`` process on loopback (AWS Signer, Lambda and S3 over the AWS wire
protocol), with the real AWS CLI doing what an operator does out of band. The aws stack
goes through what a user lives: a preview before anything exists, the first up, an up that
changes nothing, a changed source, a revocation seen by refresh (the next up signs again),
``renew_before`` near the expiry (signed again), resources deleted out of band (refresh
drops them, up creates them again), a tampered object refused by the preview, and destroy
(of a function already deleted, too).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from endpoint.serving import REPO, Server, start_server
from engine.conftest import StackFactory

from provider.backends.local import LocalBackend
from provider.clock import format_instant, parse_instant


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


EXAMPLE_SOURCE = REPO / "examples" / "functions" / "hello"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A ``sam-ext serve`` of its own (its home in the test's directory), and nothing of
    the host's AWS configuration for the engine's commands either."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    server = start_server(tmp_path / "serve-home", env=_aws_env(tmp_path, None))
    yield server
    server.stop()


def _aws_env(tmp_path: Path, url: str | None) -> dict[str, str]:
    """Fake credentials and the endpoint, nothing of the host's AWS configuration."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if url is not None:
        env["AWS_ENDPOINT_URL"] = url
    return env


class AwsCli:
    """The real AWS CLI (installed by scripts/install-clients.sh) against the server."""

    def __init__(self, env: dict[str, str]) -> None:
        printed = subprocess.run(
            ["bash", str(REPO / "scripts" / "install-clients.sh"), "--print-bin", "aws"],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert printed.returncode == 0, printed.stderr
        self.bin = printed.stdout.strip().splitlines()[-1]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | env

    def __call__(self, *args: str) -> Any:
        done = subprocess.run(
            [self.bin, *args, "--output", "json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}


def _outputs(stack: Any, name: str) -> dict[str, Any]:
    [resource] = [
        r
        for r in stack.state()["resources"]
        if r["urn"].endswith(f"::{name}") and "LambdaFunction" in r["type"]
    ]
    return dict(resource.get("outputs") or {})


def test_the_aws_example_on_a_served_aws(
    engine_stack: StackFactory, served: Server, tmp_path: Path
) -> None:
    env = _aws_env(tmp_path, served.url)
    aws = AwsCli(env)
    aws("s3api", "create-bucket", "--bucket", "codesign-engine")
    aws(
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "codesign-engine",
        "--versioning-configuration",
        "Status=Enabled",
    )
    role = aws(
        "iam", "create-role", "--role-name", "hello-role", "--assume-role-policy-document", "{}"
    )["Role"]["Arn"]
    source = tmp_path / "src"
    shutil.copytree(EXAMPLE_SOURCE, source)
    stack = engine_stack(
        "aws",
        config={
            "codesign:backend": "aws",
            "codesign:bucket": "codesign-engine",
            "role": role,
            "source": str(source),
        },
        env=env,
    )

    # Before anything exists: the function and its layer are predicted from the graph.
    preview = stack.preview()
    assert preview.error is None, preview.error
    [allowed] = preview.messages("info", "hello")
    assert "would be allowed" in allowed and "; layer shared-" in allowed, allowed
    assert preview.ops("hello") == ["create"]
    assert aws("lambda", "list-functions")["Functions"] == []  # a preview changes nothing

    up = stack.up()
    assert up.error is None, up.error
    name = up.outputs["function_name"]
    function = aws("lambda", "get-function", "--function-name", name)["Configuration"]
    assert function["MemorySize"] == 256 and function["Role"] == role
    assert [layer["Arn"] for layer in function["Layers"]] == [up.outputs["layer_version_arn"]]
    attached = aws("lambda", "get-function-code-signing-config", "--function-name", name)
    assert attached["CodeSigningConfigArn"] == up.outputs["code_signing_config_arn"]
    assert up.outputs["verdict"]["decision"] == "ALLOW"

    again = stack.up()
    assert again.error is None, again.error
    assert set(again.summary) == {"same"}, again.summary

    # A changed source: signed again, and the function's code updated (and verified).
    (source / "app.py").write_text("def handler(event, context):\n    return 'v2'\n")
    changed = stack.up()
    assert changed.error is None, changed.error
    assert changed.outputs["code_job_id"] != up.outputs["code_job_id"]
    assert changed.ops("hello") == ["update"]
    updated = aws("lambda", "get-function", "--function-name", name)["Configuration"]
    assert updated["CodeSha256"] != function["CodeSha256"]

    # Revoked with the AWS CLI: refresh records the standing and says what drifted.
    aws(
        "signer",
        "revoke-signature",
        "--job-id",
        changed.outputs["code_job_id"],
        "--reason",
        "built from a compromised branch",
    )
    refreshed = stack.refresh()
    assert refreshed.error is None, refreshed.error
    # Said on the function: what its next deploy would meet, the check and the fix.
    [warning] = refreshed.messages("warning", "hello")
    assert warning.startswith(f"code signing: the deployed code of function {name}"), warning
    assert "revocation" in warning and "compromised branch" in warning
    assert "to fix: " in warning and warning in refreshed.stdout
    state = _outputs(stack, "hello")
    assert state["deployed_code_standing"]["decision"] == "REJECT"
    assert any("since the deploy" in d and "compromised branch" in d for d in state["drift"])

    # The next up signs the revoked package again and deploys the new signature; its
    # preview says so and why.
    planned = stack.preview()
    assert planned.error is None, planned.error
    [said] = planned.messages("info", "code")
    assert "signed again" in said and "compromised branch" in said, said
    assert "replace" in planned.ops("code") and planned.ops("hello") == ["update"]
    resigned = stack.up()
    assert resigned.error is None, resigned.error
    assert resigned.outputs["code_job_id"] != changed.outputs["code_job_id"]
    assert resigned.ops("hello") == ["update"]
    assert _outputs(stack, "hello")["deployed_code_standing"]["decision"] == "ALLOW"

    # renew_before: an up within it of the signature's expiry signs again.
    expires = parse_instant(resigned.outputs["code_expires_at"], field="code_expires_at")
    stack.set_config("renew_before", "30d")
    stack.set_config("codesign:now", format_instant(expires - timedelta(days=10)))
    planned = stack.preview()
    [said] = planned.messages("info", "code")
    assert "signed again" in said and "within renew_before 30d" in said, said
    renewed = stack.up()
    assert renewed.error is None, renewed.error
    assert renewed.outputs["code_job_id"] != resigned.outputs["code_job_id"]
    assert renewed.ops("hello") == ["update"]
    stack.stack.remove_config("codesign:now")

    # Deleted out of band with the AWS CLI: refresh drops them from state (it failed on
    # "does not exist"), and the next up creates them again.
    aws("lambda", "delete-function", "--function-name", name)
    aws(
        "lambda", "delete-layer-version", "--layer-name", up.outputs["layer_name"],
        "--version-number", renewed.outputs["layer_version_arn"].rsplit(":", 1)[1],
    )  # fmt: skip
    aws(
        "lambda", "delete-code-signing-config", "--code-signing-config-arn",
        renewed.outputs["code_signing_config_arn"],
    )  # fmt: skip
    dropped = stack.refresh()
    assert dropped.error is None, dropped.error
    kinds = {r["type"].rsplit(":", 1)[-1] for r in stack.state()["resources"]}
    assert not kinds & {"LambdaFunction", "LayerVersion", "CodeSigningConfig"}, kinds
    recreated = stack.up()
    assert recreated.error is None, recreated.error
    assert recreated.ops("hello") == ["create"] and recreated.ops("enforce") == ["create"]
    attached = aws("lambda", "get-function-code-signing-config", "--function-name", name)
    assert attached["CodeSigningConfigArn"] == recreated.outputs["code_signing_config_arn"]

    # The signed object tampered with in S3 (one byte of its code changed), then deployed
    # by key: judged by its bytes, the preview refuses it (an integrity failure).
    tampered = tmp_path / "tampered.zip"
    key = changed.outputs["code_key"]
    aws("s3api", "get-object", "--bucket", "codesign-engine", "--key", key, str(tampered))
    data = bytearray(tampered.read_bytes())
    member = zipfile.ZipFile(tampered).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    tampered.write_bytes(bytes(data))
    aws("s3api", "put-object", "--bucket", "codesign-engine", "--key", key, "--body", str(tampered))
    stack.set_config("code_key", changed.outputs["code_key"])
    refused = stack.preview()
    assert refused.error is not None
    [error] = refused.messages("error", "hello")
    assert f"function {name}" in error and "integrity" in error, error

    # Gone before the destroy: deleting what is already gone succeeds.
    aws("lambda", "delete-function", "--function-name", name)
    destroyed = stack.destroy()
    assert destroyed.error is None, destroyed.error
    assert aws("lambda", "list-functions")["Functions"] == []
    layers = aws("lambda", "list-layer-versions", "--layer-name", up.outputs["layer_name"])
    assert layers["LayerVersions"] == []
    profile = aws("signer", "get-signing-profile", "--profile-name", up.outputs["profile_name"])
    assert profile["status"] == "Canceled"
