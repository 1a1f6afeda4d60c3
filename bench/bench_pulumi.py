"""(d) `pulumi preview` and `pulumi up` wall time for a stack of 50 signed functions on the
local backend, per resource, under the real engine (CLI + language host).

The provider's overhead per resource is the difference between the 50-function stack and
a 1-function stack, divided by the difference in resources.

Run: .venv/bin/python bench/bench_pulumi.py [--count 50]   (PATH must hold the Pulumi CLI:
     export PATH="$(bash scripts/install-pulumi.sh --print-bin-dir):$PATH")
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))

from common import load, machine, table  # noqa: E402
from engine.harness import EngineStack  # noqa: E402

PROGRAM = Path(__file__).parent / "programs" / "many"
RESULTS = Path(__file__).parent / "results"
#: Custom resources per SignedFunction (its package and function).
PER_FUNCTION = 2


CPU: dict[str, float] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(call: object, label: str = "") -> float:
    """Wall seconds of one engine operation; its CPU seconds (the CLI, language host and
    providers, all waited-for children) go to ``CPU[label]``."""
    cpu = _children_cpu()
    start = time.perf_counter()
    result = call()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    if label:
        CPU[label] = _children_cpu() - cpu
    if result.error is not None:
        raise RuntimeError(result.error)
    return elapsed


def measure(count: int, root: Path) -> dict[str, float]:
    sources = root / "sources"
    for index in range(count):
        directory = sources / f"fn{index:02d}"
        directory.mkdir(parents=True)
        (directory / "app.py").write_text(f"def handler(e, c):\n    return {index}\n")
    stack = EngineStack(root / "stack", PROGRAM, config={
        "count": str(count), "sources": str(sources), "codesign:home": str(root / "keystore")})
    walls = {
        "preview_create": _timed(stack.preview, f"{count}:preview_create"),
        "up": _timed(stack.up, f"{count}:up"),
        "preview_same": _timed(stack.preview, f"{count}:preview_same"),
    }
    return {**walls, "resources": 2 + PER_FUNCTION * count,
            "cpu": {k: CPU[f"{count}:{k}"] for k in walls}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        small = measure(1, Path(scratch) / "one")
        large = measure(args.count, Path(scratch) / "many")
    extra = large["resources"] - small["resources"]
    rows = [("operation", "1 function", f"{args.count} functions", "per added resource",
             "cpu per added resource")]  # fmt: skip
    for key, label in (("preview_create", "preview (all new)"), ("up", "up (create)"),
                       ("preview_same", "preview (no changes)")):
        per = (large[key] - small[key]) / extra
        per_cpu = (large["cpu"][key] - small["cpu"][key]) / extra
        rows.append((label, f"{small[key]:.2f}s ({small['cpu'][key]:.2f} cpu)",
                     f"{large[key]:.2f}s ({large['cpu'][key]:.2f} cpu)", f"{per * 1000:.0f} ms",
                     f"{per_cpu * 1000:.0f} ms"))  # fmt: skip
    print(f"(d) Pulumi engine, local backend; {large['resources']:.0f} custom resources for "
          f"{args.count} functions; {machine()}")
    print(table(rows))
    per_preview = (large["preview_same"] - small["preview_same"]) / extra
    print(f"targets: preview <= 25 ms and up <= 70 ms per added resource -> preview "
          f"{per_preview * 1000:.0f} ms (no changes), "
          f"{(large['preview_create'] - small['preview_create']) / extra * 1000:.0f} ms (new); "
          f"up {(large['up'] - small['up']) / extra * 1000:.0f} ms; {load()}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pulumi.json").write_text(json.dumps({"one": small, "many": large}, indent=2))


if __name__ == "__main__":
    main()
