"""Drive the real Pulumi engine through the Automation API and collect what a user sees.

A program is a directory with a ``Pulumi.yaml`` (``runtime: python``) and a ``__main__.py``.
The real ``pulumi`` CLI runs it through its Python language host and starts this package's
dynamic providers in ``pulumi-resource-pulumi-python`` processes, all with the interpreter
running the tests (``PULUMI_PYTHON_CMD``), so a program imports this project's package.

Each stack lives in its own directory: a ``PULUMI_HOME``, a ``file://`` backend, a
passphrase secrets provider, update checks and automatic plugin downloads off, and a
project directory holding a copy of the program's ``Pulumi.yaml`` whose ``main`` points back
at the program. Stack configuration files are therefore written there, never beside the
program, and the program still runs from its own directory (relative paths keep working).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / "scripts" / "install-pulumi.sh"

INSTALL_HINT = (
    "the Pulumi CLI was not found on PATH nor in the build cache: run "
    "`bash scripts/install-pulumi.sh` (it builds the pinned Pulumi release and a Python language "
    "host from Go modules; ~10 minutes the first time) or `bash scripts/test.sh`, which does it "
    "and puts the CLI on PATH; with Pulumi >= 3.200 already installed, put it on PATH"
)

#: What every stack's commands run with, besides its own home and backend.
ENGINE_ENV: dict[str, str] = {
    "PULUMI_CONFIG_PASSPHRASE": "engine-tests",
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    # The language host and the dynamic provider host both run this interpreter.
    "PULUMI_PYTHON_CMD": sys.executable,
}

#: Outer settings that would point the CLI elsewhere: the Automation API passes the whole
#: process environment to every command, so the fixtures remove these from it.
FOREIGN_ENV = (
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_DEBUG_LANGUAGES",
    "PULUMI_DEBUG_PROVIDERS",
    "PULUMI_RUNTIME_VIRTUALENV",
    "PULUMI_STACK",
)


def pulumi_bin_dir() -> Path:
    """The directory holding the ``pulumi`` to use, as scripts/install-pulumi.sh chooses it:
    a suitable one on PATH (with its Python helpers), else the script's cache directory.

    Raises :class:`RuntimeError` with :data:`INSTALL_HINT` when there is none.
    """
    printed = subprocess.run(
        ["bash", str(INSTALL_SCRIPT), "--print-bin-dir"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if printed and (Path(printed) / "pulumi").is_file():
        return Path(printed)
    raise RuntimeError(INSTALL_HINT)


@dataclass
class Step:
    """One resource step as the engine reports it before doing it."""

    #: ``create``, ``same``, ``update``, ``replace``, ``delete``, ``refresh``, ...
    op: str
    urn: str
    type: str
    #: Top-level keys the provider reported as changed (Pulumi's dynamic providers report
    #: none: use :attr:`changed_inputs`).
    diffs: list[str]
    #: Property path -> kind (``add``, ``update``, ``delete``, ``update-replace``, ...).
    detailed_diff: dict[str, str]
    #: Keys whose change forces a replacement.
    replace_keys: list[str] = field(default_factory=list)
    #: Inputs whose old and new values differ (what ``--diff`` shows for an update or a
    #: replacement); empty when the step has no old or no new state.
    changed_inputs: list[str] = field(default_factory=list)
    #: The resource's outputs once the step finished (in a preview: the planned ones, with
    #: values unknown until deploy shown as ``pulumi.runtime.rpc.UNKNOWN``).
    outputs: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The resource's logical name (last URN segment)."""
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class Diagnostic:
    """A message the engine shows: ``severity`` is ``info``, ``warning``, ``error``, ..."""

    severity: str
    message: str
    urn: str | None


