"""Synthesize examples/cdk for real, with the CDK libraries scripts/install-clients.sh
installs (``--print-bin cdk``: their virtualenv's python) and the machine's Node.js.

The app is run as the ``cdk`` CLI runs it (``python app.py`` with ``CDK_OUTDIR`` and
``CDK_CONTEXT_JSON``): ``metadata=True`` sets the two context keys ``cdk synth`` sets
(construct paths and asset paths in the templates' ``Metadata``), ``metadata=False`` leaves
them out, as a bare ``app.synth()`` does (then only STACK.metadata.json and STACK.assets.json
say them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from provider.clock import parse_instant

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "cdk"
#: The context keys ``cdk synth`` sets (aws-cdk's cx-api PATH_METADATA_ENABLE_CONTEXT and
#: ASSET_RESOURCE_METADATA_ENABLED_CONTEXT).
METADATA_CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True}


#: The instant the CDK tests run sam-ext at (``--now``), and the administrator's profile.
NOW_TEXT = "2026-01-15T12:00:00Z"
NOW = parse_instant(NOW_TEXT, field="now")
PROFILE = "ShopAdmin"


class CdkUnavailable(RuntimeError):
    """The CDK virtualenv is missing or broken (scripts/setup via scripts/test.sh installs it)."""


def cdk_python() -> Path:
    """The python of the CDK virtualenv; installs it when missing (a no-op once stamped)."""
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-clients.sh"), "--print-bin", "cdk"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        raise CdkUnavailable(
            "the CDK virtualenv is not installed and could not be (bash scripts/install-clients.sh "
            f"cdk, run by scripts/test.sh): {result.stderr.strip() or result.stdout.strip()}"
        )
    return Path(lines[-1])


def synth_example(
    out_dir: Path,
    *,
    metadata: bool,
    context: Mapping[str, str],
    app_dir: Path = EXAMPLE,
) -> Path:
    """Synthesize the CDK app in ``app_dir`` (a copy of examples/cdk by default: the example
    itself) into ``out_dir``; returns ``out_dir``, the cloud assembly."""
    if shutil.which("node") is None:
        raise CdkUnavailable("Node.js (node) is not on PATH: the CDK libraries need it")
    python = cdk_python()
    full_context: dict[str, object] = dict(context)
    if metadata:
        full_context.update(METADATA_CONTEXT)
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out_dir),
        "CDK_CONTEXT_JSON": json.dumps(full_context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("PYTHONPATH", None)  # the app runs in its own virtualenv
    result = subprocess.run(
        [str(python), "app.py"],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 or not (out_dir / "manifest.json").is_file():
        raise RuntimeError(f"synth of {app_dir} failed ({result.returncode}): {result.stderr}")
    return out_dir


@dataclass
class CdkApp:
    """A copy of examples/cdk with its synthesized ``cdk.out``, in the test's own place."""

    root: Path
    version_arn: str
    metadata: bool

    @property
    def out(self) -> Path:
        return self.root / "cdk.out"

    @property
    def template(self) -> Path:
        return self.out / "Shop.template.json"

    def synth(self) -> None:
        """Synthesize the copy again (after a change of its code)."""
        shutil.rmtree(self.out)
        synth_example(
            self.out,
            metadata=self.metadata,
            context={"signingProfileVersionArn": self.version_arn},
            app_dir=self.root,
        )


@dataclass
class Result:
    status: int
    out: str
    err: str
