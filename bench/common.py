"""Shared helpers of the benchmarks: timing, generated apps, and the table printer."""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

#: Deterministic content, so runs are comparable.
_RNG_SEED = 1234


def median_seconds(
    run: Callable[[], object], repeats: int, *, before: Callable[[], object] | None = None
) -> tuple[float, list[float]]:
    """Median wall time of ``run`` over ``repeats`` runs (``before`` is not timed)."""
    samples = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def source_like_bytes(size: int, rng: random.Random) -> bytes:
    """About ``size`` bytes that compress like source code (words, not noise)."""
    words = [f"name_{i}" for i in range(2000)] + ["def", "return", "if", "for", "in", "import"]
    out: list[str] = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randrange(4, 12))) + "\n"
        out.append(line)
        length += len(line)
    return "".join(out).encode()[:size]


def write_function(directory: Path, size: int, files: int, rng: random.Random) -> None:
    """A function directory with ``files`` files totalling about ``size`` bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text("def handler(event, context):\n    return 1\n")
    for index in range(files):
        (directory / f"module_{index:03d}.py").write_bytes(source_like_bytes(size // files, rng))


def generate_app(root: Path, functions: int, size: int, files: int) -> Path:
    """A SAM app of ``functions`` functions; returns the template path."""
    rng = random.Random(_RNG_SEED)
    lines = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        "Transform: AWS::Serverless-2016-10-31",
        "Resources:",
    ]
    for index in range(functions):
        name = f"Function{index:02d}"
        write_function(root / "src" / name, size, files, rng)
        lines += [
            f"  {name}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      CodeUri: src/{name}/",
            "      Handler: app.handler",
            "      Runtime: python3.12",
        ]
    template = root / "template.yaml"
    template.write_text("\n".join(lines) + "\n")
    return template


def table(rows: list[tuple[str, ...]]) -> str:
    """A plain text table."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def machine() -> str:
    """One line about the machine the figures come from."""
    return f"{os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}"
