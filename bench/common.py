"""Shared helpers of the benchmarks: timing, generated apps, and the table printer."""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Deterministic content, so runs are comparable.
_RNG_SEED = 1234


def offline_aws(*, credentials: bool = True) -> None:
    """Nothing of the host's AWS configuration in this process (and the processes it
    starts): every ``AWS_*`` variable removed, no instance metadata, and (``credentials``)
    fake credentials in us-east-1. Call it before anything makes an AWS client."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            os.environ.pop(name)
    if credentials:
        os.environ.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
    os.environ.update(AWS_EC2_METADATA_DISABLED="true")


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


@dataclass
class Sample:
    """One whole-process run: wall seconds and CPU seconds (user + system, the process and
    its children, from the kernel's accounting via ``wait4``)."""

    wall: float
    cpu: float


def run_process(command: Sequence[str], env: Mapping[str, str] | None = None) -> Sample:
    """Run ``command`` to completion; raise with its stderr if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command), env=dict(env) if env is not None else None,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {errors[-2000:]!r}")
    return Sample(wall, usage.ru_utime + usage.ru_stime)


@dataclass
class Series:
    """The samples of one contender."""

    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def wall(self) -> float:
        """Median wall seconds."""
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        """Median CPU seconds."""
        return statistics.median(s.cpu for s in self.samples)

    def ratio(self, other: Series, what: str = "wall") -> float:
        """Median of the pair-by-pair ratios (runs taken in turn, A B A B ...)."""
        return statistics.median(
            getattr(a, what) / getattr(b, what)
            for a, b in zip(self.samples, other.samples, strict=True)
        )

    def to_json(self) -> dict[str, object]:
        """Medians and every sample."""
        return {"wall": self.wall, "cpu": self.cpu,
                "samples": [[s.wall, s.cpu] for s in self.samples]}  # fmt: skip


def run_in_turn(
    commands: Mapping[str, Sequence[str]], env: Mapping[str, str] | None, repeats: int
) -> dict[str, Series]:
    """One warm-up run of each command, then ``repeats`` rounds taking them in turn
    (A B A B ...), so that :meth:`Series.ratio` pairs runs made under the same load."""
    series = {name: Series(name) for name in commands}
    for command in commands.values():
        run_process(command, env)
    for _ in range(repeats):
        for name, command in commands.items():
            series[name].samples.append(run_process(command, env))
    return series


def process_table(series: Mapping[str, Series], peer: str, label: str, digits: int) -> str:
    """The whole-process medians of ``series`` as a table, each also as a ratio to
    ``series[peer]`` (headed ``vs <label>``, ``digits`` after the point)."""
    against = series[peer]
    head = ("whole process", "wall s", "cpu s", f"vs {label} wall", f"vs {label} cpu")
    rows: list[tuple[str, ...]] = [head]
    for name, entry in series.items():
        rows.append(
            (
                name,
                f"{entry.wall:.3f}",
                f"{entry.cpu:.3f}",
                f"{entry.ratio(against):.{digits}f}x",
                f"{entry.ratio(against, 'cpu'):.{digits}f}x",
            )
        )
    return table(rows)


def python_start_up(python: str) -> Sample:
    """The cost of starting the interpreter (a lower bound of any Python CLI)."""
    runs = [run_process([python, "-c", "pass"]) for _ in range(5)]
    return Sample(statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs))


def load() -> str:
    """The machine's load averages, to say how busy it was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"
