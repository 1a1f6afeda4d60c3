"""The packager's worker threads: every result comes back, and a failure stops new work
and is raised once the running artifacts end."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sam_ext.packaging.packager import Packager


def _packager(jobs: int) -> Packager:
    return Packager(None, Path("unused"), now=None, progress=print, jobs=jobs)  # type: ignore[arg-type]


def test_every_result_comes_back_from_several_threads() -> None:
    seen: set[str] = set()

    def work(item):  # type: ignore[no-untyped-def]
        seen.add(threading.current_thread().name)
        time.sleep(0.01)
        return item * 2

    results = list(_packager(4)._in_parallel(work, list(range(20))))  # type: ignore[arg-type]
    assert sorted(results) == [i * 2 for i in range(20)]
    assert len(seen) > 1


def test_a_failure_stops_new_work_and_is_raised() -> None:
    started: list[int] = []

    def work(item):  # type: ignore[no-untyped-def]
        started.append(item)
        if item == 3:
            raise ValueError("artifact 3 is bad")
        time.sleep(0.02)
        return item

    with pytest.raises(ValueError, match="artifact 3"):
        list(_packager(2)._in_parallel(work, list(range(50))))  # type: ignore[arg-type]
    assert len(started) < 10
