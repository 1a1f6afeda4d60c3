"""``sam-ext layer adopt`` on the local backend: a vendor's unsigned layer .zip, signed
unchanged and published in the local registry, where a function under Enforce can use it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from provider.layers import content_sha256
from provider.verdict import CscPolicy, Decision

NOW = parse_instant("2026-01-15T12:00:00Z", field="now")
VENDOR_FILES = {
    "python/vendor_tracing/__init__.py": b"def wrap(handler):\n    return handler\n",
    "extensions/vendor-agent": b"#!/bin/sh\nexec true\n",
}


def test_a_vendor_layer_is_adopted_unchanged_and_passes_enforce(
    cli: Any, make_zip: Any, home: Path, tmp_path: Path
) -> None:
    arn = cli.profile("platform_team")
    vendor = make_zip(VENDOR_FILES, name="vendor-tracing.zip")
    adopted = cli(
        *cli.now, "layer", "adopt", "--zip-file", vendor, "--profile-name", "platform_team",
        schema="layer-adoption",
    )  # fmt: skip
    document = adopted.json
    assert document["LayerVersionArn"] == (
        "arn:aws:lambda:us-east-1:000000000000:layer:vendor-tracing:1"
    )
    expected = content_sha256({n: hashlib.sha256(c).hexdigest() for n, c in VENDOR_FILES.items()})
    assert document["ContentSha256Before"] == document["ContentSha256After"] == expected
    assert document["Files"] == 2
    assert document["AddedBySigning"] == [".codesign/signature.json"]
    assert document["SourceCodeSha256"] != document["CodeSha256"]
    assert f"content SHA-256 before: {expected}" in adopted.err
    assert f"content SHA-256 after:  {expected} (unchanged: 2 files" in adopted.err
    assert vendor.read_bytes() == make_zip(VENDOR_FILES, name="again.zip").read_bytes()

    # The adopted layer holds the vendor's files byte for byte, and passes Enforce.
    backend = LocalBackend(home)
    layer_path = Path(backend._layer_row(document["LayerVersionArn"])["location"])
    with zipfile.ZipFile(layer_path) as archive:
        for name, content in VENDOR_FILES.items():
            assert archive.read(name) == content
    enforce = CscPolicy((arn,), "Enforce")
    assert backend.evaluate_package(layer_path, enforce, at=NOW).decision is Decision.ALLOW
    assert backend.evaluate_package(vendor, enforce, at=NOW).decision is Decision.REJECT
    csc = cli.csc(arn)
    function = make_zip({"app.py": b"def handler(e, c):\n    return 1\n"}, name="fn.zip")
    signed_fn = cli.sign(function, tmp_path / "out", name="platform_team")
    deployed = backend.create_function(
        "traced", Path(signed_fn), csc_arn=csc, layers=[document["LayerVersionArn"]], now=NOW
    )
    assert deployed["LastVerdict"]["decision"] == "ALLOW"

    again = cli(
        *cli.now, "layer", "adopt", "--zip-file", vendor, "--profile-name", "platform_team",
        "--layer-name", "tracing_v2",
    ).json  # fmt: skip
    assert again["LayerVersionArn"].endswith(":layer:tracing_v2:1")


def test_what_cannot_be_adopted_is_refused_by_name(cli: Any, make_zip: Any, tmp_path: Path) -> None:
    cli.profile("platform_team")
    not_zip = tmp_path / "layer.zip"
    not_zip.write_bytes(b"not a zip at all")
    cli.fails("layer", "adopt", "--zip-file", not_zip, "--profile-name", "platform_team",
              naming="not a plain zip that can be signed")  # fmt: skip
    signed = cli.sign(make_zip(), tmp_path / "out", name="platform_team")
    cli.fails("layer", "adopt", "--zip-file", signed, "--profile-name", "platform_team",
              naming="already signed")  # fmt: skip
    vendor = make_zip(VENDOR_FILES, name="vendor.zip")
    cli.fails("layer", "adopt", "--zip-file", vendor, "--profile-name", "ghost",
              naming="ghost")  # fmt: skip
    cli.fails("layer", "adopt", "--zip-file", vendor, "--profile-name", "platform_team",
              "--layer-name", "bad name!", naming="--layer-name")  # fmt: skip
    cli.fails("layer", "adopt", "--layer-version-arn",
              "arn:aws:lambda:us-east-1:464622532012:layer:Datadog-Python312:1",
              "--profile-name", "platform_team", naming="--zip-file")  # fmt: skip
    cli.fails("layer", "adopt", "--zip-file", vendor, "--profile-name", "platform_team",
              "--s3-bucket", "b", naming="--s3-bucket")  # fmt: skip
    cli.fails("layer", "adopt", "--zip-file", tmp_path / "missing.zip", "--profile-name",
              "platform_team", naming="missing.zip")  # fmt: skip


def test_the_console_script_adopts_a_layer(make_zip: Any, tmp_path: Path) -> None:
    """The installed ``sam-ext`` in real processes prints the ARN and both digests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESIGN_")}
    env["CODESIGN_HOME"] = str(tmp_path / "process-home")
    sam_ext = Path(sys.executable).parent / "sam-ext"
    vendor = make_zip(VENDOR_FILES, name="vendor.zip")
    for args in (
        ("profile", "put", "--profile-name", "platform_team"),
        ("layer", "adopt", "--zip-file", vendor, "--profile-name", "platform_team"),
    ):
        done = subprocess.run(
            [str(sam_ext), *map(str, args)], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    adopted = json.loads(done.stdout)
    assert adopted["LayerVersionArn"].endswith(":layer:vendor:1")
    before = adopted["ContentSha256Before"]
    assert f"content SHA-256 before: {before}\ncontent SHA-256 after:  {before}" in done.stderr
