"""(e) `sam-ext sign` of a 48 MB zip (outside input: every member is CRC-checked) beside a
rough peer doing less checking: `zip -r -6` of the same content plus `openssl dgst -sha384
-sign` of the result. Runs are whole processes taken in turn; also the parts of a sign, in
process: the member check, the SHA-384 and the rest.

Run: .venv/bin/python bench/bench_sign.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import load, machine, process_table, run_in_turn, source_like_bytes

from provider import package
from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.deflate import implementation
from provider.inspect_package import mapped

RESULTS = Path(__file__).parent / "results"


def content(root: Path) -> None:
    """About 104 MB of source-like text in 26 files and 24 MB of random bytes (built
    libraries compress little): `zip -6` makes a 48 MB zip of it."""
    rng = random.Random(1234)
    text = source_like_bytes(4_000_000, rng)
    (root / "pkg").mkdir(parents=True)
    for index in range(26):
        (root / "pkg" / f"module_{index:02d}.py").write_bytes(f"# {index}\n".encode() + text)
    for index in range(6):
        (root / "pkg" / f"lib_{index}.so").write_bytes(os.urandom(4_000_000))


def parts(zip_path: Path, repeats: int) -> dict[str, float]:
    """Median CPU seconds of the member check and of the digest, in this process."""
    timings: dict[str, list[float]] = {"member check (inflate + CRC-32)": [], "SHA-384": []}
    with mapped(zip_path) as data:
        directory = package._find_directory(data)
        records = package._central_records(data, directory)
        for _ in range(repeats):
            start = time.process_time()
            package._check_contents(data, records, directory.cd_offset)
            timings["member check (inflate + CRC-32)"].append(time.process_time() - start)
            start = time.process_time()
            unsigned = package.UnsignedArchive(data, directory, "", len(records))
            hasher = hashlib.sha384()
            for chunk in unsigned.chunks():
                hasher.update(chunk)
            timings["SHA-384"].append(time.process_time() - start)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for tool in ("zip", "openssl"):
        if shutil.which(tool) is None:
            sys.exit(f"bench_sign needs `{tool}` on PATH")
    started_load = load()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        content(root / "src")
        source = root / "input.zip"
        subprocess.run(["zip", "-q", "-r", "-6", str(source), "pkg"], cwd=root / "src", check=True)
        key = root / "key.pem"
        subprocess.run(
            ["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", str(key)],
            check=True,
        )
        home = root / "home"
        LocalBackend(home).put_signing_profile(
            "bench", platform_id="AWSLambda-SHA384-ECDSA", validity=None, tags=None, now=utcnow()
        )
        peer_zip = root / "peer.zip"
        peer = (
            f"rm -f {peer_zip} && cd {root / 'src'} && zip -q -r -6 {peer_zip} pkg && "
            f"openssl dgst -sha384 -sign {key} -out {root / 'peer.sig'} {peer_zip}"
        )
        commands = {
            "zip -r -6 + openssl dgst -sign": ["sh", "-c", peer],
            "sam-ext sign": [
                str(Path(sys.executable).parent / "sam-ext"),
                "--home",
                str(home),
                "sign",
                "--profile-name",
                "bench",
                "--source",
                str(source),
                "--destination",
                str(root / "signed"),
            ],
        }
        series = run_in_turn(commands, env, args.repeats)
        breakdown = parts(source, args.repeats)
        zip_mb = source.stat().st_size / 1e6
        content_mb = sum(p.stat().st_size for p in (root / "src").rglob("*") if p.is_file()) / 1e6
    peer_series = series["zip -r -6 + openssl dgst -sign"]
    ours = series["sam-ext sign"]
    print(
        f"(e) signing a {zip_mb:.1f} MB zip ({content_mb:.0f} MB of content), median of "
        f"{args.repeats} runs taken in turn; inflate by {implementation().name}; {machine()}; "
        f"{started_load} at the start, {load()} at the end"
    )
    print(process_table(series, "zip -r -6 + openssl dgst -sign", "peer", 3))
    print(
        "parts of a sign, in process (cpu s): "
        + ", ".join(f"{name} {value:.3f}" for name, value in breakdown.items())
        + f"; the whole process {ours.cpu:.3f}"
    )
    print("target: sam-ext sign <= 0.15x of the peer; the member check not its largest part")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sign.json").write_text(
        json.dumps(
            {
                "zip_mb": zip_mb,
                "content_mb": content_mb,
                "processes": {name: entry.to_json() for name, entry in series.items()},
                "ratio": {"wall": ours.ratio(peer_series), "cpu": ours.ratio(peer_series, "cpu")},
                "parts_cpu": breakdown,
                "inflate": implementation().name,
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
