"""Plot the benchmarks from bench/results/*.json into bench/results/benchmarks.png:
(a) packaging against `sam package`, (b) verification against `sha384sum`, (c) signing
concurrency on the aws backend, (e) signing a zip against `zip -6` + `openssl`.

Run after the benchmarks: .venv/bin/python bench/plot.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).parent / "results"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _packaging(axis: Any, package: dict[str, Any]) -> None:
    scenarios = [s for s in package if s != "conditions"]
    bars = (("sam", "sam package"), ("ext", "sam-ext (ISA-L)"), ("ext_zlib", "sam-ext (zlib)"))
    width = 0.13
    groups = [(s, phase) for s in scenarios for phase in ("cold", "warm")]
    for index, (key, label) in enumerate(bars):
        positions = [i + (index - 1) * width * 2 for i in range(len(groups))]
        walls = [package[s][f"{key}_{phase}"] for s, phase in groups]
        cpus = [package[s]["cpu"][f"{key}_{phase}"] for s, phase in groups]
        axis.bar([p - width / 2 for p in positions], walls, width, label=f"{label}, wall")
        axis.bar(
            [p + width / 2 for p in positions], cpus, width, label=f"{label}, cpu", hatch="//",
            alpha=0.6,
        )  # fmt: skip
    axis.set_yscale("log")
    axis.set_xticks(range(len(groups)), [f"{s}\n{phase}" for s, phase in groups], fontsize=7)
    axis.set_ylabel("seconds (median, log scale)")
    axis.set_title("(a) packaging: sam-ext signs every function, sam package none")
    axis.legend(fontsize=6, ncol=2)


def _versus(axis: Any, data: dict[str, Any], title: str, peer: str, target: float) -> None:
    names = list(data["processes"])
    walls = [data["processes"][n]["wall"] for n in names]
    cpus = [data["processes"][n]["cpu"] for n in names]
    positions = range(len(names))
    axis.bar([p - 0.2 for p in positions], walls, 0.4, label="wall")
    axis.bar([p + 0.2 for p in positions], cpus, 0.4, label="cpu", hatch="//", alpha=0.6)
    axis.axhline(
        target * data["processes"][peer]["wall"], color="black", linestyle="--", linewidth=1,
        label=f"target: {target}x {peer} (wall)",
    )  # fmt: skip
    axis.set_xticks(list(positions), [n.replace(" --", "\n--") for n in names], fontsize=7)
    axis.set_ylabel("seconds (median)")
    axis.set_title(title)
    axis.legend(fontsize=7)


def _signing(axis: Any, signing: dict[str, Any]) -> None:
    n = signing["packages"]
    labels = ["1 function", f"{n} functions,\n{signing['default_jobs']} at a time\n(default)"]
    values = [signing["one_wall"], signing["many_wall"]]
    for jobs, (wall, _cpu) in signing.get("compared", {}).items():
        labels.append(f"{n} functions,\n{jobs} at a time")
        values.append(wall)
    colours = ["grey", "tab:green", "tab:blue", "tab:red"][: len(values)]
    axis.bar(labels, values, color=colours)
    axis.axhline(2 * signing["one_wall"], color="black", linestyle="--", linewidth=1,
                 label="target: 2x one function")  # fmt: skip
    axis.set_ylabel("seconds (whole sam-ext process)")
    axis.set_title(f"(c) sam-ext --backend aws package vs sam-ext serve "
                   f"--job-delay {signing['job_delay']:g}")  # fmt: skip
    axis.legend(fontsize=8)


def main() -> None:
    figure, axes = plt.subplots(2, 2, figsize=(14, 9))
    package, verify, signing, sign = (
        _load(n) for n in ("package", "verify", "aws_signing", "sign")
    )
    if package:
        _packaging(axes[0][0], package)
    if verify:
        _versus(axes[0][1], verify, f"(b) verifying a {verify['size_mb']:.0f} MB signed package",
                "sha384sum", 1.5)  # fmt: skip
    if signing:
        _signing(axes[1][0], signing)
    if sign:
        _versus(axes[1][1], sign, f"(e) signing a {sign['zip_mb']:.0f} MB zip",
                "zip -r -6 + openssl dgst -sign", 0.15)  # fmt: skip
    figure.tight_layout()
    figure.savefig(RESULTS / "benchmarks.png", dpi=100)
    print(RESULTS / "benchmarks.png")


if __name__ == "__main__":
    main()