@dataclass
class EngineResult:
    """Everything one operation showed a user."""

    #: ``preview``, ``up``, ``refresh`` or ``destroy``.
    operation: str = ""
    steps: list[Step] = field(default_factory=list)
    #: Steps that failed (``ResOpFailedEvent``).
    failed: list[Step] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Operation -> count from the summary event (``create``, ``same``, ...).
    summary: dict[str, int] = field(default_factory=dict)
    #: The CLI's output as a user sees it (without colour), also when it failed.
    stdout: str = ""
    stderr: str = ""
    #: The command's failure (its exit code, stdout and stderr), or None when it succeeded.
    error: str | None = None
    #: Stack outputs after ``up`` (plain values).
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """Whether the command exited 0."""
        return self.error is None

    def steps_of(self, name: str) -> list[Step]:
        """Steps of the resource with this logical name."""
        return [step for step in self.steps if step.name == name]

    def step(self, name: str) -> Step:
        """The one step of the resource with this logical name."""
        found = self.steps_of(name)
        if len(found) != 1:
            raise AssertionError(f"expected one step of {name!r}, got {found!r}")
        return found[0]

    def ops(self, name: str) -> list[str]:
        """The operations on one resource (e.g. ``["create"]``, ``["same"]``)."""
        return [step.op for step in self.steps_of(name)]

    def messages(self, severity: str, name: str | None = None) -> list[str]:
        """Diagnostics of a severity, optionally only those on one resource."""
        return [
            d.message
            for d in self.diagnostics
            if d.severity == severity and (name is None or (d.urn or "").endswith("::" + name))
        ]


def _enum_text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _changed_inputs(meta: Any) -> list[str]:
    if meta.old is None or meta.new is None:
        return []
    old, new = dict(meta.old.inputs or {}), dict(meta.new.inputs or {})
    return sorted(
        k for k in old.keys() | new.keys() if not k.startswith("__") and old.get(k) != new.get(k)
    )


def _step(meta: Any) -> Step:
    return Step(
        op=_enum_text(meta.op),
        urn=meta.urn,
        type=meta.type,
        diffs=list(meta.diffs or []),
        detailed_diff={k: _enum_text(v.diff_kind) for k, v in (meta.detailed_diff or {}).items()},
        replace_keys=list(meta.keys or []),
        changed_inputs=_changed_inputs(meta),
    )


class _Collector:
    """Turns engine events (delivered on the Automation API's reader thread) into a result."""

    def __init__(self, result: EngineResult) -> None:
        self.result = result
        self.lock = threading.Lock()
        self.out: list[str] = []
        self.err: list[str] = []

    def on_event(self, event: auto.EngineEvent) -> None:
        with self.lock:
            self._record(event)

    def _record(self, event: auto.EngineEvent) -> None:
        result = self.result
        if event.resource_pre_event is not None:
            result.steps.append(_step(event.resource_pre_event.metadata))
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            for step in reversed(result.steps):
                if step.urn == meta.urn:
                    step.outputs = dict(meta.new.outputs or {}) if meta.new else None
                    break
        elif event.res_op_failed_event is not None:
            result.failed.append(_step(event.res_op_failed_event.metadata))
        elif event.diagnostic_event is not None:
            diagnostic = event.diagnostic_event
            result.diagnostics.append(
                Diagnostic(
                    _enum_text(diagnostic.severity),
                    diagnostic.message.strip(),
                    diagnostic.urn or None,
                )
            )
        elif event.summary_event is not None:
            result.summary = {
                _enum_text(op): count
                for op, count in (event.summary_event.resource_changes or {}).items()
            }

    def on_output(self, line: str) -> None:
        self.out.append(line)

    def on_error(self, line: str) -> None:
        self.err.append(line)


def _project_dir(program: Path, root: Path) -> Path:
    """A project directory whose Pulumi.yaml runs ``program`` in place."""
    settings = yaml.safe_load((program / "Pulumi.yaml").read_text(encoding="utf-8"))
    if not isinstance(settings, dict) or "name" not in settings:
        raise ValueError(f"{program / 'Pulumi.yaml'} is not a Pulumi project file")
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    target = (program / str(settings.get("main") or ".")).resolve()
    settings["main"] = str(target)  # absolute: the engine runs the program from there
    (project / "Pulumi.yaml").write_text(
        yaml.safe_dump(settings, sort_keys=False), encoding="utf-8"
    )
    return project


