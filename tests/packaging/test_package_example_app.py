"""``sam-ext package`` on examples/sam/app: the template ``sam package`` would write, signed
packages that verify, a cfn-lint-clean output, the verdict summary, and the cache."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import yaml

SIGN_ALL = ("--signing-profiles", "HelloFunction=Publisher SharedLayer=Publisher")
CODE = {"HelloFunction": "CodeUri", "GoodbyeFunction": "CodeUri", "SharedLayer": "ContentUri"}
SOURCES = {
    "HelloFunction": "src/hello",
    "GoodbyeFunction": "src/goodbye",
    "SharedLayer": "layers/shared",
}


def _package(sam_ext, publisher, output: str = "packaged.yaml", *extra: str):
    return sam_ext(
        "package", *SIGN_ALL, *publisher.overrides, "--output-template-file", output, *extra
    )


def _code(template: dict, logical_id: str) -> Path:
    return Path(template["Resources"][logical_id]["Properties"][CODE[logical_id]])


def test_only_code_locations_are_rewritten(sam_ext, app, publisher, tools) -> None:
    original = tools.load(app / "template.yaml")
    _package(sam_ext, publisher)
    packaged = tools.load(app / "packaged.yaml")

    artifacts = (app / ".sam-ext" / "artifacts").resolve()
    expected = copy.deepcopy(original)
    for logical_id, prop in CODE.items():
        location = _code(packaged, logical_id)
        assert location.parent == artifacts, location
        assert location.is_file()
        expected["Resources"][logical_id]["Properties"][prop] = str(location)
    assert packaged == expected
    # Key order is kept too, as sam package keeps it.
    assert list(packaged) == list(original)
    assert list(packaged["Resources"]) == list(original["Resources"])


def test_signed_objects_verify_and_hold_the_sources(sam_ext, app, publisher, tools, backend):
    _package(sam_ext, publisher)
    packaged = tools.load(app / "packaged.yaml")
    for logical_id in ("HelloFunction", "SharedLayer"):
        signed = _code(packaged, logical_id)
        assert signed.name.startswith("signed_")
        assert tools.members(signed) == tools.tree(app / SOURCES[logical_id])
        verdict = tools.verdict(backend, signed, publisher.version_arn)
        assert verdict.decision is tools.allow, verdict.message
        job = backend.describe_signing_job(signed.stem.removeprefix("signed_"))
        assert job["status"] == "Succeeded"
        assert job["profileName"] == "Publisher"
    # GoodbyeFunction had no profile: a plain, unsigned but valid package of its files.
    unsigned = _code(packaged, "GoodbyeFunction")
    assert not unsigned.name.startswith("signed_")
    assert tools.members(unsigned) == tools.tree(app / "src/goodbye")
    verdict = tools.verdict(backend, unsigned, publisher.version_arn)
    assert verdict.decision is tools.reject
    assert [f.check.value for f in verdict.failed] == ["mismatch"]


def test_signed_objects_pass_sam_ext_verify(sam_ext, app, publisher, tools) -> None:
    _package(sam_ext, publisher)
    packaged = tools.load(app / "packaged.yaml")
    csc = app / "csc.json"
    csc.write_text(
        json.dumps(
            {
                "AllowedPublishers": {"SigningProfileVersionArns": [publisher.version_arn]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
            }
        )
    )
    hello = sam_ext("verify", _code(packaged, "HelloFunction"), "--csc-file", csc)
    assert '"ALLOW"' in hello.out
    goodbye = sam_ext("verify", _code(packaged, "GoodbyeFunction"), "--csc-file", csc, status=1)
    assert '"REJECT"' in goodbye.out


def test_packaged_template_passes_cfn_lint(sam_ext, app, publisher, tools) -> None:
    _package(sam_ext, publisher)
    lint = tools.cfn_lint(app / "packaged.yaml")
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_summary_lists_profile_object_expiry_and_verdict(sam_ext, app, publisher, tools):
    result = _package(sam_ext, publisher)
    packaged = tools.load(app / "packaged.yaml")
    lines = result.err.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Resource"))
    assert re.split(r"\s{2,}", lines[header]) == [
        "Resource",
        "Profile",
        "Signed object",
        "Signature expires",
        "Verdict",
    ]

    hello = result.row("HelloFunction")
    assert hello[:3] == ["HelloFunction", "Publisher", _code(packaged, "HelloFunction").name]
    assert hello[3].startswith(tools.expiry_prefix)
    assert hello[4] == "ALLOW"

    goodbye = result.row("GoodbyeFunction")
    assert goodbye == [
        "GoodbyeFunction",
        "-",
        _code(packaged, "GoodbyeFunction").name,
        "-",
        "WARN (mismatch)",
    ]

    layer = result.row("SharedLayer")
    assert layer[:3] == ["SharedLayer", "Publisher", _code(packaged, "SharedLayer").name]
    assert layer[3].startswith(tools.expiry_prefix)
    # A layer has no config of its own: Lambda checks it under HelloFunction's Enforce one.
    assert layer[4] == "ALLOW as a layer of HelloFunction"

    # The unsigned Warn function is announced before any package is made.
    warning = next(i for i, line in enumerate(lines) if line.startswith("warning:"))
    assert "GoodbyeFunction" in lines[warning]
    assert warning < next(i for i, line in enumerate(lines) if line.startswith("[1/3]"))
    assert result.out == ""


def test_stdout_is_the_template_and_stderr_the_messages(app, publisher, tools, home) -> None:
    completed = subprocess.run(
        [
            str(tools.bin / "sam-ext"),
            "--now",
            tools.now_text,
            "package",
            *SIGN_ALL,
            "--parameter-overrides",
            f"TrustedProfileVersionArn={publisher.version_arn}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CODESIGN_HOME": str(home)},
    )
    assert completed.returncode == 0, completed.stderr
    template = yaml.safe_load(completed.stdout)
    assert template["Resources"]["HelloFunction"]["Properties"]["CodeUri"].endswith(".zip")
    assert "HelloFunction" in completed.stderr and "ALLOW" in completed.stderr
    for message in ("Signed object", "[1/3]", "warning:"):
        assert message in completed.stderr
        assert message not in completed.stdout
    assert "AWSTemplateFormatVersion" not in completed.stderr


# --- the cache ---------------------------------------------------------------------------
def test_second_run_is_served_from_the_cache(sam_ext, app, publisher) -> None:
    _package(sam_ext, publisher, "first.yaml")
    assert sam_ext.jobs() == 2
    second = _package(sam_ext, publisher, "second.yaml")
    assert sam_ext.jobs() == 2
    assert (app / "first.yaml").read_text() == (app / "second.yaml").read_text()
    for logical_id in CODE:
        assert "(cached)" in second.row(logical_id)[2]


def test_changing_one_source_re_signs_only_that_function(sam_ext, app, publisher, tools):
    _package(sam_ext, publisher, "first.yaml")
    first = tools.load(app / "first.yaml")
    with (app / "src/hello/app.py").open("a") as handle:
        handle.write("\n# changed\n")
    second_run = _package(sam_ext, publisher, "second.yaml")
    second = tools.load(app / "second.yaml")

    assert sam_ext.jobs() == 3
    assert _code(second, "HelloFunction") != _code(first, "HelloFunction")
    assert b"# changed" in tools.members(_code(second, "HelloFunction"))["app.py"]
    assert "(cached)" not in second_run.row("HelloFunction")[2]
    for logical_id in ("SharedLayer", "GoodbyeFunction"):
        assert _code(second, logical_id) == _code(first, logical_id)
        assert "(cached)" in second_run.row(logical_id)[2]


def test_a_tampered_cached_object_is_signed_again(sam_ext, app, publisher, tools, backend):
    _package(sam_ext, publisher, "first.yaml")
    signed = _code(tools.load(app / "first.yaml"), "HelloFunction")
    tools.flip_code_byte(signed)
    rerun = _package(sam_ext, publisher, "second.yaml")
    fresh = _code(tools.load(app / "second.yaml"), "HelloFunction")
    assert fresh != signed
    assert "(cached)" not in rerun.row("HelloFunction")[2]
    assert tools.verdict(backend, fresh, publisher.version_arn).decision is tools.allow
    assert sam_ext.jobs() == 3


def test_same_sized_sources_with_equal_times_do_not_share_a_package(
    sam_ext, tmp_path, monkeypatch, tools
) -> None:
    """Two code directories whose files have equal names, sizes and modification times
    (as after extracting an archive) but different content get their own packages."""
    root = tmp_path / "twins"
    for name, value in (("one", b"X = 1\n"), ("two", b"X = 2\n")):
        (root / name).mkdir(parents=True)
        (root / name / "app.py").write_bytes(value)
        os.utime(root / name / "app.py", ns=(1_700_000_000 * 10**9,) * 2)
    (root / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        + "".join(
            f"  {fn}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            f"      CodeUri: {src}\n      Handler: app.h\n      Runtime: python3.12\n"
            for fn, src in (("One", "one"), ("Two", "two"))
        )
    )
    monkeypatch.chdir(root)
    sam_ext("package", "--jobs", "1", "--output-template-file", "out.yaml")
    out = tools.load(root / "out.yaml")["Resources"]
    assert tools.members(Path(out["One"]["Properties"]["CodeUri"])) == {"app.py": b"X = 1\n"}
    assert tools.members(Path(out["Two"]["Properties"]["CodeUri"])) == {"app.py": b"X = 2\n"}


def test_a_layer_is_labelled_with_its_verdict_under_each_config_using_it(
    sam_ext, app, publisher, tools, backend
) -> None:
    """SharedLayer signed by a profile HelloFunction's Enforce config does not allow, and
    used by GoodbyeFunction (Warn) too: the summary says each outcome, worst first, and
    never 'no code signing config'."""
    other = backend.put_signing_profile("Other", now=tools.now)["profileVersionArn"]
    assert other != publisher.version_arn
    template = tools.load(app / "template.yaml")
    template["Resources"]["GoodbyeFunction"]["Properties"]["Layers"] = [{"Ref": "SharedLayer"}]
    (app / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Publisher SharedLayer=Other",
        *publisher.overrides,
        "--output-template-file",
        "packaged.yaml",
    )
    layer = result.row("SharedLayer")
    assert layer[1] == "Other"
    assert layer[4] == (
        "REJECT (mismatch) as a layer of HelloFunction; WARN (mismatch) as a layer of "
        "GoodbyeFunction"
    )
