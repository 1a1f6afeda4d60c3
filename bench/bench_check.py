"""(h) ``sam-ext check`` of a generated 200-function SAM template on ``sam-ext serve``
(``--backend aws``): wall time, and the AWS API calls it makes per function, counted on the
wire (botocore's ``before-send`` event: one per HTTP request, retries included). Half the
functions have local code (directories and .zip files, unsigned: REJECT under the
template's Enforce config), half S3 objects signed on the server by Signer jobs (ALLOW).
The peer, in the same run: the same template shape on the local backend (local signed
packages in place of the S3 objects, a local config).

Run: .venv/bin/python bench/bench_check.py [--functions 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))

for name in list(os.environ):
    if name.startswith(("AWS_", "CODESIGN_", "SAM_EXT_")):
        os.environ.pop(name)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)

from common import load, machine, table  # noqa: E402
from endpoint.serving import start_server  # noqa: E402

from provider.backends import batch  # noqa: E402
from provider.backends.aws import AwsBackend  # noqa: E402
from provider.backends.base import Backend  # noqa: E402
from provider.backends.local import LocalBackend  # noqa: E402
from provider.clock import utcnow  # noqa: E402
from sam_ext.check import CheckOptions, Standing, check_template  # noqa: E402

RESULTS = Path(__file__).parent / "results"
SAM_EXT = Path(sys.executable).parent / "sam-ext"
PROFILE = "bench_check"


def _write_zip(path: Path, index: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", f"def handler(event, context):\n    return {index}\n")
        archive.writestr("lib/util.py", "VALUE = 42\n" * 50)
    return path


def _local_code(work: Path, index: int) -> str:
    """A function's local code: a directory (even indexes) or a .zip (odd), unsigned."""
    if index % 4 == 0:
        directory = work / "src" / f"fn{index:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "app.py").write_text(f"def handler(event, context):\n    return {index}\n")
        return f"src/fn{index:03d}/"
    _write_zip(work / "src" / f"fn{index:03d}.zip", index)
    return f"src/fn{index:03d}.zip"


