"""Fake AWS for the tests (and benchmarks) whose clients talk to moto or ``sam-ext serve``:
an environment with nothing of the host's AWS configuration, the API calls counted, and
packages whose bytes do not change from run to run."""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient


def fixed_zip(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` with fixed member times: the same bytes on every call."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()


def fake_aws_environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    region: str = "us-east-1",
    *,
    endpoint_url: str | None = None,
    also_remove: tuple[str, ...] = (),
) -> None:
    """Fake credentials in ``region``, and nothing of the host's AWS configuration: every
    ``AWS_*`` variable (and ``also_remove``) unset, config and credentials files that do not
    exist, no instance metadata; ``endpoint_url``, if given, as every client's endpoint."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in also_remove:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if endpoint_url is not None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)


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
