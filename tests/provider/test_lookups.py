"""One command run's look-ups (provider/lookups.py): each key read once within a scope,
also when threads ask at once; errors shared; nothing kept outside a scope or after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from provider.errors import AccessDeniedError
from provider.lookups import Lookups, carried, current_lookups, looked_up, lookup_scope


class Counted:
    """A slow read, counted."""

    def __init__(self, answer: object = "answer", error: Exception | None = None) -> None:
        self.answer, self.error = answer, error
        self.reads = 0
        self.lock = threading.Lock()

    def __call__(self) -> object:
        with self.lock:
            self.reads += 1
        time.sleep(0.05)  # long enough for every thread to ask while the first reads
        if self.error is not None:
            raise self.error
        return self.answer


def _at_once(call: Callable[[], object], threads: int = 16) -> list[object]:
    """``call()`` on ``threads`` threads released together; what each got (or raised)."""
    barrier = threading.Barrier(threads)
    results: list[object] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        try:
            got = call()
        except Exception as exc:  # the error is the result compared
            got = exc
        with lock:
            results.append(got)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_a_key_asked_by_many_threads_at_once_is_read_once() -> None:
    lookups, read = Lookups(), Counted()
    results = _at_once(lambda: lookups.once(("kind", "a"), read))
    assert results == ["answer"] * 16
    assert read.reads == 1
    assert lookups.calls == {"kind": 1}
    other = Counted("other")
    assert lookups.once(("kind", "b"), other) == "other"  # another key: its own read
    assert lookups.once(("kind", "a"), other) == "answer"  # later: the kept answer
    assert (read.reads, other.reads) == (1, 1)
    assert lookups.calls == {"kind": 2}


def test_an_error_is_read_once_and_raised_to_every_caller() -> None:
    lookups = Lookups()
    read = Counted(error=AccessDeniedError("signer:GetSigningProfile on p"))
    results = _at_once(lambda: lookups.once(("kind", "p"), read))
    assert read.reads == 1
    assert len(results) == 16
    assert all(isinstance(r, AccessDeniedError) for r in results)
    with pytest.raises(AccessDeniedError):
        lookups.once(("kind", "p"), read)
    assert read.reads == 1


def test_keep_answers_without_a_read_unless_read_already() -> None:
    lookups = Lookups()
    lookups.keep(("config", "x"), "listed")
    assert lookups.once(("config", "x"), Counted("read")) == "listed"
    assert lookups.once(("config", "y"), Counted("read")) == "read"
    lookups.keep(("config", "y"), "listed")
    assert lookups.once(("config", "y"), Counted("again")) == "read"
    assert lookups.calls == {"config": 1}


def test_looked_up_reads_every_time_outside_a_scope_and_once_within_one() -> None:
    read = Counted()
    assert current_lookups() is None
    looked_up(("kind",), read)
    looked_up(("kind",), read)
    assert read.reads == 2  # no scope: nothing kept (a long-lived process)
    with lookup_scope() as lookups:
        assert current_lookups() is lookups
        looked_up(("kind",), read)
        looked_up(("kind",), read)
        with lookup_scope() as inner:  # nested: the same run's look-ups
            assert inner is lookups
            looked_up(("kind",), read)
    assert read.reads == 3
    assert current_lookups() is None  # the scope ended with its block
    with lookup_scope():  # the next command run reads afresh
        looked_up(("kind",), read)
    assert read.reads == 4


def test_worker_threads_read_through_the_scope_only_when_carried() -> None:
    read = Counted()
    with lookup_scope() as lookups, ThreadPoolExecutor(8) as pool:
        plain = list(pool.map(lambda _: current_lookups(), range(8)))
        assert plain == [None] * 8  # a thread starts with no scope of its own
        ask = carried(lambda _: looked_up(("kind",), read))
        assert list(pool.map(ask, range(32))) == ["answer"] * 32
        assert list(pool.map(lambda _: current_lookups(), range(8))) == [None] * 8
    assert read.reads == 1
    assert lookups.calls == {"kind": 1}
