"""The console script's start-up fast path for ``verify`` (sam_ext/fast.py) behaves exactly as
the click CLI: for generated argument lists, both print the same, to the same stream, with
the same exit status; and it reads only the plain shape, leaving the rest to click."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sam_ext import cli as click_cli
from sam_ext import fast

NOW = "2026-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A keystore with a profile, an Enforce and a Warn CSC, and packages of each kind."""
    root = tmp_path_factory.mktemp("fast")
    home = root / "home"
    run = lambda *args: _in_process(click_cli.main, ["--home", str(home), "--now", NOW, *args])  # noqa: E731
    arn = json.loads(run("profile", "put", "--profile-name", "publisher")[1])["profileVersionArn"]
    cscs = {}
    for policy in ("Enforce", "Warn"):
        created = run(
            "csc", "create", "--allowed-publishers", f"SigningProfileVersionArns={arn}",
            "--code-signing-policies", f"UntrustedArtifactOnDeployment={policy}",
        )  # fmt: skip
        cscs[policy] = json.loads(created[1])["CodeSigningConfig"]["CodeSigningConfigArn"]
    source = root / "app.zip"
    with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    signed = json.loads(
        run("sign", "--profile-name", "publisher", "--source", str(source),
            "--destination", str(root / "out"))[1]
    )["signedObject"]["path"]  # fmt: skip
    tampered = root / "tampered.zip"
    tampered.write_bytes(Path(signed).read_bytes().replace(b"return 1", b"return 2"))
    request = {"AllowedPublishers": {"SigningProfileVersionArns": [arn]}}
    (root / "csc.json").write_text(json.dumps(request))
    (root / "bad-csc.json").write_text(json.dumps({"AllowedPublishers": {}}))
    (root / "not-json.json").write_text("{")
    (root / "dir.json").mkdir()
    return {
        "root": str(root),
        "home": str(home), "other_home": str(root / "other"), "enforce": cscs["Enforce"],
        "warn": cscs["Warn"], "signed": signed, "unsigned": str(source),
        "tampered": str(tampered), "missing": str(root / "missing.zip"),
        "csc": str(root / "csc.json"), "bad_csc": str(root / "bad-csc.json"),
        "not_json": str(root / "not-json.json"), "dir": str(root / "dir.json"),
    }  # fmt: skip


