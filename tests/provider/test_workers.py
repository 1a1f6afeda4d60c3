"""The one worker pool (provider/workers.py): bounded, results in order, progress one
call at a time, a failure starts nothing more and is raised once the running calls end;
and no other pool in provider/ or sam_ext/."""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from provider.workers import Task, WorkerPool, run_all, wait_all

ROOT = Path(__file__).resolve().parents[2]
#: Long enough never to be reached when the code is right; a wrong pool fails the test.
PATIENCE = 30


def test_run_all_runs_workers_at_once_and_no_more_and_keeps_the_items_order() -> None:
    workers = 3
    meet = threading.Barrier(workers, timeout=PATIENCE)  # broken unless 3 run at once
    lock = threading.Lock()
    running = most = 0
    names: set[str] = set()

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            names.add(threading.current_thread().name)
        if item < workers:
            meet.wait()
        with lock:
            running -= 1
        return item * 10

    assert run_all(work, list(range(12)), workers=workers, name="t") == [i * 10 for i in range(12)]
    assert most == workers
    assert names <= {"t-0", "t-1", "t-2"}
    assert run_all(work, [], workers=workers, name="t") == []


def test_progress_callbacks_come_one_at_a_time_with_the_count_done() -> None:
    inside = threading.Lock()
    started: list[int] = []
    done: list[tuple[int, int, int]] = []

    def alone(action: Callable[[], None]) -> None:
        assert inside.acquire(blocking=False), "two callbacks at once"
        try:
            time.sleep(0.001)
            action()
        finally:
            inside.release()

    results = run_all(
        lambda item: item + 1,
        list(range(20)),
        workers=4,
        name="t",
        started=lambda item: alone(lambda: started.append(item)),
        finished=lambda item, result, count: alone(lambda: done.append((item, result, count))),
    )
    assert results == list(range(1, 21))
    assert sorted(started) == list(range(20))
    assert sorted(count for _, _, count in done) == list(range(1, 21))
    assert all(result == item + 1 for item, result, _ in done)


def test_a_failure_starts_nothing_more_and_is_raised_once_the_running_calls_end() -> None:
    one_started = threading.Event()
    started: list[int] = []
    ended: list[int] = []
    finished: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        if item == 0:
            assert one_started.wait(PATIENCE)
            raise ValueError("item 0 is bad")
        if item == 1:
            one_started.set()
            time.sleep(0.2)  # still running when item 0 fails
        ended.append(item)
        return item

    with pytest.raises(ValueError, match="item 0 is bad"):
        run_all(
            work,
            list(range(10)),
            workers=2,
            name="t",
            finished=lambda item, _, __: finished.append(item),
        )
    assert sorted(started) == [0, 1]  # nothing started after the failure
    assert ended == [1]  # the running call ended before the error was raised
    assert finished == []  # and its result was dropped


def test_an_error_in_a_progress_callback_is_the_runs_error() -> None:
    def finished(item: int, _: int, __: int) -> None:
        raise BrokenPipeError("stderr is gone")

    with pytest.raises(BrokenPipeError):
        run_all(lambda item: item, [1, 2, 3], workers=1, name="t", finished=finished)


def test_the_pool_bounds_its_threads_and_cancels_what_has_not_started() -> None:
    began, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocking() -> None:
        began.set()
        release.wait(PATIENCE)
        ran.append("blocker")

    pool = WorkerPool(1, name="p")
    blocker = pool.submit(blocking)
    assert began.wait(PATIENCE)
    waiting = [pool.submit(ran.append, f"call {n}") for n in range(3)]
    told: list[Task] = []
    for task in waiting:
        task.add_done_callback(told.append)
    pool.shutdown(wait=False, cancel_pending=True)
    assert all(task.cancelled() and task.done() for task in waiting)
    assert told == waiting  # a cancelled task's callbacks are made
    assert not blocker.done() and not blocker.cancel()  # running: cannot be cancelled
    release.set()
    wait_all([blocker])
    pool.shutdown(wait=True)
    assert ran == ["blocker"]
    assert blocker.done() and not blocker.cancelled()
    late: list[Task] = []
    blocker.add_done_callback(late.append)  # already done: called at once
    assert late == [blocker]
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(ran.append, "after")


def test_a_call_that_raises_keeps_its_error_and_the_worker_goes_on() -> None:
    with WorkerPool(1, name="p") as pool:
        bad = pool.submit(int, "not a number")
        good = pool.submit(int, "42")
        wait_all([bad, good])
    assert isinstance(bad.exception(), ValueError)
    assert good.exception() is None and good.done()


def test_the_pool_starts_a_thread_per_call_waiting_up_to_its_bound() -> None:
    workers = 4
    meet = threading.Barrier(workers, timeout=PATIENCE)
    names: set[str] = set()

    def call() -> None:
        names.add(threading.current_thread().name)
        meet.wait()

    with WorkerPool(workers, name="p") as pool:
        tasks = [pool.submit(call) for _ in range(workers)]
    assert all(task.done() and task.exception() is None for task in tasks)
    assert names == {f"p-{n}" for n in range(workers)}


def test_no_other_thread_pool_in_provider_or_sam_ext() -> None:
    """The packager, the signing batch and the endpoint's job runner all use
    provider/workers.py: nothing else imports concurrent.futures."""
    users = []
    for package in ("provider", "sam_ext"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name.split(".")[0] == "concurrent" for name in names):
                    users.append(str(path.relative_to(ROOT)))
    assert users == []
    for module in ("sam_ext/packaging/packager.py", "provider/backends/batch.py"):
        assert "from provider.workers import run_all" in (ROOT / module).read_text()
    assert "WorkerPool(" in (ROOT / "provider/endpoint/jobs.py").read_text()
