"""(b) Verification of a 50 MB signed package: `sam-ext verify` as a whole process beside
`sha384sum` of the same file (runs taken in turn), and the library beside hashlib.

Run: .venv/bin/python bench/bench_verify.py [--size-mb 50] [--repeats 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import load, machine, process_table, python_start_up, run_in_turn, table

from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.verdict import CscPolicy, Decision

RESULTS = Path(__file__).parent / "results"


def _cpu_median(run: object, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        run()  # type: ignore[operator]
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    started_load = load()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = root / "big.zip"
        with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("app.py", "x = 1\n")
            archive.writestr("deps.bin", os.urandom(args.size_mb * 1024 * 1024))
        backend = LocalBackend(root / "home")
        profile = backend.put_signing_profile(
            "bench", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=utcnow()
        )
        job = backend.sign_package(source, str(root / "out"), "bench", now=utcnow())
        signed = Path(job["signedObject"]["path"])
        policy = CscPolicy((profile["profileVersionArn"],), "Enforce")
        csc = backend.create_code_signing_config(
            [profile["profileVersionArn"]], policy="Enforce", description=None, now=utcnow()
        )["CodeSigningConfig"]
        csc_file = root / "csc.json"
        csc_file.write_text(
            json.dumps(
                {
                    "AllowedPublishers": csc["AllowedPublishers"],
                    "CodeSigningPolicies": csc["CodeSigningPolicies"],
                }
            )
        )
        size = signed.stat().st_size
        signed.read_bytes()  # warm the page cache for every contender alike

        def raw_hash() -> None:
            with signed.open("rb") as handle:
                hashlib.file_digest(handle, "sha384")

        def verify() -> None:
            verdict = backend.evaluate_package(signed, policy, at=utcnow())
            assert verdict.decision is Decision.ALLOW

        sam_ext = str(Path(sys.executable).parent / "sam-ext")
        base = [sam_ext, "--home", str(root / "home"), "verify", str(signed)]
        processes = {
            "sha384sum": [shutil.which("sha384sum") or "sha384sum", str(signed)],
            "sam-ext verify --code-signing-config-arn": [
                *base,
                "--code-signing-config-arn",
                csc["CodeSigningConfigArn"],
            ],
            "sam-ext verify --csc-file": [*base, "--csc-file", str(csc_file)],
        }
        series = run_in_turn(processes, env, args.repeats)
        hash_s = _cpu_median(raw_hash, args.repeats)
        verify_s = _cpu_median(verify, args.repeats)
        start_up = python_start_up(sys.executable)
    mb = size / 1e6
    peer = series["sha384sum"]
    print(
        f"(b) verification of a {mb:.1f} MB signed package, median of {args.repeats} runs "
        f"taken in turn; {machine()}; {started_load} at the start, {load()} at the end"
    )
    print(process_table(series, "sha384sum", "sha384sum", 2))
    rows = [("in process", "wall s", "cpu s", "MB/s")]
    for name, (wall, cpu) in (("hashlib SHA-384", hash_s), ("verify (library)", verify_s)):
        rows.append((name, f"{wall:.3f}", f"{cpu:.3f}", f"{mb / wall:.0f}"))
    rows.append(("python -c pass", f"{start_up.wall:.3f}", f"{start_up.cpu:.3f}", ""))
    print(table(rows))
    print("target: sam-ext verify (whole process) <= 1.5x sha384sum")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "verify.json").write_text(
        json.dumps(
            {
                "size_mb": mb,
                "processes": {name: entry.to_json() for name, entry in series.items()},
                "ratios": {
                    name: {"wall": entry.ratio(peer), "cpu": entry.ratio(peer, "cpu")}
                    for name, entry in series.items()
                },
                "hashlib": hash_s,
                "library": verify_s,
                "python_start_up": [start_up.wall, start_up.cpu],
                "conditions": {
                    "machine": machine(),
                    "load_start": started_load,
                    "load_end": load(),
                    "repeats": args.repeats,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
