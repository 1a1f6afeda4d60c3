"""The real AWS CLI and SAM CLI, installed on demand by scripts/install-clients.sh into
their own virtualenvs (their pins conflict with ours), and run against a server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from .conftest import REPO, Server


def client_bin(name: str) -> Path:
    """The executable of ``aws`` or ``sam``, installing it first if needed (minutes once;
    then cached under ${XDG_CACHE_HOME:-~/.cache}/lambda-codesign/clients)."""
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-clients.sh"), "--print-bin", name],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"installing {name} failed: {result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def client_env(server: Server, home: Path) -> dict[str, str]:
    """Fake credentials and the endpoint; nothing of the host's AWS configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAM_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=server.url,
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        SAM_CLI_TELEMETRY="0",
        HOME=str(home),
        SAM_CLI_BETA_FEATURES="0",
    )
    return env


class AwsCli:
    """``aws ...`` against a server; JSON output parsed."""

    def __init__(self, server: Server, home: Path) -> None:
        self.bin = client_bin("aws")
        self.env = client_env(server, home)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin), *args, "--output", "json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        out = self.run(*args).stdout
        return json.loads(out) if out.strip() else {}
