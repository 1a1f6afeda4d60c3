"""(a) `sam-ext package` (local backend, signing on) versus `sam package` (no signing, S3 on
moto's server on loopback), cold (fresh keystore and artifact directory / empty bucket) and
warm (the same command again), each run a whole process timed by the kernel's accounting
(wall and CPU seconds); sam-ext both with ISA-L (as installed) and on its zlib fallback.

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
import zlib
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).parent))

from common import Series, generate_app, load, machine, python_start_up, run_process, table

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
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
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
        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _env(endpoint: str) -> dict[str, str]:
    # Python's default: cached bytecode (some sandboxes disable it, slowing every start-up).
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {
        **base,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }


#: sam-ext as shipped (ISA-L where installed), and forced onto the zlib fallback.
DEFLATES = {"ext": "", "ext_zlib": "zlib"}


def bench_scenario(
    template: Path, functions: list[str], server: MotoServer, scratch: Path, repeats: int
) -> dict[str, Series]:
    """Every contender cold then warm, in turn, ``repeats`` times (A B C A B C ...): each
    cold sam package gets a fresh bucket, each cold sam-ext a fresh keystore and artifact
    directory; each warm run repeats the cold run just before it."""
    env = _env(server.endpoint)
    out = template.parent / "packaged.yaml"
    profiles = " ".join(f"{f}=bench_profile" for f in functions)
    series = {f"{name}_{phase}": Series(f"{name} {phase}")
              for phase in ("cold", "warm") for name in ("sam", *DEFLATES)}  # fmt: skip

    def sam_package(bucket: str) -> list[str]:
        return [str(BENCH_BIN / "sam"), "package", "--template-file", str(template),
                "--s3-bucket", bucket, "--output-template-file", str(out)]  # fmt: skip

    def sam_ext_package(home: Path, artifacts: Path) -> list[str]:
        return [str(SAM_EXT), "--home", str(home), "package", "--template-file", str(template),
                "--signing-profiles", profiles, "--artifact-dir", str(artifacts),
                "--output-template-file", str(out)]  # fmt: skip

    for _ in range(repeats):
        bucket = server.new_bucket()
        runs: dict[str, tuple[list[str], dict[str, str]]] = {"sam": (sam_package(bucket), env)}
        for name, deflate in DEFLATES.items():
            fresh = scratch / uuid.uuid4().hex[:8]
            run_process([str(SAM_EXT), "--home", str(fresh / "keystore"), "profile", "put",
                         "--profile-name", "bench_profile"], env)  # fmt: skip
            runs[name] = (sam_ext_package(fresh / "keystore", fresh / "artifacts"),
                          {**env, "CODESIGN_DEFLATE": deflate})  # fmt: skip
        for phase in ("cold", "warm"):
            for name, (command, run_env) in runs.items():
                series[f"{name}_{phase}"].samples.append(run_process(command, run_env))
    return series


def floor(source_root: Path) -> dict[str, float]:
    """What the work itself costs, in this process: deflate of every source file on 2
    threads (ISA-L level 2, zlib level 1 and 6), SHA-256 of the sources, SHA-384 of the
    zipped bytes, one ECDSA P-384 signature and verification, and Python's start-up."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    files = [p.read_bytes() for p in sorted(source_root.rglob("*")) if p.is_file()]
    result: dict[str, float] = {"source_mb": sum(map(len, files)) / 1e6}
    compressors: dict[str, object] = {
        "zlib-6": lambda d: zlib.compress(d, 6, wbits=-15),
        "zlib-1": lambda d: zlib.compress(d, 1, wbits=-15),
    }
    try:
        from isal import isal_zlib

        compressors["isal-2"] = lambda d: isal_zlib.compress(d, 2, wbits=-15)
    except ImportError:
        pass
    zipped = b""
    for name, compress in compressors.items():
        with ThreadPoolExecutor(2) as pool:
            start = time.perf_counter()
            outputs = list(pool.map(compress, files))  # type: ignore[arg-type]
            result[f"deflate {name}, 2 threads"] = time.perf_counter() - start
        result[f"zipped MB {name}"] = sum(map(len, outputs)) / 1e6
        zipped = b"".join(outputs)
    start = time.perf_counter()
    for data in files:
        hashlib.sha256(data).digest()
    result["sha256 of the sources"] = time.perf_counter() - start
    start = time.perf_counter()
    hashlib.sha384(zipped).digest()
    result["sha384 of the zipped bytes"] = time.perf_counter() - start
    key = ec.generate_private_key(ec.SECP384R1())
    start = time.perf_counter()
    signature = key.sign(b"x" * 500, ec.ECDSA(hashes.SHA384()))
    result["ecdsa sign"] = time.perf_counter() - start
    start = time.perf_counter()
    key.public_key().verify(signature, b"x" * 500, ec.ECDSA(hashes.SHA384()))
    result["ecdsa verify"] = time.perf_counter() - start
    result["python start-up"] = python_start_up(sys.executable).wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--scenario",
        choices=["20", "1", "all"],
        default="all",
        help="20 functions x 2 MB, 1 function of 50 MB, or both",
    )
    args = parser.parse_args()
    if not (BENCH_BIN / "sam").exists():
        sys.exit("run `bash bench/setup.sh` first (installs the SAM CLI and moto's server)")
    server = MotoServer()
    results: dict[str, dict[str, Series]] = {}
    floors: dict[str, dict[str, float]] = {}
    started_load = load()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            scenarios = {
                "20 functions x 2 MB": (root / "app20", 20, 2_000_000, 20),
                "1 function, 50 MB deps": (root / "big", 1, 50_000_000, 500),
            }
            if args.scenario == "20":
                del scenarios["1 function, 50 MB deps"]
            elif args.scenario == "1":
                del scenarios["20 functions x 2 MB"]
            for label, (directory, count, size, files) in scenarios.items():
                template = generate_app(directory, count, size, files)
                names = [f"Function{i:02d}" for i in range(count)]
                print(f"running: {label}", file=sys.stderr)
                results[label] = bench_scenario(
                    template, names, server, root / "runs", args.repeats
                )
                floors[label] = floor(directory / "src")
    finally:
        server.stop()
    print(
        f"(a) packaging, median of {args.repeats} runs taken in turn; sam-ext signs every "
        f"function (a fresh keystore per cold run), sam package signs none; {machine()}; "
        f"{started_load} at the start, {load()} at the end"
    )
    rows = [
        (
            "scenario",
            "run",
            "sam package",
            "sam-ext",
            "ratio wall",
            "ratio cpu",
            "sam-ext zlib",
            "ratio wall",
            "ratio cpu",
        )
    ]
    for label, r in results.items():
        for phase in ("cold", "warm"):
            sam, ext, fallback = r[f"sam_{phase}"], r[f"ext_{phase}"], r[f"ext_zlib_{phase}"]
            rows.append((label, phase, f"{sam.wall:.2f}s ({sam.cpu:.2f} cpu)",
                         f"{ext.wall:.3f}s ({ext.cpu:.3f} cpu)", f"{ext.ratio(sam):.3f}x",
                         f"{ext.ratio(sam, 'cpu'):.3f}x",
                         f"{fallback.wall:.3f}s ({fallback.cpu:.3f} cpu)",
                         f"{fallback.ratio(sam):.3f}x",
                         f"{fallback.ratio(sam, 'cpu'):.3f}x"))  # fmt: skip
    print(table(rows))
    print("targets: cold <= 0.15x and warm <= 0.05x of sam package")
    for label, values in floors.items():
        print(f"floor, {label}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "package.json").write_text(json.dumps({
        label: {**{k: s.wall for k, s in r.items()},
                "cpu": {k: s.cpu for k, s in r.items()},
                "ratios": {f"{n}_{p}": {"wall": r[f"{n}_{p}"].ratio(r[f"sam_{p}"]),
                                        "cpu": r[f"{n}_{p}"].ratio(r[f"sam_{p}"], "cpu")}
                           for n in DEFLATES for p in ("cold", "warm")},
                "samples": {k: s.to_json() for k, s in r.items()},
                "floor": floors[label]}
        for label, r in results.items()
    } | {"conditions": {"machine": machine(), "load_start": started_load, "load_end": load(),
                        "repeats": args.repeats}}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
