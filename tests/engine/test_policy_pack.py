"""The policy pack through the real CLI: ``pulumi preview --policy-pack provider/policy``,
run by the project's Python language host (its ``RunPlugin`` for analyzers).

One program (tests/engine/programs/policy-pack) on a new stack: a function without a config,
a Warn config, two functions whose code Lambda would reject, and one that passes (then,
under Warn and without the tampered code, one that deploys with a warning). Then packs
that cannot start, and a pack that shows what the host passed it.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from engine.conftest import StackFactory
from pulumi import automation as auto

from provider.archive import zip_directory
from provider.backends.local import LocalBackend
from provider.clock import utcnow
from provider.policy import pack_path

HELLO = Path(__file__).resolve().parents[2] / "examples" / "functions" / "hello"


@dataclass
class PolicyRun:
    """What one preview with the pack showed."""

    #: ``(policy name, enforcement level, resource name, message)``.
    violations: list[tuple[str, str, str, str]] = field(default_factory=list)
    error: str | None = None
    stdout: str = ""

    def of(self, policy: str) -> list[tuple[str, str, str, str]]:
        return [v for v in self.violations if v[0] == policy]


def _preview(stack: Any, **options: Any) -> PolicyRun:
    run = PolicyRun()
    out: list[str] = []

    def on_event(event: auto.EngineEvent) -> None:
        policy = event.policy_event
        if policy is not None:
            name = (policy.resource_urn or "").rsplit("::", 1)[-1]
            run.violations.append(
                (policy.policy_name, policy.enforcement_level, name, policy.message)
            )

    try:
        stack.stack.preview(on_event=on_event, on_output=out.append, color="never", **options)
    except auto.CommandError as exc:
        run.error = str(exc)
    run.stdout = "\n".join(out)
    return run


def _tamper(path: Path) -> None:
    """Flip one byte of the first member's data (the signed bytes)."""
    data = bytearray(path.read_bytes())
    member = zipfile.ZipFile(path).infolist()[0]
    name_len, extra_len = struct.unpack_from("<HH", data, member.header_offset + 26)
    data[member.header_offset + 30 + name_len + extra_len] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def packages(keystore: Path, tmp_path: Path) -> dict[str, str]:
    """An unsigned .zip, and a signed one changed after signing."""
    unsigned = tmp_path / "unsigned.zip"
    unsigned.write_bytes(zip_directory(HELLO))
    backend = LocalBackend(keystore)
    now = utcnow()
    backend.put_signing_profile("outside_team", now=now)
    job = backend.sign_package(unsigned, str(tmp_path / "signed"), "outside_team", now=now)
    tampered = Path(job["signedObject"]["path"])
    _tamper(tampered)
    return {"unsigned": str(unsigned), "tampered": str(tampered)}


def _levels(run: PolicyRun) -> list[tuple[str, str, str]]:
    return sorted((policy, level, name) for policy, level, name, _ in run.violations)


#: The program side's own failure (provider/resources/report.py), apart from the pack's.
PROGRAM_REJECTS = "deploy(s) in this update would be rejected"


