"""(i) ``sam-ext --backend aws check`` of a 200-function template against ``sam-ext serve``:
100 functions from local directories (judged as ``--signing-profiles`` would sign them), 50
from signed S3 objects and 50 from unsigned ones, all under one Enforce config. Whole
processes timed in turn with a 1-function template; then one run in-process counting the
AWS API calls it makes. The peer, taken in the same turns: the same template shape on the
local backend (100 local directories under ``--signing-profiles``, 100 locally signed
packages, a local Enforce config).

Run: .venv/bin/python bench/bench_check.py [--functions 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from contextlib import redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))

from common import load, machine, offline_aws, run_in_turn, table  # noqa: E402

offline_aws()

import boto3  # noqa: E402
from endpoint.serving import start_server  # noqa: E402
from fake_aws import api_calls  # noqa: E402

from provider.backends.aws import AwsBackend, S3Object  # noqa: E402
from provider.backends.local import LocalBackend  # noqa: E402
from provider.clock import utcnow  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def _zip(index: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"def handler(e, c):\n    return {index}\n")
    return buffer.getvalue()


def _function(code: Any, config: str) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {
        "Code": code, "Handler": "app.handler", "Role": "arn:aws:iam::123456789012:role/r",
        "Runtime": "python3.12", "CodeSigningConfigArn": config}}  # fmt: skip


def _enforce_config(backend: Any, profile: str, now: datetime) -> str:
    """A signing profile ``profile`` on ``backend`` and an Enforce config allowing it: the
    config's ARN."""
    arn = backend.put_signing_profile(profile, now=now)["profileVersionArn"]
    return str(backend.create_code_signing_config([arn], policy="Enforce", now=now)[
        "CodeSigningConfig"]["CodeSigningConfigArn"])  # fmt: skip


def _local_functions(root: Path, count: int, config: str) -> dict[str, Any]:
    """``count`` functions ``Local<i>`` whose code is a directory under ``root/src``."""
    resources: dict[str, Any] = {}
    for index in range(count):
        source = root / "src" / f"f{index}"
        source.mkdir(parents=True)
        (source / "app.py").write_text(f"def handler(e, c):\n    return {index}\n")
        resources[f"Local{index}"] = _function(f"src/f{index}", config)
    return resources


def build(url: str, root: Path, functions: int) -> tuple[Path, Path, str]:
    """The served account (a profile, an Enforce config, a bucket of signed and unsigned
    objects) and two templates: ``functions`` functions and one; returns them and the
    ``--signing-profiles`` value for the local ones."""
    backend = AwsBackend("us-east-1", endpoint_url=url, job_delay=0.05)
    s3 = boto3.session.Session(region_name="us-east-1").client("s3", endpoint_url=url)
    tag = str(time.monotonic_ns() % 10**10)
    bucket = f"bench-check-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    now = utcnow()
    profile = f"bench_{tag}"
    config = _enforce_config(backend, profile, now)
    local, signed = functions // 2, functions // 4
    resources = _local_functions(root, local, config)
    for index in range(signed):
        package = root / f"s{index}.zip"
        package.write_bytes(_zip(1000 + index))
        job = backend.sign_package(package, f"s3://{bucket}/signed", profile, now=now, prefix="s_")
        obj = S3Object.from_location(job["signedObject"])
        resources[f"Signed{index}"] = _function(
            {"S3Bucket": obj.bucket, "S3Key": obj.key, "S3ObjectVersion": obj.version}, config
        )
    for index in range(functions - local - signed):
        s3.put_object(Bucket=bucket, Key=f"plain/{index}.zip", Body=_zip(2000 + index))
        resources[f"Plain{index}"] = _function(
            {"S3Bucket": bucket, "S3Key": f"plain/{index}.zip"}, config
        )
    many = root / "template.json"
    many.write_text(json.dumps({"Resources": resources}))
    one = root / "one.json"
    one.write_text(json.dumps({"Resources": {"Signed0": resources["Signed0"]}}))
    profiles = " ".join(f"Local{index}={profile}" for index in range(local))
    return many, one, profiles


def build_local(home: Path, root: Path, functions: int) -> tuple[Path, str]:
    """The peer on the local backend: local directories as ``--signing-profiles`` would
    sign them, and packages signed into the keystore's artifacts in place of S3 objects."""
    backend = LocalBackend(home)
    now = utcnow()
    profile = "bench_local"
    config = _enforce_config(backend, profile, now)
    local = functions // 2
    resources = _local_functions(root, local, config)
    for index in range(functions - local):
        package = root / f"s{index}.zip"
        package.write_bytes(_zip(1000 + index))
        job = backend.sign_package(package, str(root / "signed"), profile, now=now)
        resources[f"Signed{index}"] = _function(str(job["signedObject"]["path"]), config)
    template = root / "template.json"
    template.write_text(json.dumps({"Resources": resources}))
    return template, " ".join(f"Local{index}={profile}" for index in range(local))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine(), "|", load())
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        server = start_server(root / "home")
        try:
            os.environ["AWS_ENDPOINT_URL"] = server.url
            many, one, profiles = build(server.url, root / "app", args.functions)
            local_home = root / "local-home"
            local, local_profiles = build_local(local_home, root / "local", args.functions)
            sam_ext = [sys.executable, "-m", "sam_ext.cli", "--backend", "aws", "check"]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            series = run_in_turn(
                {
                    "1 function": [*sam_ext, str(one), "--output", "json"],
                    f"{args.functions} functions": [
                        *sam_ext,
                        str(many),
                        "--output",
                        "json",
                        "--signing-profiles",
                        profiles,
                    ],
                    f"{args.functions} functions, local backend": [
                        sys.executable,
                        "-m",
                        "sam_ext.cli",
                        "--home",
                        str(local_home),
                        "check",
                        str(local),
                        "--output",
                        "json",
                        "--signing-profiles",
                        local_profiles,
                    ],
                },
                env,
                args.repeats,
            )
            from sam_ext.cli import main as cli

            with api_calls() as calls, redirect_stdout(io.StringIO()):
                status = cli(["--backend", "aws", "check", str(many), "--output", "json",
                              "--signing-profiles", profiles])  # fmt: skip
            assert status == 0, status
        finally:
            server.stop()
    single, whole = series["1 function"], series[f"{args.functions} functions"]
    peer = series[f"{args.functions} functions, local backend"]
    rows: list[tuple[str, ...]] = [("whole process", "wall s", "cpu s", "vs 1 function wall")]
    for entry in (single, whole, peer):
        rows.append((entry.name, f"{entry.wall:.2f}", f"{entry.cpu:.2f}",
                     f"{entry.ratio(single):.2f}x"))  # fmt: skip
    print(table(rows), file=sys.stderr)
    total = sum(calls.values())
    print(f"API calls: {total} for {args.functions} functions "
          f"({total / args.functions:.2f} per function): {dict(calls.most_common())}",
          file=sys.stderr)  # fmt: skip
    print(load(), file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "check.json").write_text(json.dumps({
        "functions": args.functions, "series": {s.name: s.to_json() for s in (single, whole, peer)},
        "api_calls": dict(calls), "per_function": total / args.functions,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
