"""(b) Verification throughput on a 50 MB package, beside raw SHA-384 (hashlib).

Run: .venv/bin/python bench/bench_verify.py [--size-mb 50] [--repeats 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import machine, median_seconds, table

from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.verdict import CscPolicy, Decision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
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
        size = signed.stat().st_size
        signed.read_bytes()  # warm the page cache for every contender alike

        def raw_hash() -> None:
            with signed.open("rb") as handle:
                hashlib.file_digest(handle, "sha384")

        def verify() -> None:
            verdict = backend.evaluate_package(signed, policy, at=utcnow())
            assert verdict.decision is Decision.ALLOW

        cli = [
            str(Path(sys.executable).parent / "sam-ext"),
            "--home",
            str(root / "home"),
            "verify",
            str(signed),
            "--csc-file",
            str(root / "csc.json"),
        ]
        csc = {
            "AllowedPublishers": {"SigningProfileVersionArns": [profile["profileVersionArn"]]},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
        }
        (root / "csc.json").write_text(json.dumps(csc))

        def verify_cli() -> None:
            subprocess.run(cli, check=True, capture_output=True)

        hash_s, _ = median_seconds(raw_hash, args.repeats)
        verify_s, _ = median_seconds(verify, args.repeats)
        cli_s, _ = median_seconds(verify_cli, args.repeats)
    mb = size / 1e6
    rows = [("what", "median s", "MB/s", "vs hashlib")]
    for name, seconds in (
        ("hashlib SHA-384", hash_s),
        ("verify (library)", verify_s),
        ("sam-ext verify (process)", cli_s),
    ):
        rows.append((name, f"{seconds:.3f}", f"{mb / seconds:.0f}", f"{hash_s / seconds:.2f}"))
    print(
        f"(b) verification of a {mb:.1f} MB signed package, median of {args.repeats}; {machine()}"
    )
    print(table(rows))
    print(f"target: verify >= 0.70 of hashlib's throughput -> {hash_s / verify_s:.2f}")


if __name__ == "__main__":
    main()