def test_one_preview_reports_every_violation_and_config_lowers_them(
    engine_stack: StackFactory, packages: dict[str, str], tmp_path: Path
) -> None:
    stack = engine_stack("policy-pack", config=packages)

    strict = _preview(stack, policy_packs=[str(pack_path())])

    # The verdicts are a resource policy's: the engine runs those as it checks each
    # resource, so they are reported although the program itself fails the preview on
    # its two rejections (and the engine then runs no stack policy).
    assert _levels(strict) == [
        ("lambda-code-signing-enforce", "mandatory", "lenient"),
        ("lambda-code-signing-required", "mandatory", "no-config"),
        ("lambda-code-signing-verdict", "mandatory", "tampered"),
        ("lambda-code-signing-verdict", "mandatory", "unsigned"),
    ], strict.violations
    assert strict.error is not None, "mandatory violations must fail the preview"
    messages = {name: message for _, _, name, message in strict.violations}
    assert "InvalidCodeSignatureException" in messages["tampered"]
    assert "integrity" in messages["tampered"]
    assert "the package is not signed" in messages["unsigned"]
    assert "CodeVerificationFailedException" in messages["unsigned"]
    assert "To fix:" in messages["unsigned"]
    assert "code_signing_config" in messages["no-config"]
    assert 'policy="Enforce"' in messages["lenient"]

    # The pack's config: levels lowered (one policy off), and two policies' settings.
    lowered = tmp_path / "pack-config.json"
    lowered.write_text(
        json.dumps(
            {
                "lambda-code-signing-required": "advisory",
                "lambda-code-signing-enforce": {"enforcementLevel": "disabled"},
                "lambda-code-signing-verdict": "advisory",
                # The new package's signature (a 12-month profile) expires within 400 days.
                "signature-expiry-window": {"days": 400},
                # The publisher's 12 months are more than 6.
                "signing-profile-validity-max": {"months": 6},
            }
        )
    )
    configs = [str(lowered)]
    lowered_run = _preview(stack, policy_packs=[str(pack_path())], policy_pack_configs=configs)
    # Every violation is advisory now, yet the preview still fails: the program itself
    # reports each rejection and fails (a policy level cannot let Lambda deploy them).
    assert _levels(lowered_run) == [
        ("lambda-code-signing-required", "advisory", "no-config"),
        ("lambda-code-signing-verdict", "advisory", "tampered"),
        ("lambda-code-signing-verdict", "advisory", "unsigned"),
        ("signing-profile-validity-max", "advisory", "publisher"),
    ], lowered_run.violations
    assert lowered_run.error is not None and PROGRAM_REJECTS in lowered_run.error

    # Under Warn, and without the tampered package (an integrity failure is rejected
    # whatever the policy), the program side only warns: with the levels lowered, the
    # preview passes, with advisories only (stack policies run too, as the program ends).
    stack.set_config("policy", "Warn")
    stack.stack.remove_config("tampered")
    relaxed = _preview(stack, policy_packs=[str(pack_path())], policy_pack_configs=configs)
    assert relaxed.error is None, relaxed.error
    assert _levels(relaxed) == [
        ("lambda-code-signing-required", "advisory", "no-config"),
        ("lambda-code-signing-verdict-warn", "advisory", "unsigned"),
        ("signature-expiry-window", "advisory", "signed"),
        ("signing-profile-validity-max", "advisory", "publisher"),
    ], relaxed.violations
    warned = {name: message for _, _, name, message in relaxed.violations}
    assert (
        "would deploy with a warning under code signing config enforced (Warn)"
        in (warned["unsigned"])
    )
    assert "SignedPackage hello's signature expires at" in warned["signed"]


@pytest.mark.parametrize("found_by", ["CODESIGN_HOME", "the user data directory"])
def test_the_pack_finds_the_keystore_as_the_resources_do(
    engine_stack: StackFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, found_by: str
) -> None:
    """With the keystore named by ``CODESIGN_HOME``, or the default one (no
    ``codesign:home`` either way), the pack reads its revocations as the resources do:
    every one of policy-effects' five rejections."""
    monkeypatch.delenv("CODESIGN_HOME", raising=False)
    if found_by == "CODESIGN_HOME":
        keystore = tmp_path / "named-keystore"
        env = {"CODESIGN_HOME": str(keystore)}
    else:  # platformdirs' user data directory, under XDG_DATA_HOME on Linux
        keystore = tmp_path / "data" / "lambda-codesign"
        env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    stack = engine_stack(
        "policy-effects", config={"codesign:home": "", "policy": "Enforce"}, env=env
    )

    run = _preview(stack, policy_packs=[str(pack_path())])

    assert run.error is not None and PROGRAM_REJECTS in run.error, run.error
    assert (keystore / "policy-effects" / "manifest.json").is_file()
    rejected = {name: message for _, _, name, message in run.of("lambda-code-signing-verdict")}
    assert sorted(rejected) == [
        "expired", "revoked", "signature-revoked", "unsigned", "untrusted",
    ], run.violations  # fmt: skip
    assert "revocation: " in rejected["revoked"] and "revocation: " in rejected["signature-revoked"]