class EngineStack:
    """A fresh stack of one program, in its own ``PULUMI_HOME`` and ``file://`` backend.

    Each operation returns an :class:`EngineResult`; a failed command does not raise, its
    result has ``error`` set (assert ``result.error is None, result.error``).
    """

    def __init__(
        self,
        root: Path,
        program: Path,
        *,
        config: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        stack_name: str = "test",
        env: Mapping[str, str] | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        """``program``: a directory with ``Pulumi.yaml``; ``config``/``secrets``: stack
        config (a key without ``namespace:`` belongs to the project); ``env``: extra
        environment for every command (for the program and its providers too)."""
        bin_dir = bin_dir or pulumi_bin_dir()
        self.root = root
        self.program = program.resolve()
        home, state = root / "pulumi-home", root / "state"
        home.mkdir(parents=True, exist_ok=True)
        state.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = {
            **ENGINE_ENV,
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            **(env or {}),
        }
        self.project_dir = _project_dir(self.program, root)
        command = (
            auto.PulumiCommand(root=str(bin_dir.parent), skip_version_check=True)
            if bin_dir.name == "bin"
            else None
        )
        self.stack = auto.create_stack(
            stack_name=stack_name,
            work_dir=str(self.project_dir),
            opts=auto.LocalWorkspaceOptions(
                work_dir=str(self.project_dir),
                pulumi_home=str(home),
                env_vars=self.env,
                secrets_provider="passphrase",
                pulumi_command=command,
            ),
        )
        values = {k: auto.ConfigValue(v) for k, v in (config or {}).items()}
        values |= {k: auto.ConfigValue(v, secret=True) for k, v in (secrets or {}).items()}
        if values:
            self.stack.set_all_config(values)

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        """``pulumi config set [--secret] key value``."""
        self.stack.set_config(key, auto.ConfigValue(value, secret=secret))

    def _run(self, operation: str, call: Callable[..., Any], **kwargs: Any) -> EngineResult:
        result = EngineResult(operation=operation)
        collector = _Collector(result)
        try:
            outcome = call(
                on_event=collector.on_event,
                on_output=collector.on_output,
                on_error=collector.on_error,
                color="never",
                **kwargs,
            )
        except auto.CommandError as exc:
            result.error = str(exc)
        else:
            outputs = getattr(outcome, "outputs", None) or {}
            result.outputs = {key: value.value for key, value in outputs.items()}
        result.stdout = "\n".join(collector.out)
        result.stderr = "\n".join(collector.err)
        return result

    def preview(self, **options: Any) -> EngineResult:
        """``pulumi preview --diff`` (options: those of ``Stack.preview``)."""
        return self._run("preview", self.stack.preview, diff=True, **options)

    def up(self, **options: Any) -> EngineResult:
        """``pulumi up --yes --diff``."""
        return self._run("up", self.stack.up, diff=True, **options)

    def refresh(self, **options: Any) -> EngineResult:
        """``pulumi refresh --yes``."""
        return self._run("refresh", self.stack.refresh, **options)

    def destroy(self, **options: Any) -> EngineResult:
        """``pulumi destroy --yes``."""
        return self._run("destroy", self.stack.destroy, **options)

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the real ``pulumi`` CLI on this stack as a user would (``pulumi up --yes``
        previews first, unlike the Automation API's ``up``, which skips the preview)."""
        return subprocess.run(
            ["pulumi", *args, "--stack", self.stack.name, "--non-interactive", "--color", "never"],
            cwd=self.project_dir,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def state(self) -> dict[str, Any]:
        """The stack's checkpoint (``pulumi stack export``): what state holds."""
        deployment = self.stack.export_stack().deployment
        return dict(deployment or {})

    def state_text(self) -> str:
        """:meth:`state` as JSON text, to search for what must never be stored."""
        return json.dumps(self.state())
