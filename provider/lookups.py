"""Look-ups asked once per command run: a read whose answer every part of one ``sam-ext
check`` or ``sam-ext audit`` shares (a signing profile, the account's signing jobs, a code
signing config) is made once, also when several worker threads ask for it at once.

- :class:`Lookups`: the answers of one run, by key. The first caller of a key reads; the
  others (concurrent or later) wait for and get its answer, an error included.
- :func:`lookup_scope`: the run's :class:`Lookups`, active for the code within (a context
  variable): :func:`looked_up` reads through it, and reads directly outside any scope, so a
  long-lived process (the Pulumi provider, ``sam-ext serve``) never keeps an answer. A
  scope ends with the command that opened it: nothing outlives the run.
- :func:`carried`: a call that runs in the current scope on another thread (a thread
  starts with no scope of its own).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")
#: A look-up's key: its kind first (what :attr:`Lookups.calls` counts), then what names
#: the answer (e.g. ``("signer:GetSigningProfile", region, owner, name)``).
Key = tuple[Hashable, ...]


class _Slot:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class Lookups:
    """The answers of one command run's look-ups, each read once. ``calls`` counts the
    reads made, by the key's kind."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._slots: dict[Key, _Slot] = {}

    def once(self, key: Key, read: Callable[[], T]) -> T:
        """``read()``'s answer for ``key``: read by the first caller only; the others wait
        for it. An error ``read`` raised is raised again to every caller of the key."""
        with self._lock:
            slot = self._slots.get(key)
            mine = slot is None
            if slot is None:
                slot = self._slots[key] = _Slot()
                self.calls[str(key[0])] += 1
        if mine:
            try:
                slot.value = read()
            except BaseException as exc:
                slot.error = exc
            finally:
                slot.ready.set()
        slot.ready.wait()
        if slot.error is not None:
            raise slot.error
        return cast(T, slot.value)

    def keep(self, key: Key, value: object) -> None:
        """An answer known without a read (e.g. one a listing returned): no read for
        ``key`` (unless it was read already)."""
        slot = _Slot()
        slot.value = value
        slot.ready.set()
        with self._lock:
            self._slots.setdefault(key, slot)


_current: ContextVar[Lookups | None] = ContextVar("lookups", default=None)


@contextmanager
def lookup_scope(lookups: Lookups | None = None) -> Iterator[Lookups]:
    """Make ``lookups`` (default: the scope already active, else a new one) the one
    :func:`looked_up` reads through until the block ends."""
    chosen = lookups or _current.get() or Lookups()
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def current_lookups() -> Lookups | None:
    """The active scope's look-ups (``None`` outside any scope)."""
    return _current.get()


def looked_up(key: Key, read: Callable[[], T]) -> T:
    """``read()``, once per ``key`` within the active scope; outside any, each time."""
    lookups = _current.get()
    return read() if lookups is None else lookups.once(key, read)


def carried(call: Callable[P, T]) -> Callable[P, T]:
    """``call``, run in the scope active here whichever thread runs it."""
    lookups = _current.get()

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        token = _current.set(lookups)
        try:
            return call(*args, **kwargs)
        finally:
            _current.reset(token)

    return run