def test_a_config_naming_a_policy_the_pack_lacks_fails_the_preview(
    engine_stack: StackFactory, tmp_path: Path
) -> None:
    """A misspelt policy raised to mandatory is refused, naming it and the pack's policies."""
    config = tmp_path / "pack-config.json"
    config.write_text(
        json.dumps(
            {
                "all": "advisory",
                "lambda-code-signing-verdit": "mandatory",
                "signature-expiry-window": {"days": 10},
            }
        )
    )
    stack = engine_stack("smoke", config={"directory": str(tmp_path / "out")})

    run = _preview(stack, policy_packs=[str(pack_path())], policy_pack_configs=[str(config)])

    assert run.error is not None, "an unknown policy name must fail the preview"
    assert "this pack does not have: lambda-code-signing-verdit" in run.error, run.error
    assert "its policies are: lambda-code-signing-required, " in run.error, run.error
    assert "Traceback" not in run.error
    # The known names alone are accepted.
    config.write_text(json.dumps({"all": "advisory", "signature-expiry-window": {"days": 10}}))
    accepted = _preview(stack, policy_packs=[str(pack_path())], policy_pack_configs=[str(config)])
    assert accepted.error is None, accepted.error


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("main", "cause"),
    [
        ("import lambda_codesign_missing_dependency\n", "ModuleNotFoundError"),
        ("def broken(:\n", "SyntaxError"),
    ],
    ids=["missing-dependency", "syntax-error"],
)
def test_a_pack_that_cannot_start_fails_the_preview_with_its_error(
    engine_stack: StackFactory, tmp_path: Path, main: str, cause: str
) -> None:
    pack = tmp_path / "broken-pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text(main)
    stack = engine_stack("smoke", config={"directory": str(tmp_path / "out")})

    run = _preview(stack, policy_packs=[str(pack)])

    assert run.error is not None, "a pack that cannot start must fail the preview"
    # The CLI's own error says why (besides the traceback shown above it).
    final = run.error.split("policy pack not started", 1)[-1]
    assert "exited before it served" in final, run.error
    assert cause in final, run.error


#: A pack that never serves: it starts a child, records both pids, and blocks at import.
SLEEPING_PACK = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.environ["SLEEPING_PACK_PIDS"] + ".tmp", "w") as out:
    out.write(f"{os.getpid()} {child.pid} {os.getppid()}")
os.replace(os.environ["SLEEPING_PACK_PIDS"] + ".tmp", os.environ["SLEEPING_PACK_PIDS"])
time.sleep(600)
"""


def _sleeping_pack(tmp_path: Path) -> tuple[Path, Path]:
    """The pack's directory, and the file it writes its pid, its child's and its host's to."""
    pack = tmp_path / "sleeping-pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text(SLEEPING_PACK)
    return pack, tmp_path / "pids"