@pytest.fixture(autouse=True)
def _keystore(world: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --home, the world's keystore (never the user's); relative paths (a
    generated ``--home --home``) land in the world's directory."""
    monkeypatch.chdir(world["root"])
    for name in [k for k in os.environ if k.startswith(("CODESIGN_", "SAM_EXT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CODESIGN_HOME", world["home"])


def _in_process(entry: Any, argv: list[str]) -> tuple[int, str, str]:
    """Run an entry point with its own captured stdout/stderr (real text streams)."""
    import io

    out, err = io.BytesIO(), io.BytesIO()
    streams = (
        io.TextIOWrapper(out, encoding="utf-8", write_through=True),
        io.TextIOWrapper(err, encoding="utf-8", write_through=True),
    )
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = streams
    try:
        status = entry(argv)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved
    return status, out.getvalue().decode(), err.getvalue().decode()


_EVALUATED = re.compile(r'"evaluatedAt": "[^"]*"')


def _both(argv: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    def same_clock(result: tuple[int, str, str]) -> tuple[int, str, str]:
        status, out, err = result
        return status, _EVALUATED.sub('"evaluatedAt": "-"', out), err

    return same_clock(_in_process(fast.main, argv)), same_clock(_in_process(click_cli.main, argv))


def _words(world: dict[str, str]) -> st.SearchStrategy[list[str]]:
    """A plain verify command line (its options in any order, each value right or wrong),
    then a few edits: a word dropped, a piece added anywhere (help, an unknown or
    repeated option, ``--opt=value``, a second package, ``--``)."""
    value = lambda *keys: st.sampled_from([world.get(k, k) for k in keys])  # noqa: E731
    pair = lambda name, *keys: st.tuples(st.just(name), value(*keys))  # noqa: E731
    global_pieces = [
        pair("--home", "home", "other_home"),
        pair("--region", "us-east-1", "us-west-2", "not a region"),
        pair("--backend", "local"),
        pair("--now", NOW, "2040-01-01T00:00:00Z", "yesterday"),
    ]
    policy = st.one_of(
        pair("--code-signing-config-arn", "enforce", "warn", "arn:aws:lambda:nope"),
        pair("--csc-file", "csc", "bad_csc", "not_json", "dir", "missing"),
    )
    extra = st.one_of(
        *global_pieces,
        policy,
        pair("--at", NOW, "2026-13-01"),
        st.tuples(value("signed", "missing", "", "-", "--", "-h", "--help", "--version")),
        st.tuples(st.sampled_from(["--home=" + world["home"], "--at=" + NOW, "--trust-anchor"])),
        st.tuples(st.sampled_from(["--unknown", "--home", "--at", "verif", "csc"])),
    )

    @st.composite
    def build(draw: st.DrawFn) -> list[str]:
        chosen = draw(st.lists(st.sampled_from(range(len(global_pieces))), unique=True))
        head = [draw(global_pieces[index]) for index in chosen]
        tail = [
            draw(st.tuples(value("signed", "unsigned", "tampered", "missing", "dir"))),
            draw(policy),
        ]
        if draw(st.booleans()):
            tail.append(draw(pair("--at", NOW, "2040-01-01T00:00:00Z", "2026-13-01")))
        tail = draw(st.permutations(tail))
        pieces = [*head, ("verify",), *tail]
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            if draw(st.booleans()) and len(pieces) > 1:
                del pieces[draw(st.integers(0, len(pieces) - 1))]
            else:
                pieces.insert(draw(st.integers(0, len(pieces))), draw(extra))
        return [word for piece in pieces for word in piece]

    return build()


def test_generated_argument_lists_print_and_exit_alike(world: dict[str, str]) -> None:
    taken = []

    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(_words(world))
    def check(argv: list[str]) -> None:
        taken.append(fast.plain_verify(argv) is not None)
        ours, clicks = _both(argv)
        assert ours == clicks, argv

    check()
    # Both ways were exercised: the fast path and click's.
    assert any(taken) and not all(taken)


def test_each_verdict_and_error_prints_alike_and_takes_the_fast_path(
    world: dict[str, str],
) -> None:
    w = world
    cases = [
        ["verify", w["signed"], "--code-signing-config-arn", w["enforce"]],  # ALLOW
        ["verify", w["unsigned"], "--code-signing-config-arn", w["warn"]],  # WARN
        ["verify", w["unsigned"], "--code-signing-config-arn", w["enforce"]],  # REJECT
        ["verify", w["tampered"], "--code-signing-config-arn", w["enforce"]],  # REJECT
        ["verify", "--csc-file", w["csc"], w["signed"], "--at", "2026-06-02T00:00:00Z"],
        ["verify", w["signed"], "--csc-file", w["bad_csc"]],  # the schema's message
        ["verify", w["signed"], "--csc-file", w["not_json"]],
        ["verify", w["signed"], "--csc-file", w["dir"]],
        ["verify", w["missing"], "--code-signing-config-arn", w["enforce"]],
        ["verify", w["signed"], "--code-signing-config-arn", "arn:nope"],
        ["--now", "bad", "verify", w["signed"], "--code-signing-config-arn", w["enforce"]],
        ["verify", w["signed"], "--code-signing-config-arn", w["enforce"], "--at", "bad"],
        ["--region", "nowhere", "verify", w["signed"], "--code-signing-config-arn", w["enforce"]],
        ["--home", w["other_home"], "verify", w["signed"],
         "--code-signing-config-arn", w["enforce"]],
        ["--backend", "local", "--now", "2040-01-01T00:00:00Z", "verify", w["signed"],
         "--code-signing-config-arn", w["enforce"]],
    ]  # fmt: skip
    statuses = set()
    for argv in cases:
        assert fast.plain_verify(argv) is not None, argv
        ours, clicks = _both(argv)
        assert ours == clicks, argv
        statuses.add(ours[0])
    assert statuses == {0, 1, 2}


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--help"],
        ["-h", "verify"],
        ["--version"],
        ["verify", "P"],
        ["verify", "P", "Q", "--code-signing-config-arn", "A"],
        ["verify", "P", "--code-signing-config-arn", "A", "--csc-file", "F"],
        ["verify", "P", "--code-signing-config-arn", "A", "--code-signing-config-arn", "B"],
        ["verify", "P", "--code-signing-config-arn=A"],
        ["verify", "P", "--code-signing-config-arn", "-A"],
        ["verify", "P", "--code-signing-config-arn", "A", "--trust-file", "T"],
        ["--backend", "aws", "verify", "P", "--code-signing-config-arn", "A"],
        ["--home", "H", "--home", "H", "verify", "P", "--code-signing-config-arn", "A"],
        ["x", "verify", "P", "--code-signing-config-arn", "A"],
        ["verify", "P", "--code-signing-config-arn", "A", "--"],
        ["profile", "list"],
    ],
)
def test_anything_but_the_plain_shape_is_left_to_click(argv: list[str]) -> None:
    assert fast.plain_verify(argv) is None


def test_environment_defaults_are_read_as_click_reads_them(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["verify", world["signed"], "--code-signing-config-arn", world["enforce"]]
    monkeypatch.setenv("CODESIGN_HOME", world["home"])
    monkeypatch.setenv("CODESIGN_REGION", "")  # empty: unset, for click
    plain = fast.plain_verify(argv)
    assert plain is not None and plain.home == world["home"] and plain.region is None
    ours, clicks = _both(argv)
    assert ours == clicks and ours[0] == 0
    monkeypatch.setenv("CODESIGN_REGION", "eu-west-1")  # another region: REJECT
    ours, clicks = _both(argv)
    assert ours == clicks and ours[0] == 1
    monkeypatch.setenv("_SAM_EXT_COMPLETE", "bash_complete")
    assert fast.plain_verify(argv) is None


def test_the_console_script_prints_what_the_click_cli_prints(world: dict[str, str]) -> None:
    """As processes, with the real standard streams: byte for byte."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODESIGN_", "SAM_EXT_"))}
    args = ["--home", world["home"], "--now", NOW, "verify", world["unsigned"],
            "--code-signing-config-arn", world["warn"]]  # fmt: skip
    script = Path(sys.executable).parent / "sam-ext"
    ours = subprocess.run([str(script), *args], capture_output=True, env=env, timeout=60)
    clicks = subprocess.run(
        [sys.executable, "-m", "sam_ext.cli", *args], capture_output=True, env=env, timeout=60
    )
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        clicks.returncode,
        clicks.stdout,
        clicks.stderr,
    )
    assert ours.returncode == 0 and ours.stderr.startswith(b"warning:")


def test_a_closed_stdout_ends_both_alike(world: dict[str, str]) -> None:
    """Output into a pipe nobody reads (``| head`` gone): exit 1, nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODESIGN_", "SAM_EXT_"))}
    args = ["--home", world["home"], "verify", world["signed"],
            "--code-signing-config-arn", world["enforce"]]  # fmt: skip
    results = []
    for command in (
        [str(Path(sys.executable).parent / "sam-ext")],
        [sys.executable, "-m", "sam_ext.cli"],
    ):
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run(
                [*command, *args], stdout=write, stderr=subprocess.PIPE, env=env, timeout=60
            )
        finally:
            os.close(write)
        results.append((done.returncode, done.stderr))
    assert results[0] == results[1] == (1, b"")
