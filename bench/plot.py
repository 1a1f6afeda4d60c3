"""Plot (a) packaging and (c) signing concurrency from bench/results/*.json into
bench/results/benchmarks.png.

Run after bench_package.py and bench_aws_signing.py: .venv/bin/python bench/plot.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    package = json.loads((RESULTS / "package.json").read_text())
    signing = json.loads((RESULTS / "aws_signing.json").read_text())
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    scenarios = list(package)
    width = 0.2
    bars = (("sam_cold", "sam package, cold"), ("ext_cold", "sam-ext package (signing), cold"),
            ("sam_warm", "sam package, warm"), ("ext_warm", "sam-ext package (signing), warm"))
    for index, (key, label) in enumerate(bars):
        positions = [i + (index - 1.5) * width for i in range(len(scenarios))]
        left.bar(positions, [package[s][key] for s in scenarios], width, label=label)
    left.set_xticks(range(len(scenarios)), scenarios)
    left.set_ylabel("seconds (median)")
    left.set_title("(a) packaging: sam-ext signs, sam package does not")
    left.legend(fontsize=8)
    labels = ["1 job", f"{signing['packages']} jobs,\n{signing['bounded_jobs']} at a time",
              f"{signing['packages']} jobs,\n{signing['default_jobs']} at a time",
              f"{signing['packages']} jobs,\none at a time"]
    values = [signing["one_job"], signing["bounded"], signing["default"], signing["sequential"]]
    right.bar(labels, values, color=["grey", "tab:green", "tab:blue", "tab:red"])
    right.axhline(1.5 * signing["one_job"], color="black", linestyle="--", linewidth=1,
                  label="target: 1.5x one job")
    right.set_ylabel("seconds")
    right.set_title("(c) signing on the aws backend (Signer jobs of ~2 s)")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(RESULTS / "benchmarks.png", dpi=110)
    print(RESULTS / "benchmarks.png")


if __name__ == "__main__":
    main()