def _template(work: Path, name: str, config: str, codes: Sequence[str]) -> Path:
    lines = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        "Transform: AWS::Serverless-2016-10-31",
        "Globals:",
        "  Function:",
        "    Runtime: python3.12",
        "    Handler: app.handler",
        f"    CodeSigningConfigArn: {config}",
        "Resources:",
    ]
    for index, code in enumerate(codes):
        lines += [
            f"  Fn{index:03d}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      CodeUri: {code}",
        ]
    path = work / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _served_app(url: str, work: Path, functions: int) -> Path:
    """On the server: a profile, an Enforce config, and ``functions / 2`` packages signed
    into S3 by Signer jobs; the template mixes them with local code."""
    backend = AwsBackend("us-east-1", endpoint_url=url, job_delay=0.05)
    now = utcnow()
    profile = backend.put_signing_profile(PROFILE, now=now)
    config = backend.create_code_signing_config(
        [profile["profileVersionArn"]], policy="Enforce", now=now
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    s3 = backend.clients.s3
    s3.create_bucket(Bucket="bench-check")
    s3.put_bucket_versioning(Bucket="bench-check", VersioningConfiguration={"Status": "Enabled"})
    remote = [i for i in range(functions) if i % 2 == 1]
    requests = [
        batch.SignRequest(f"Fn{i:03d}", _write_zip(work / "s3src" / f"{i}.zip", i), PROFILE)
        for i in remote
    ]
    outcomes = batch.sign_all(
        backend, requests, "s3://bench-check/app", now=now, jobs=16, progress=None
    )
    batch.raise_for_failures(outcomes)
    signed = {
        int(o.request.name[2:]): "s3://{bucketName}/{key}".format(**o.job["signedObject"])
        for o in outcomes
        if o.job is not None
    }
    codes = [signed[i] if i in signed else _local_code(work, i) for i in range(functions)]
    return _template(work, "served.yaml", config, codes)


def _local_app(home: Path, work: Path, functions: int) -> Path:
    """The peer on the local backend: local signed packages in place of the S3 objects."""
    backend = LocalBackend(home)
    now = utcnow()
    profile = backend.put_signing_profile(PROFILE, now=now)
    config = backend.create_code_signing_config(
        [profile["profileVersionArn"]], policy="Enforce", now=now
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    codes = []
    for index in range(functions):
        if index % 2 == 1:
            source = _write_zip(work / "unsigned" / f"{index}.zip", index)
            job = backend.sign_package(source, str(work / "signed"), PROFILE, now=now)
            codes.append(str(job["signedObject"]["path"]))
        else:
            codes.append(_local_code(work, index))
    return _template(work, "local.yaml", config, codes)


class WireCalls:
    """Counts the HTTP requests a backend's clients send (botocore ``before-send``)."""

    def __init__(self, backend: AwsBackend) -> None:
        self.calls: Counter[str] = Counter()
        clients = backend.clients
        for client in (clients.signer, clients.lambda_, clients.s3, clients.sts):
            client.meta.events.register("before-send", self._sent)

    def _sent(self, event_name: str, **_: Any) -> None:
        # before-send.<service>.<Operation>
        _event, service, operation = event_name.split(".", 2)
        self.calls[f"{service}:{operation}"] += 1


def _cache_shared_lookups(backend: AwsBackend) -> None:
    """What-if (this bench only): the look-ups every function shares, its code signing
    config and the signing profile of its job, made once per check, as a per-check cache
    in sam_ext/check would make them. Only calls actually sent are counted."""
    backend.csc_policy_of = functools.cache(backend.csc_policy_of)  # type: ignore[method-assign]
    signer = backend.clients.signer
    original = signer.get_signing_profile
    seen: dict[tuple[tuple[str, Any], ...], Any] = {}

    def get_signing_profile(**params: Any) -> Any:
        key = tuple(sorted(params.items()))
        if key not in seen:
            seen[key] = original(**params)
        return seen[key]

    signer.get_signing_profile = get_signing_profile  # type: ignore[method-assign]


def _in_process(template: Path, backend: Backend) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    report = check_template(template, CheckOptions(at=utcnow()), backend)
    elapsed = time.perf_counter() - start
    return elapsed, report.counts()


def _whole_process(template: Path, env: dict[str, str], *options: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [str(SAM_EXT), *options, "check", "--output", "json", "--", str(template)],
        capture_output=True, text=True, env=env, cwd=template.parent,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"sam-ext check failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    n = options.functions
    print(f"start: {load()}")
    runs: dict[str, list[float]] = {
        "aws_in_process": [],
        "aws_cached_in_process": [],
        "aws_process": [],
        "local_in_process": [],
        "local_process": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        server = start_server(work / "serve-home")
        try:
            served = _served_app(server.url, work / "served", n)
            local_home = work / "local-home"
            local = _local_app(local_home, work / "local", n)
            aws_env = {**os.environ, "AWS_ENDPOINT_URL": server.url}
            local_env = {**os.environ, "CODESIGN_HOME": str(local_home)}
            calls: Counter[str] = Counter()
            cached_calls: Counter[str] = Counter()
            counts: dict[str, dict[str, int]] = {}
            for repeat in range(options.repeats):
                # A fresh backend per run, as each sam-ext process opens its own.
                aws = AwsBackend("us-east-1", endpoint_url=server.url)
                wire = WireCalls(aws)
                elapsed, counts["aws"] = _in_process(served, aws)
                runs["aws_in_process"].append(elapsed)
                if repeat == 0:
                    calls = wire.calls
                cached = AwsBackend("us-east-1", endpoint_url=server.url)
                cached_wire = WireCalls(cached)
                _cache_shared_lookups(cached)
                elapsed, counts["aws_cached"] = _in_process(served, cached)
                runs["aws_cached_in_process"].append(elapsed)
                if repeat == 0:
                    cached_calls = cached_wire.calls
                elapsed, counts["local"] = _in_process(local, LocalBackend(local_home))
                runs["local_in_process"].append(elapsed)
                runs["aws_process"].append(_whole_process(served, aws_env, "--backend", "aws"))
                runs["local_process"].append(_whole_process(local, local_env))
        finally:
            server.stop()
    median = {key: statistics.median(values) for key, values in runs.items()}
    total = sum(calls.values())
    cached_total = sum(cached_calls.values())
    rows: list[tuple[str, ...]] = [
        ("backend", "in process s", "whole process s", "API calls", "calls / function"),
        (
            "aws (sam-ext serve)",
            f"{median['aws_in_process']:.2f}",
            f"{median['aws_process']:.2f}",
            str(total),
            f"{total / n:.2f}",
        ),
        (
            "aws, shared look-ups once (what-if)",
            f"{median['aws_cached_in_process']:.2f}",
            "",
            str(cached_total),
            f"{cached_total / n:.2f}",
        ),
        (
            "local",
            f"{median['local_in_process']:.2f}",
            f"{median['local_process']:.2f}",
            "0",
            "0",
        ),
    ]
    print(f"(h) sam-ext check, {n} functions (half local code, half S3/signed), {machine()}")
    print(table(rows))
    print("standings:", json.dumps(counts))
    print("calls by operation:", json.dumps(dict(calls.most_common())))
    print("what-if, calls by operation:", json.dumps(dict(cached_calls.most_common())))
    print(f"end: {load()}")
    for standing in (Standing.REJECT, Standing.ALLOW):
        assert counts["aws"][standing] == n // 2, (standing, counts)
    assert counts["aws_cached"] == counts["aws"] == counts["local"], counts
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "check.json").write_text(
        json.dumps(
            {
                "functions": n,
                "machine": machine(),
                "runs": runs,
                "median": median,
                "calls": dict(calls),
                "calls_shared_lookups_once": dict(cached_calls),
                "calls_per_function": total / n,
                "standings": counts,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
