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
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
    stack = EngineStack(
        root / "stack",
        PROGRAM,
        config={
            "count": str(count),
            "sources": str(sources),
            "codesign:home": str(root / "keystore"),
        },
    )
    walls = {
        "preview_create": _timed(stack.preview, f"{count}:preview_create"),
        "up": _timed(stack.up, f"{count}:up"),
        "preview_same": _timed(stack.preview, f"{count}:preview_same"),
    }
    return {**walls, "resources": 2 + PER_FUNCTION * count,
            "cpu": {k: CPU[f"{count}:{k}"] for k in walls}}  # fmt: skip


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("preview_create", "up", "preview_same")
    return {
        **{k: statistics.median(r[k] for r in runs) for k in keys},
        "resources": runs[0]["resources"],
        "cpu": {k: statistics.median(r["cpu"][k] for r in runs) for k in keys},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh stacks of both sizes, measured in turn")  # fmt: skip
    args = parser.parse_args()
    started_load = load()
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            runs.append((measure(1, Path(scratch) / f"one{repeat}"),
                         measure(args.count, Path(scratch) / f"many{repeat}")))  # fmt: skip
    extra = runs[0][1]["resources"] - runs[0][0]["resources"]
    per_run = [
        {k: ((large[k] - small[k]) / extra, (large["cpu"][k] - small["cpu"][k]) / extra)
         for k in ("preview_create", "up", "preview_same")}
        for small, large in runs
    ]  # fmt: skip
    small = _median_of([s for s, _ in runs])
    large = _median_of([m for _, m in runs])
    rows = [("operation", "1 function", f"{args.count} functions",
             "per added resource (median, each run)", "cpu per added resource")]  # fmt: skip
    medians = {}
    for key, label in (
        ("preview_create", "preview (all new)"),
        ("up", "up (create)"),
        ("preview_same", "preview (no changes)"),
    ):
        per = statistics.median(r[key][0] for r in per_run)
        per_cpu = statistics.median(r[key][1] for r in per_run)
        medians[key] = per
        each = ", ".join(f"{r[key][0] * 1000:.0f}" for r in per_run)
        rows.append((label, f"{small[key]:.2f}s ({small['cpu'][key]:.2f} cpu)",
                     f"{large[key]:.2f}s ({large['cpu'][key]:.2f} cpu)",
                     f"{per * 1000:.0f} ms ({each})", f"{per_cpu * 1000:.0f} ms"))  # fmt: skip
    print(
        f"(d) Pulumi engine, local backend; {large['resources']:.0f} custom resources for "
        f"{args.count} functions, {args.repeats} runs; {machine()}; {started_load} at the "
        f"start, {load()} at the end"
    )
    print(table(rows))
    print(
        f"targets: preview <= 25 ms and up <= 70 ms per added resource -> preview "
        f"{medians['preview_same'] * 1000:.0f} ms (no changes), "
        f"{medians['preview_create'] * 1000:.0f} ms (new); up {medians['up'] * 1000:.0f} ms"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pulumi.json").write_text(json.dumps(
        {"one": small, "many": large, "per_resource_runs": per_run}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
