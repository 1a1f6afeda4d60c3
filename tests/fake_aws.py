"""Fake AWS for the tests (and benchmarks) whose clients talk to moto or ``sam-ext serve``:
the API calls counted."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient


@contextmanager
def api_calls() -> Iterator[Counter[str]]:
    """Every AWS API call botocore clients make in this process while open (each call once,
    not its retries), by ``service:operation`` (``signer:GetSigningProfile``)."""
    calls: Counter[str] = Counter()
    lock = threading.Lock()
    patched: Any = BaseClient  # botocore's private method, not in its type stubs
    original = patched._make_api_call

    def count(self: BaseClient, operation: str, params: Any) -> Any:
        with lock:
            calls[f"{self.meta.service_model.service_name}:{operation}"] += 1
        return original(self, operation, params)

    patched._make_api_call = count
    try:
        yield calls
    finally:
        patched._make_api_call = original
