"""The CLI's edges (issue 21): options become typed settings in the command and the library
takes those, never a dict of options; no module imports a command module; the global
options, the environment variables and the run-and-exit ladder live in one module
(sam_ext/entry.py) that both entry points, the click CLI and the click-free fast path, use."""

from __future__ import annotations

import ast
import dataclasses
import errno
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

import sam_ext
from provider.errors import CodesignError, ConflictError, NotFoundError, ValidationError
from sam_ext import cli as click_cli
from sam_ext import entry, fast
from sam_ext.settings import ChangeSetSettings, DeploySettings, PackageSettings
from sam_ext.signing_profiles import SigningProfileRef

SAM_EXT = Path(sam_ext.__file__).parent
#: The library the commands hand their settings to: it never sees a dict of options.
LIBRARY = sorted(
    [
        *(f"sam_ext.packaging.{p.stem}" for p in (SAM_EXT / "packaging").glob("[!_]*.py")),
        "sam_ext.deploy_aws",
        "sam_ext.deploy_local",
        "sam_ext.packaged_verdicts",
        "sam_ext.parameters",
        "sam_ext.settings",
        "sam_ext.signing_profiles",
        "sam_ext.template",
        "sam_ext.verifying",
    ]
)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_imports_a_command_module() -> None:
    """``deploy`` (and everything else) reaches package's work through the library
    (sam_ext.packaging.run); only sam_ext.cli names the commands, by string, lazily."""
    offenders = {
        str(path.relative_to(SAM_EXT)): sorted(
            name for name in _imported_modules(path) if name.startswith("sam_ext.commands")
        )
        for path in SAM_EXT.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def _callables(module: Any) -> list[tuple[str, Any]]:
    """The functions and methods defined in ``module``."""
    found = []
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            found.append((name, value))
        elif inspect.isclass(value):
            found += [
                (f"{name}.{attribute}", member)
                for attribute, member in vars(value).items()
                if inspect.isfunction(member)
            ]
    return found


@pytest.mark.parametrize("module_name", LIBRARY)
def test_the_library_takes_no_dict_of_options(module_name: str) -> None:
    module = importlib.import_module(module_name)
    taking_options = [
        name
        for name, function in _callables(module)
        if "options" in inspect.signature(function).parameters
    ]
    assert taking_options == []


def test_package_and_deploy_hand_typed_settings_to_the_library() -> None:
    from sam_ext.deploy_aws import deploy_on_aws
    from sam_ext.deploy_local import deploy_locally
    from sam_ext.packaging.run import package_template

    def annotation(function: Any, parameter: str) -> Any:
        """The class a parameter is annotated with (annotations are strings here)."""
        text = inspect.signature(function).parameters[parameter].annotation
        return vars(sys.modules[function.__module__])[text]

    assert annotation(package_template, "settings") is PackageSettings
    assert annotation(deploy_on_aws, "deploy") is DeploySettings
    assert annotation(deploy_locally, "deploy") is DeploySettings
    settings = PackageSettings(template_file=Path("template.yaml"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(settings, "jobs", 3)  # noqa: B010 (as `settings.jobs = 3`, which mypy refuses)


def _capture(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> list[Any]:
    """Replace the library function ``name`` a command calls; record what it is handed."""
    handed: list[Any] = []

    def record(ctx: Any, settings: Any) -> Any:
        handed.append(settings)
        raise ConflictError("stopped here by the test")

    monkeypatch.setattr(importlib.import_module(module), name, record)
    return handed


def test_package_settings_are_samconfig_under_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "samconfig.toml").write_text(
        "version = 0.1\n"
        "[default.global.parameters]\n"
        'parameter_overrides = "Stage=prod Size=2"\n'
        "[default.package.parameters]\n"
        'signing_profiles = ["Fn=Publisher", "Layer=Other:123456789012"]\n'
        'artifact_dir = "out"\n'
        "jobs = 3\n"
        's3_prefix = "apps"\n'
    )
    handed = _capture(monkeypatch, "sam_ext.commands.package", "package_template")

    home = ["--home", str(tmp_path / "home")]
    status = click_cli.main([*home, "package", "--parameter-overrides", "Stage=dev", "--jobs", "5"])

    stopped = "error: ConflictException: stopped here by the test\n"
    assert (status, capsys.readouterr().err) == (1, stopped)
    assert handed == [
        PackageSettings(
            template_file=Path("template.yaml"),
            signing_profiles={
                "Fn": SigningProfileRef("Publisher"),
                "Layer": SigningProfileRef("Other", "123456789012"),
            },
            parameter_overrides={"Stage": "dev"},  # the command line's, over samconfig's
            s3_bucket=None,
            s3_prefix="apps",
            artifact_dir=Path("out"),
            jobs=5,
        )
    ]


def test_deploy_settings_name_the_stack_and_carry_the_package_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "my-app"
    app.mkdir()
    monkeypatch.chdir(app)
    (app / "template.yaml").write_text("Resources: {}\n")
    handed = _capture(monkeypatch, "sam_ext.commands.deploy", "deploy_locally")
    home = ["--home", str(tmp_path / "home")]

    assert click_cli.main([*home, "deploy", "--parameter-overrides", "A=1"]) == 1
    assert click_cli.main([*home, "deploy", "--stack-name", "named", "-t", "template.yaml"]) == 1
    assert handed == [
        DeploySettings(
            stack_name="my-app",  # the template's directory, on the local backend
            package=PackageSettings(Path("template.yaml"), parameter_overrides={"A": "1"}),
            change_set=ChangeSetSettings(),
        ),
        DeploySettings(stack_name="named", package=PackageSettings(Path("template.yaml"))),
    ]
    # Bad input is refused while the settings are built, before the library is called.
    capsys.readouterr()
    assert click_cli.main([*home, "deploy", "--stack-name", "no_underscores"]) == 2
    assert click_cli.main([*home, "deploy", "--signing-profiles", "nonsense"]) == 2
    said = capsys.readouterr().err.splitlines()
    assert [line.split(":")[:2] for line in said] == [
        ["error", " ValidationException"],
        ["error", " ValidationException"],
    ]
    assert "--stack-name: 'no_underscores'" in said[0] and "--signing-profiles" in said[1]
    assert len(handed) == 2


def test_the_global_options_are_declared_once_for_both_entry_points() -> None:
    """sam_ext.cli declares exactly entry.GLOBAL_OPTIONS to click, with their variables,
    and the fast path reads those; the variables are the ones the library reads."""
    declared = {
        param.opts[0]: param.envvar
        for param in click_cli.cli.params
        if isinstance(param, click.Option) and param.expose_value
    }
    assert declared == entry.GLOBAL_OPTIONS
    from provider import trust
    from provider.backends.local import store

    assert (store.HOME_ENV, store.REGION_ENV) == (entry.HOME_ENV, entry.REGION_ENV)
    assert (trust.ANCHOR_ENV, trust.MAX_AGE_ENV) == (
        entry.TRUST_ANCHOR_ENV,
        entry.TRUST_MAX_AGE_ENV,
    )


def test_neither_entry_point_has_a_ladder_of_its_own() -> None:
    """What a command raises is turned into a status in sam_ext/entry.py only."""
    ladder = {"CodesignError", "SystemExit", "KeyboardInterrupt", "EOFError", "OSError"}
    for module in (click_cli, fast):
        source = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        caught = {
            ast.unparse(node.type)
            for node in ast.walk(source)
            if isinstance(node, ast.ExceptHandler) and node.type is not None
        }
        assert not any(name in text for text in caught for name in ladder), (module, caught)
        assert "run" in {
            node.func.id
            for node in ast.walk(source)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }


def _raising(exc: BaseException) -> Any:
    def body() -> int:
        raise exc

    return body


@pytest.mark.parametrize(
    ("raised", "status", "said"),
    [
        (ValidationError("--x: bad"), 2, "error: ValidationException: --x: bad\n"),
        (NotFoundError("gone"), 2, "error: ResourceNotFoundException: gone\n"),
        (ConflictError("refused"), 1, "error: ConflictException: refused\n"),
        (CodesignError("plain"), 1, "error: CodesignError: plain\n"),
        (SystemExit(3), 3, ""),
        (SystemExit("text"), 1, ""),
        (KeyboardInterrupt(), 130, "\naborted\n"),
        (EOFError(), 130, "\naborted\n"),
        (OSError(errno.EPIPE, "Broken pipe"), 1, ""),
        (
            RuntimeError("boom"),
            1,
            "internal error: RuntimeError: boom (set SAM_EXT_DEBUG=1 for details)\n",
        ),
        (OSError(errno.EIO, "I/O"), 1, "internal error: OSError: [Errno 5] I/O (set "),
    ],
)
def test_the_one_ladder(
    raised: BaseException,
    status: int,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(entry.DEBUG_ENV, raising=False)
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # restored after a broken pipe's wrap
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    assert entry.run(_raising(raised)) == status
    err = capsys.readouterr().err
    assert err.startswith(said) and (err == said or said.endswith("(set "))
    assert "Traceback" not in err


def test_a_front_end_turns_its_own_exceptions_first(capsys: pytest.CaptureFixture[str]) -> None:
    def own(exc: Exception) -> int | None:
        return 7 if isinstance(exc, LookupError) else None

    assert entry.run(_raising(KeyError("k")), own=own) == 7
    assert entry.run(_raising(ValueError("v")), own=own) == 1
    assert entry.run(lambda: 0, own=own) == 0
    assert capsys.readouterr().err.startswith("internal error: ValueError: v")


def test_the_fast_path_imports_no_click() -> None:
    probe = (
        "import sys, sam_ext.fast, sam_ext.entry; "
        "print(sorted(m for m in sys.modules if m == 'click' or m.startswith('click.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
