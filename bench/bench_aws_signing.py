"""(c) ``sam-ext --backend aws package`` of N functions against ``sam-ext serve --job-delay
2`` (its own process: Signer jobs that stay InProgress 2 s, S3 and the rest served), each
run a whole ``sam-ext`` process with its default ``--jobs``, against the same command for
one function. Every run is cold: a fresh S3 prefix and artifact directory, so every
package is uploaded and signed. ``--compare-jobs 4 1`` adds runs with those ``--jobs``
(4: the default before; 1: one at a time, as SAM CLI signs).

Run: .venv/bin/python bench/bench_aws_signing.py [--packages 50] [--repeats 3]
     [--compare-jobs 4 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))

from common import Sample, load, machine, offline_aws, run_process, table  # noqa: E402

offline_aws()

import boto3  # noqa: E402
from endpoint.serving import start_server  # noqa: E402

from provider.backends.batch import DEFAULT_JOBS  # noqa: E402

RESULTS = Path(__file__).parent / "results"
SAM_EXT = Path(sys.executable).parent / "sam-ext"
JOB_DELAY = 2.0
PROFILE = "bench_c"


def _app(root: Path, functions: int) -> Path:
    """A SAM template of ``functions`` small functions; returns its path."""
    lines = ["Transform: AWS::Serverless-2016-10-31", "Resources:"]
    for index in range(functions):
        name = f"Function{index:02d}"
        (root / name).mkdir(parents=True)
        (root / name / "app.py").write_text(f"def handler(event, context):\n    return {index}\n")
        lines += [
            f"  {name}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      CodeUri: {name}/",
            "      Handler: app.handler",
            "      Runtime: python3.12",
        ]
    (root / "template.yaml").write_text("\n".join(lines) + "\n")
    return root / "template.yaml"


class Bench:
    """Cold ``sam-ext --backend aws package`` runs against one server and bucket."""

    def __init__(self, url: str, work: Path) -> None:
        self.env = {**os.environ, "AWS_ENDPOINT_URL": url}
        self.work = work
        self.runs = 0
        s3 = boto3.client("s3", endpoint_url=url)
        s3.create_bucket(Bucket="bench-c")
        s3.put_bucket_versioning(Bucket="bench-c", VersioningConfiguration={"Status": "Enabled"})
        signer = boto3.client("signer", endpoint_url=url)
        signer.put_signing_profile(profileName=PROFILE, platformId="AWSLambda-SHA384-ECDSA")

    def package(self, template: Path, functions: int, jobs: int | None = None) -> Sample:
        """One cold run: a new prefix and artifact directory (nothing cached)."""
        self.runs += 1
        profiles = " ".join(f"Function{i:02d}={PROFILE}" for i in range(functions))
        command = [
            str(SAM_EXT), "--backend", "aws", "package", "-t", str(template),
            "--s3-bucket", "bench-c", "--s3-prefix", f"run{self.runs}",
            "--artifact-dir", str(self.work / f"artifacts{self.runs}"),
            "--signing-profiles", profiles,
            "--output-template-file", str(self.work / f"packaged{self.runs}.yaml"),
        ]  # fmt: skip
        if jobs is not None:
            command += ["--jobs", str(jobs)]
        sample = run_process(command, self.env)
        packaged = (self.work / f"packaged{self.runs}.yaml").read_text()
        assert packaged.count("/signed_") == functions, packaged
        return sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare-jobs", type=int, nargs="*", default=[])
    options = parser.parse_args()
    n = options.packages
    started_under = load()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        one_app, many_app = _app(work / "one", 1), _app(work / "many", n)
        server = start_server(work / "home", "--job-delay", str(JOB_DELAY))
        try:
            bench = Bench(server.url, work)
            bench.package(one_app, 1)  # warm-up: the server's first requests, .pyc files
            one: list[Sample] = []
            many: list[Sample] = []
            for _ in range(options.repeats):  # in turn: a drift of the load hits both
                one.append(bench.package(one_app, 1))
                many.append(bench.package(many_app, n))
            compared = {jobs: bench.package(many_app, n, jobs) for jobs in options.compare_jobs}
        finally:
            server.stop()
    ended_under = load()
    one_wall = statistics.median(s.wall for s in one)
    many_wall = statistics.median(s.wall for s in many)
    ratio = statistics.median(m.wall / o.wall for m, o in zip(many, one, strict=True))
    rows = [
        ("sam-ext --backend aws package", "wall s (median)", "cpu s", "x one package"),
        ("1 function", f"{one_wall:.2f}", f"{statistics.median(s.cpu for s in one):.2f}", "1.00"),
        (
            f"{n} functions, default --jobs ({min(DEFAULT_JOBS, n)} at a time)",
            f"{many_wall:.2f}",
            f"{statistics.median(s.cpu for s in many):.2f}",
            f"{ratio:.2f}",
        ),
    ]
    for jobs, sample in compared.items():
        rows.append(
            (
                f"{n} functions, --jobs {jobs} (one run)",
                f"{sample.wall:.2f}",
                f"{sample.cpu:.2f}",
                f"{sample.wall / one_wall:.2f}",
            )
        )
    print(f"(c) sam-ext serve --job-delay {JOB_DELAY:g}; {machine()}")
    print(f"start: {started_under}; end: {ended_under}")
    print(table(rows))
    print(f"target: {n} packages <= 2x one package -> {ratio:.2f}x (median of pair ratios)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "aws_signing.json").write_text(
        json.dumps(
            {
                "job_delay": JOB_DELAY,
                "packages": n,
                "default_jobs": min(DEFAULT_JOBS, n),
                "machine": machine(),
                "load": {"start": started_under, "end": ended_under},
                "one": [[s.wall, s.cpu] for s in one],
                "many": [[s.wall, s.cpu] for s in many],
                "one_wall": one_wall,
                "many_wall": many_wall,
                "ratio": ratio,
                "compared": {str(j): [s.wall, s.cpu] for j, s in compared.items()},
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
