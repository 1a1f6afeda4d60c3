"""``sam-ext deploy`` on the local backend names the input at fault, before any work: a
template parameter with no value, a ``--stack-name`` CloudFormation would not take
(found trying the README as a new user)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

SIGNED = "HelloFunction=team_a SharedLayer=team_a"


@pytest.fixture
def packaged(run, copy_example) -> tuple[Path, str]:
    """examples/sam/app packaged (by the console script); its template and the publisher's
    profile version ARN."""
    app = copy_example("sam/app")
    arn = json.loads(run("profile", "put", "--profile-name", "team_a").stdout)["profileVersionArn"]
    template = app / "packaged.yaml"
    run(
        "package",
        "--template-file",
        app / "template.yaml",
        "--signing-profiles",
        SIGNED,
        "--parameter-overrides",
        f"TrustedProfileVersionArn={arn}",
        "--output-template-file",
        template,
    )
    return template, arn


def deploy(
    run, packaged: tuple[Path, str], *extra: object, expect: int = 0, home: Path | None = None
):
    """``sam-ext [--home HOME] deploy`` of the packaged app with its parameter given, and
    ``extra``."""
    template, arn = packaged
    return run(
        *(("--home", home) if home else ()), "deploy", "--template-file", template,
        "--parameter-overrides", f"TrustedProfileVersionArn={arn}", *extra, expect=expect,
    )  # fmt: skip


def test_a_parameter_without_a_value_is_named_with_the_option_that_gives_it(run, packaged):
    template, _ = packaged

    done = run("deploy", "--template-file", template, expect=2)

    assert done.stderr == (
        "error: ValidationException: --parameter-overrides: parameter TrustedProfileVersionArn "
        "must have a value (the template gives it no Default); pass --parameter-overrides "
        "TrustedProfileVersionArn=VALUE\n"
    )


def test_a_parameter_without_a_value_is_refused_before_anything_is_signed(run, packaged, home):
    template, _ = packaged
    jobs = json.loads(run("signature", "list").stdout)["jobs"]

    run(
        "deploy",
        "--template-file",
        template.parent / "template.yaml",
        "--signing-profiles",
        SIGNED,
        "--artifact-dir",
        template.parent / "fresh-artifacts",  # nothing cached: packaging would sign
        expect=2,
    )

    assert json.loads(run("signature", "list").stdout)["jobs"] == jobs
    assert not (home / "stacks").exists() or not any((home / "stacks").iterdir())


def test_a_stack_name_cloudformation_would_refuse_is_named(run, packaged, home):
    done = deploy(run, packaged, "--stack-name", "bad name!", expect=2)

    assert done.stderr.startswith(
        "error: ValidationException: --stack-name: 'bad name!' is not a CloudFormation stack name"
    ), done.stderr
    assert not (home / "stacks").exists() or not any((home / "stacks").iterdir())


def test_a_good_stack_name_and_parameters_deploy(run, packaged):
    done = deploy(run, packaged, "--stack-name", "my-app")

    assert "created my-app-HelloFunction (HelloFunction): ALLOW" in done.stderr


def test_a_nested_stack_parameter_its_parent_does_not_pass_is_named(run, copy_example):
    nested = copy_example("sam/nested")
    top = nested / "template.yaml"
    passed = (
        "      Parameters:\n"
        "        CodeSigningConfigArn: !GetAtt EnforceConfig.CodeSigningConfigArn\n"
    )
    assert passed in top.read_text()
    top.write_text(top.read_text().replace(passed, ""))  # Orders gets no config
    arn = json.loads(run("profile", "put", "--profile-name", "team_a").stdout)["profileVersionArn"]

    done = run(
        "package",
        "--template-file",
        top,
        "--signing-profiles",
        "ApiFunction=team_a Orders=team_a",
        "--parameter-overrides",
        f"TrustedProfileVersionArn={arn}",
        "--output-template-file",
        nested / "packaged.yaml",
        expect=2,
    )

    assert done.stderr == (
        "error: ValidationException: Orders: Parameters: no value for CodeSigningConfigArn, "
        "which the nested template declares with no Default (CloudFormation refuses the stack "
        "without one)\n"
    )
    assert json.loads(run("signature", "list").stdout)["jobs"] == []  # nothing signed


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Resources: {}\n", "Resources must be a mapping of at least one resource"),
        ("Resources: [a]\n", "Resources must be a mapping of at least one resource"),
        ("Parameters: {}\n", "it has no Resources section"),
        ("Resources:\n  F: 3\n", "resource F must be a mapping (with a Type), not 3"),
        ("Resources:\n  F: {Properties: {}}\n", "resource F has no Type"),
    ],
)
def test_a_template_without_resources_says_what_is_wrong(run, tmp_path: Path, text, said):
    template = tmp_path / "template.yaml"
    template.write_text(text)

    done = run("package", "--template-file", template, expect=2)

    assert done.stderr == f"error: ValidationException: template {template}: {said}\n"


def test_a_warned_function_is_named_once_in_the_warning(run, packaged):
    done = deploy(run, packaged)

    assert (
        "warning: function app-GoodbyeFunction: deploys with a warning under the Warn policy "
        "(mismatch: the package is not signed)\n"
    ) in done.stderr
    assert done.stderr.count("app-GoodbyeFunction") == 2  # the outcome line, the warning


def test_a_deploy_on_a_trust_file_says_the_trust_file_s_date(run, packaged, tmp_path: Path):
    trust = tmp_path / "trust.json"
    exported = json.loads(
        run("profile", "export-trust", "--profile-name", "team_a", "--output", trust).stdout
    )
    elsewhere = tmp_path / "elsewhere"  # a keystore that holds no profile

    done = deploy(
        run, packaged, "--trust-file", trust, "--trust-anchor", exported["trustKeyFingerprint"],
        home=elsewhere,
    )  # fmt: skip

    assert "created app-HelloFunction (HelloFunction): ALLOW" in done.stderr
    said = re.search(
        f"^trust file {re.escape(str(trust))}: exported at {re.escape(exported['exportedAt'])}"
        r", [0-9]+ seconds? ago; revocations made after that are not known to these verdicts$",
        done.stderr,
        re.MULTILINE,
    )
    assert said is not None, done.stderr
    assert done.stderr.index(said[0]) < done.stderr.index("created app-HelloFunction")
