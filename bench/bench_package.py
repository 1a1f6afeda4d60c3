"""(a) `sam-ext package` (local backend, signing on) versus `sam package` (no signing, S3 on
moto's server on loopback), cold (empty caches, empty bucket) and warm (second run).

Run: bash bench/setup.sh && .venv/bin/python bench/bench_package.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).parent))

from common import generate_app, machine, median_seconds, table

ROOT = Path(__file__).resolve().parents[1]
BENCH_BIN = ROOT / ".bench-venv" / "bin"
SAM_EXT = ROOT / ".venv" / "bin" / "sam-ext"
RESULTS = Path(__file__).parent / "results"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """moto's S3 on loopback, for as long as the benchmark runs."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(BENCH_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("moto_server did not start")

    def new_bucket(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:12]}"
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _env(endpoint: str) -> dict[str, str]:
    # Python's default: cached bytecode (some sandboxes disable it, slowing every start-up).
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**base, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "SAM_CLI_TELEMETRY": "0"}


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr[-2000:]}")


def bench_scenario(name: str, template: Path, functions: list[str], server: MotoServer,
                   home: Path, repeats: int) -> dict[str, float]:
    env = _env(server.endpoint)
    out = template.parent / "packaged.yaml"
    profiles = " ".join(f"{f}=bench_profile" for f in functions)
    state: dict[str, object] = {}

    def fresh_bucket() -> None:
        state["bucket"] = server.new_bucket()

    def sam_package() -> None:
        _run([str(BENCH_BIN / "sam"), "package", "--template-file", str(template),
              "--s3-bucket", str(state["bucket"]), "--output-template-file", str(out)], env)

    def fresh_artifacts() -> None:
        state["artifacts"] = template.parent / f"artifacts-{uuid.uuid4().hex[:8]}"

    def sam_ext_package() -> None:
        _run([str(SAM_EXT), "--home", str(home), "package", "--template-file", str(template),
              "--signing-profiles", profiles, "--artifact-dir", str(state["artifacts"]),
              "--output-template-file", str(out)], env)

    sam_cold, _ = median_seconds(sam_package, repeats, before=fresh_bucket)
    sam_warm, _ = median_seconds(sam_package, repeats)  # same bucket: objects exist
    ext_cold, _ = median_seconds(sam_ext_package, repeats, before=fresh_artifacts)
    ext_warm, _ = median_seconds(sam_ext_package, repeats)  # same artifact dir: cached
    return {"sam_cold": sam_cold, "sam_warm": sam_warm, "ext_cold": ext_cold,
            "ext_warm": ext_warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (BENCH_BIN / "sam").exists():
        sys.exit("run `bash bench/setup.sh` first (installs the SAM CLI and moto's server)")
    server = MotoServer()
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            home = root / "keystore"
            _run([str(SAM_EXT), "--home", str(home), "profile", "put", "--profile-name",
                  "bench_profile"], dict(os.environ))
            scenarios = {
                "20 functions x 2 MB": (root / "app20", 20, 2_000_000, 20),
                "1 function, 50 MB deps": (root / "big", 1, 50_000_000, 500),
            }
            for label, (directory, count, size, files) in scenarios.items():
                template = generate_app(directory, count, size, files)
                names = [f"Function{i:02d}" for i in range(count)]
                print(f"running: {label}", file=sys.stderr)
                results[label] = bench_scenario(label, template, names, server, home,
                                                args.repeats)
    finally:
        server.stop()
    rows = [("scenario", "sam package cold", "sam-ext cold", "ratio", "sam package warm",
             "sam-ext warm", "ratio")]
    for label, r in results.items():
        rows.append((label, f"{r['sam_cold']:.2f}s", f"{r['ext_cold']:.2f}s",
                     f"{r['ext_cold'] / r['sam_cold']:.2f}x", f"{r['sam_warm']:.2f}s",
                     f"{r['ext_warm']:.2f}s", f"{r['ext_warm'] / r['sam_warm']:.2f}x"))
    print(f"(a) packaging, median of {args.repeats}; sam-ext signs every function, sam "
          f"package signs none; {machine()}")
    print(table(rows))
    print("targets: cold <= 0.5x, warm <= 0.1x of sam package")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "package.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