def _gone(pid: int, within: float) -> bool:
    """Whether process ``pid`` has ended (or is a zombie nobody reaps yet) within ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.timeout(120)
def test_a_pack_that_never_serves_fails_the_preview_after_the_start_timeout(
    engine_stack: StackFactory, tmp_path: Path
) -> None:
    """It used to hold the preview forever (not even SIGTERM ended it)."""
    pack, pids = _sleeping_pack(tmp_path)
    stack = engine_stack(
        "smoke",
        config={"directory": str(tmp_path / "out")},
        env={"CODESIGN_POLICY_PACK_START_TIMEOUT": "3", "SLEEPING_PACK_PIDS": str(pids)},
    )

    started = time.monotonic()
    run = _preview(stack, policy_packs=[str(pack)])
    took = time.monotonic() - started

    assert run.error is not None, "a pack that never serves must fail the preview"
    final = run.error.split("policy pack not started", 1)[-1]
    assert f"the Python policy pack in {pack} did not start serving within 3s" in final, run.error
    assert "CODESIGN_POLICY_PACK_START_TIMEOUT" in final, run.error
    assert took < 60, f"the preview took {took:.0f} s"
    # The pack and what it started were killed (its process group), not left behind.
    pack_pid, child_pid, _ = (int(pid) for pid in pids.read_text().split())
    assert _gone(pack_pid, 10) and _gone(child_pid, 10)


@pytest.mark.timeout(120)
def test_a_bad_start_timeout_fails_the_preview_naming_it(
    engine_stack: StackFactory, tmp_path: Path
) -> None:
    pack, _ = _sleeping_pack(tmp_path)
    stack = engine_stack(
        "smoke",
        config={"directory": str(tmp_path / "out")},
        env={"CODESIGN_POLICY_PACK_START_TIMEOUT": "soon"},
    )

    run = _preview(stack, policy_packs=[str(pack)])

    assert run.error is not None
    assert 'CODESIGN_POLICY_PACK_START_TIMEOUT="soon": expected a number of seconds' in run.error


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stopped", ["engine-killed", "host-terminated"])
def test_a_pack_and_its_host_end_when_the_engine_dies_or_the_host_is_stopped(
    engine_stack: StackFactory, tmp_path: Path, pulumi_cli: Path, stopped: str
) -> None:
    """A CLI killed outright (SIGKILL: no plugin is closed), or the language host told to
    stop (SIGTERM), while a pack starts leaves no pack, no process the pack started, and
    no language host behind."""
    pack, pids = _sleeping_pack(tmp_path)
    stack = engine_stack(
        "smoke", config={"directory": str(tmp_path / "out")}, env={"SLEEPING_PACK_PIDS": str(pids)}
    )
    preview = subprocess.Popen(
        [str(pulumi_cli / "pulumi"), "preview", "--non-interactive", "--stack", "test",
         "--policy-pack", str(pack)],
        cwd=stack.project_dir, env={**os.environ, **stack.env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not pids.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pids.exists(), "the pack did not start"
        pack_pid, child_pid, host_pid = (int(pid) for pid in pids.read_text().split())
        if stopped == "host-terminated":
            os.kill(host_pid, signal.SIGTERM)
            assert _gone(pack_pid, 10) and _gone(child_pid, 10)
    finally:
        preview.kill()
        preview.wait()
    assert _gone(host_pid, 10), "the language host outlived the engine"
    assert _gone(pack_pid, 10) and _gone(child_pid, 10)


ENV_PACK = """
import json, os, sys
import pulumi
from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy

KEYS = ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION")

def validate(args, report):
    # After the port line, the pack's output is the host's to stream to the engine.
    print("env-pack: a line on stdout", flush=True)
    print("env-pack: a line on stderr", file=sys.stderr, flush=True)
    seen = {key: os.environ.get(key) for key in KEYS}
    seen["config"] = json.loads(os.environ.get("PULUMI_CONFIG") or "null")
    seen["codesign:now"] = pulumi.Config("codesign").get("now")
    report(json.dumps(seen))

PolicyPack("env-pack", [StackValidationPolicy(
    name="show-env", description="env", validate=validate,
    enforcement_level=EnforcementLevel.ADVISORY)])
"""


def test_the_pack_gets_the_stack_settings_and_its_output_is_streamed(
    engine_stack: StackFactory, tmp_path: Path
) -> None:
    pack = tmp_path / "env-pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text(ENV_PACK)
    stack = engine_stack(
        "smoke",
        config={"directory": str(tmp_path / "out"), "codesign:now": "2030-01-02T03:04:05Z"},
    )

    run = _preview(stack, policy_packs=[str(pack)])

    assert run.error is None, run.error
    [(_, level, _, message)] = run.of("show-env")
    assert level == "advisory"
    seen = json.loads(message.split("\n", 1)[1])
    assert seen["PULUMI_PROJECT"] == "codesign-smoke"
    assert seen["PULUMI_STACK"] == "test"
    assert seen["PULUMI_DRY_RUN"] == "true"
    assert seen["PULUMI_ORGANIZATION"]  # "organization" on a file backend
    assert seen["config"]["codesign-smoke:directory"] == str(tmp_path / "out")
    assert seen["codesign:now"] == "2030-01-02T03:04:05Z"
    assert "env-pack: a line on stdout" in run.stdout
    assert "env-pack: a line on stderr" in run.stdout
