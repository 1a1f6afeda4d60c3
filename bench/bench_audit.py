"""(h) ``sam-ext --backend aws audit`` of an account of 1,000 functions on ``sam-ext serve``
(its own process), with a peer account of 100 functions audited in the same run, to show
how the audit scales: its wall time and the API calls it makes, counted on the wire.

The accounts are regions of one server, populated fast with boto3 (a few signed packages
reused, functions created concurrently), in a mix: signed and allowed (some with a signed
layer), signed by a short-lived profile (expiring within the window), a revoked signature,
a revoked profile version, unsigned code under Warn, no config, a signed function with an
unsigned layer under Warn. The audit runs as a user runs it (``sam-ext --backend aws audit
--region R --within 30d --output json``, ``AWS_ENDPOINT_URL`` = the server), in a child
process whose every HTTP request botocore sends is counted by operation (retries included).

"Calls per function beyond the shared look-ups" is said two ways: (1) the calls of the
per-function operations (everything but listings and the cached job, profile and config
look-ups), divided by the functions; (2) the marginal cost, (calls at 1,000 - calls at
100) / 900, which needs no such classification.

Run: .venv/bin/python bench/bench_audit.py [--functions 1000] [--peer 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
PLATFORM = "AWSLambda-SHA384-ECDSA"
#: The operations whose calls do not grow with the functions: listings (a page per 50)
#: and the look-ups the audit caches (each job, profile, config once; each job's signed
#: object, whose SHA-256 the deployed code's is compared with) or makes once.
SHARED = frozenset(
    {
        "ListObjectVersions",
        "GetObject",
        "ListFunctions",
        "ListCodeSigningConfigs",
        "GetCodeSigningConfig",
        "ListFunctionsByCodeSigningConfig",
        "DescribeSigningJob",
        "GetSigningProfile",
        "ListSigningProfiles",
        "ListSigningJobs",
        "GetCallerIdentity",
    }
)
#: The mix of functions, by index modulo 10 (see :func:`populate`).
KINDS = (
    "allowed+layer",
    "allowed+layer",
    "allowed",
    "allowed",
    "expiring",
    "revoked signature",
    "revoked profile",
    "unsigned under Warn",
    "no config",
    "unsigned layer under Warn",
)


def _counting_child(out: str, argv: list[str]) -> int:
    """Run ``sam-ext`` with ``argv`` in this process, counting every HTTP request botocore
    sends (each attempt) by ``service:operation``; the counts go to ``out`` at the end."""
    import botocore.endpoint

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    local = threading.local()
    make_request = botocore.endpoint.Endpoint.make_request
    send = botocore.endpoint.Endpoint._send

    def counted_make_request(self: Any, operation_model: Any, request_dict: Any) -> Any:
        local.operation = operation_model.name
        return make_request(self, operation_model, request_dict)

    def counted_send(self: Any, request: Any) -> Any:
        with lock:
            counts[getattr(local, "operation", "?")] += 1
        return send(self, request)

    botocore.endpoint.Endpoint.make_request = counted_make_request  # type: ignore[method-assign]
    botocore.endpoint.Endpoint._send = counted_send  # type: ignore[method-assign]
    from sam_ext.cli import main

    try:
        status = main(argv)
    finally:
        Path(out).write_text(json.dumps(dict(counts)))
    return status


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "--counting-child":
    sys.exit(_counting_child(sys.argv[2], sys.argv[3:]))

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))
from common import load, machine, offline_aws, table  # noqa: E402

offline_aws()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from endpoint.serving import start_server  # noqa: E402
from fake_aws import fixed_zip  # noqa: E402


@dataclass
class Account:
    """One populated region: its functions, by kind, and how long populating took."""

    region: str
    functions: int
    seconds: float
    kinds: Counter[str] = field(default_factory=Counter)


class Populator:
    """boto3 clients of one region of the server, and what is shared by its functions."""

    def __init__(self, url: str, region: str, workers: int) -> None:
        session = boto3.session.Session(region_name=region)
        config = Config(max_pool_connections=workers + 4, retries={"max_attempts": 5})
        self.region = region
        self.s3 = session.client("s3", endpoint_url=url, config=config)
        self.signer = session.client("signer", endpoint_url=url, config=config)
        self.lambda_ = session.client("lambda", endpoint_url=url, config=config)
        self.iam = session.client("iam", endpoint_url=url, config=config)
        self.tag = region.replace("-", "")
        self.bucket = f"audit-bench-{self.tag}"
        self.workers = workers

    def profile(self, name: str, validity: dict[str, Any] | None = None) -> str:
        extra = {"signatureValidityPeriod": validity} if validity else {}
        put = self.signer.put_signing_profile(
            profileName=f"{name}_{self.tag}", platformId=PLATFORM, **extra
        )
        return str(put["profileVersionArn"])

    def sign(self, profile: str, key: str, data: bytes) -> dict[str, Any]:
        version = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)["VersionId"]
        job = self.signer.start_signing_job(
            source={"s3": {"bucketName": self.bucket, "key": key, "version": version}},
            destination={"s3": {"bucketName": self.bucket, "prefix": "signed/"}},
            profileName=f"{profile}_{self.tag}",
            clientRequestToken=f"{self.tag}-{key}",
        )
        self.signer.get_waiter("successful_signing_job").wait(
            jobId=job["jobId"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
        )
        return dict(self.signer.describe_signing_job(jobId=job["jobId"]))

    def csc(self, arns: list[str], policy: str) -> str:
        return str(
            self.lambda_.create_code_signing_config(
                AllowedPublishers={"SigningProfileVersionArns": arns},
                CodeSigningPolicies={"UntrustedArtifactOnDeployment": policy},
            )["CodeSigningConfig"]["CodeSigningConfigArn"]
        )

    def layer(self, code: dict[str, Any]) -> str:
        return str(
            self.lambda_.publish_layer_version(LayerName=f"deps-{self.tag}", Content=code)[
                "LayerVersionArn"
            ]
        )


def _code(job: dict[str, Any]) -> dict[str, str]:
    signed = job["signedObject"]["s3"]
    return {"S3Bucket": signed["bucketName"], "S3Key": signed["key"]}


def populate(url: str, region: str, count: int, workers: int) -> Account:
    """``count`` functions in ``region``, in the mix of :data:`KINDS`, created ``workers``
    at once; then a signature and a profile version revoked."""
    start = time.perf_counter()
    p = Populator(url, region, workers)
    p.s3.create_bucket(
        Bucket=p.bucket,
        **(
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        ),
    )
    p.s3.put_bucket_versioning(Bucket=p.bucket, VersioningConfiguration={"Status": "Enabled"})
    publisher = p.profile("publisher")
    short = p.profile("shortlived", {"value": 20, "type": "DAYS"})
    doomed = p.profile("doomed")
    app = fixed_zip({"app.py": b"def handler(e, c):\n    return 1\n"})
    jobs = {
        "publisher": p.sign("publisher", "src/app.zip", app),
        "to_revoke": p.sign("publisher", "src/app2.zip", fixed_zip({"app.py": b"R = 2\n"})),
        "short": p.sign("shortlived", "src/short.zip", app),
        "doomed": p.sign("doomed", "src/doomed.zip", app),
        "layer": p.sign("publisher", "src/layer.zip", fixed_zip({"python/dep.py": b"D = 1\n"})),
    }
    enforce = p.csc([publisher, short, doomed], "Enforce")
    warn = p.csc([publisher], "Warn")
    signed_layer = p.layer(_code(jobs["layer"]))
    unsigned_layer = p.layer({"ZipFile": fixed_zip({"python/vendor.py": b"V = 1\n"})})
    role = p.iam.create_role(RoleName=f"audit-{p.tag}", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    unsigned = fixed_zip({"app.py": b"def handler(e, c):\n    return 0\n"})
    plans: dict[str, tuple[dict[str, Any], str | None, list[str]]] = {
        "allowed+layer": (_code(jobs["publisher"]), enforce, [signed_layer]),
        "allowed": (_code(jobs["publisher"]), enforce, []),
        "expiring": (_code(jobs["short"]), enforce, []),
        "revoked signature": (_code(jobs["to_revoke"]), enforce, []),
        "revoked profile": (_code(jobs["doomed"]), enforce, []),
        "unsigned under Warn": ({"ZipFile": unsigned}, warn, []),
        "no config": (_code(jobs["publisher"]), None, []),
        "unsigned layer under Warn": (_code(jobs["publisher"]), warn, [unsigned_layer]),
    }
    account = Account(region, count, 0.0)

    def create(index: int) -> None:
        kind = KINDS[index % len(KINDS)]
        code, csc, layers = plans[kind]
        extra: dict[str, Any] = {"CodeSigningConfigArn": csc} if csc else {}
        if layers:
            extra["Layers"] = layers
        p.lambda_.create_function(
            FunctionName=f"fn-{index:04d}-{kind.replace(' ', '-').replace('+', '-')}",
            Runtime="python3.12",
            Handler="app.handler",
            Role=role,
            Code=code,
            **extra,
        )

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, range(count)))
    account.kinds.update(KINDS[i % len(KINDS)] for i in range(count))
    # Since the deploys: a signature revoked, a profile version revoked from before it signed.
    p.signer.revoke_signature(jobId=jobs["to_revoke"]["jobId"], reason="key leaked")
    doomed_job = jobs["doomed"]
    p.signer.revoke_signing_profile(
        profileName=doomed_job["profileName"],
        profileVersion=doomed_job["profileVersion"],
        reason="compromised",
        effectiveTime=doomed_job["createdAt"] - timedelta(seconds=1),
    )
    account.seconds = time.perf_counter() - start
    return account


@dataclass
class Run:
    """One audit: its wall time, exit status, calls by operation and standings."""

    wall: float
    status: int
    calls: Counter[str]
    standings: dict[str, int]
    functions: int
    expiring: int

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def per_function_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if op not in SHARED)


def audit(url: str, region: str, work: Path) -> Run:
    """``sam-ext --backend aws audit`` of ``region`` in a counting child process."""
    counts, report = work / f"calls-{region}.json", work / f"report-{region}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--counting-child",
        str(counts),
        "--backend",
        "aws",
        "audit",
        "--region",
        region,
        "--within",
        "30d",
        "--output",
        "json",
    ]
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    with report.open("w") as out:
        finished = subprocess.run(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True
        )
    wall = time.perf_counter() - start
    if finished.returncode not in (0, 1):  # 1: some function's standing is REJECT
        raise RuntimeError(f"audit exited {finished.returncode}: {finished.stderr[-3000:]}")
    document = json.loads(report.read_text())
    return Run(
        wall,
        finished.returncode,
        Counter(json.loads(counts.read_text())),
        dict(document["summary"]["by_standing"]),
        int(document["summary"]["functions"]),
        int(document["summary"]["expiring_within"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--peer", type=int, default=100, help="the peer account's functions")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16, help="creates at once (populating)")
    options = parser.parse_args()
    big, small = "us-east-1", "us-west-2"
    started = load()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        server = start_server(work / "home")
        try:
            accounts = {
                big: populate(server.url, big, options.functions, options.workers),
                small: populate(server.url, small, options.peer, options.workers),
            }
            runs: dict[str, list[Run]] = {big: [], small: []}
            for _ in range(options.repeats):
                for region in (small, big):
                    runs[region].append(audit(server.url, region, work))
        finally:
            server.stop()
    ended = load()
    best = {region: min(found, key=lambda r: r.wall) for region, found in runs.items()}
    median = {region: statistics.median(r.wall for r in found) for region, found in runs.items()}
    for region, run in best.items():
        assert run.functions == accounts[region].functions, (run.functions, region)
    marginal = (best[big].total - best[small].total) / (options.functions - options.peer)
    rows = [
        (
            "account",
            "populate s",
            "audit wall s (median)",
            "calls",
            "per-function calls",
            "per function",
            "standings (expiring within 30d)",
        )
    ]
    for region in (small, big):
        run, account = best[region], accounts[region]
        rows.append(
            (
                f"{account.functions} functions ({region})",
                f"{account.seconds:.1f}",
                f"{median[region]:.2f}",
                str(run.total),
                str(run.per_function_calls),
                f"{run.per_function_calls / account.functions:.2f}",
                " ".join(f"{k}={v}" for k, v in sorted(run.standings.items()) if v)
                + f" ({run.expiring})",
            )
        )
    print(f"(h) sam-ext --backend aws audit on sam-ext serve, {machine()}")
    print(f"    at start: {started}; at end: {ended}")
    print(table(rows))
    print(
        f"marginal calls per function, (calls at {options.functions} - calls at "
        f"{options.peer}) / {options.functions - options.peer}: {marginal:.2f}"
    )
    print("calls by operation at", options.functions, "functions:")
    for operation, count in sorted(best[big].calls.items(), key=lambda kv: -kv[1]):
        kind = "shared" if operation in SHARED else "per function"
        print(f"    {operation:36s} {count:6d}  {kind}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit.json").write_text(
        json.dumps(
            {
                "measured": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "load": {"start": started, "end": ended},
                "accounts": {
                    region: {
                        "functions": account.functions,
                        "populate_seconds": account.seconds,
                        "kinds": dict(account.kinds),
                        "audit_walls": [r.wall for r in runs[region]],
                        "calls": dict(best[region].calls),
                        "standings": best[region].standings,
                        "expiring_within": best[region].expiring,
                    }
                    for region, account in accounts.items()
                },
                "marginal_calls_per_function": marginal,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
