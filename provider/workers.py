"""Bounded concurrent execution: the project's one worker pool (docs/architecture.md,
"Concurrency").

- :class:`WorkerPool`: calls submitted one by one run on at most ``workers`` threads
  (started as work arrives); :meth:`WorkerPool.shutdown` waits for them and may drop the
  calls not yet started. (``sam-ext serve``'s signing jobs.)
- :func:`run_all`: one call per item, at most ``workers`` at once, results in the items'
  order, progress through callbacks made one at a time; after a call fails no further
  item starts, and the first error is raised once the running calls end. (``sam-ext
  package``'s artifacts, a batch of signing jobs.)

Plain threads, not :mod:`concurrent.futures`: importing it imports :mod:`logging`, a
twentieth of a cached ``sam-ext package`` run's time.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Task:
    """A call submitted to a :class:`WorkerPool`: pending, then running, then done; or
    cancelled before it ran. Its result is the caller's to keep (the call's closure); an
    exception it raised is kept here (:meth:`exception`), as a future keeps it."""

    def __init__(self, call: Callable[[], object]) -> None:
        self._call = call
        self._lock = threading.Lock()
        self._state = "pending"
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Task], None]] = []
        self._finished = threading.Event()

    def done(self) -> bool:
        """Whether it ran to its end, or was cancelled."""
        return self._finished.is_set()

    def cancelled(self) -> bool:
        """Whether it was cancelled before it ran."""
        return self._state == "cancelled"

    def cancel(self) -> bool:
        """Cancel it if it has not started; whether it is (now) cancelled."""
        with self._lock:
            if self._state == "pending":
                self._state = "cancelled"
            elif self._state != "cancelled":
                return False
        self._finish()
        return True

    def add_done_callback(self, callback: Callable[[Task], None]) -> None:
        """Call ``callback(task)`` once it is done (at once, here, if it is already), on
        the thread that ended it. A callback must not raise."""
        with self._lock:
            if not self._finished.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def exception(self) -> BaseException | None:
        """What the call raised, if it raised."""
        return self._error

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until it is done; whether it is."""
        return self._finished.wait(timeout)

    def _run(self) -> None:
        with self._lock:
            if self._state != "pending":
                return
            self._state = "running"
        try:
            self._call()
        except BaseException as exc:  # kept on the task: the worker goes on
            self._error = exc
        with self._lock:
            self._state = "done"
        self._finish()

    def _finish(self) -> None:
        with self._lock:
            if self._finished.is_set():
                return
            self._finished.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


class WorkerPool:
    """Runs submitted calls on at most ``workers`` threads, named ``NAME-N``. A call's
    exception ends that call only (it is kept on its :class:`Task`)."""

    def __init__(self, workers: int, *, name: str) -> None:
        if workers < 1:
            raise ValueError(f"workers: {workers} must be at least 1")
        self.workers = workers
        self.name = name
        self._queue: deque[Task] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, call: Callable[..., object], *args: object) -> Task:
        """Run ``call(*args)`` once a worker is free."""
        task = Task(lambda: call(*args))
        with self._ready:
            if self._closed:
                raise RuntimeError(f"worker pool {self.name} is shut down")
            self._queue.append(task)
            if len(self._queue) > self._idle and len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._ready.notify()
        return task

    def cancel_pending(self) -> None:
        """Cancel every call not yet started."""
        with self._ready:
            pending = list(self._queue)
            self._queue.clear()
        for task in pending:
            task.cancel()

    def shutdown(self, *, wait: bool = True, cancel_pending: bool = False) -> None:
        """Accept no more calls; with ``cancel_pending`` drop those not yet started (else
        they run); with ``wait`` return once the workers have ended."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if cancel_pending:
            self.cancel_pending()
        if wait:
            current = threading.current_thread()
            for thread in list(self._threads):
                if thread is not current:
                    thread.join()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True, cancel_pending=exc[0] is not None)

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._idle += 1
                    self._ready.wait()
                    self._idle -= 1
                if not self._queue:
                    return  # closed, and nothing left to run
                task = self._queue.popleft()
            task._run()


def wait_all(tasks: Iterable[Task]) -> None:
    """Wait until every task is done (run or cancelled)."""
    for task in tasks:
        task.wait()


class _Run(Generic[T, R]):
    """The state of one :func:`run_all`: results, the first error, the callbacks' lock."""

    def __init__(
        self,
        work: Callable[[T], R],
        started: Callable[[T], None] | None,
        finished: Callable[[T, R, int], None] | None,
    ) -> None:
        self.work = work
        self.started = started
        self.finished = finished
        self.lock = threading.Lock()
        self.results: dict[int, R] = {}
        self.error: BaseException | None = None

    def one(self, pool: WorkerPool, index: int, item: T) -> None:
        try:
            with self.lock:
                if self.error is not None:
                    return  # taken just as another call failed: never starts
                if self.started is not None:
                    self.started(item)
            result = self.work(item)
            with self.lock:
                if self.error is not None:
                    return
                self.results[index] = result
                if self.finished is not None:
                    self.finished(item, result, len(self.results))
        except BaseException as exc:  # the run's error, raised by run_all
            with self.lock:
                if self.error is None:
                    self.error = exc
            pool.cancel_pending()


def run_all(
    work: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    name: str,
    started: Callable[[T], None] | None = None,
    finished: Callable[[T, R, int], None] | None = None,
) -> list[R]:
    """``work(item)`` for every item, at most ``workers`` at once (threads ``NAME-N``);
    the results in the items' order.

    ``started(item)`` before an item's call, ``finished(item, result, done)`` after it
    returned (``done``: how many have, this one included): made one at a time, on the
    worker's thread. After a call (or a callback) raises, no further item starts and no
    further callback is made; that first error is raised once the running calls end
    (their results are dropped)."""
    if not items:
        return []
    run: _Run[T, R] = _Run(work, started, finished)
    pool = WorkerPool(min(workers, len(items)), name=name)
    for index, item in enumerate(items):
        pool.submit(run.one, pool, index, item)
    try:
        pool.shutdown(wait=True)
    except BaseException as exc:  # interrupted while waiting: start nothing more
        with run.lock:
            run.error = run.error or exc
        pool.shutdown(wait=False, cancel_pending=True)
        raise
    if run.error is not None:
        raise run.error
    return [run.results[index] for index in range(len(items))]
