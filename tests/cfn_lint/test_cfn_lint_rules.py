"""The rule pack through the real cfn-lint CLI (``--append-rules``): which rule, at which
line, saying what ``sam-ext check`` says; cfn-lint's SARIF and JUnit output; a failure of
the pack as one match."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cfn_lint.conftest import CFN_LINT, NOW, Keystore, Lint, cfn_lint, line_of, lint_env

from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from sam_ext.cfn_lint import RULE_DOCS, RuleId, rules_path
from sam_ext.check import CheckOptions, check_template

AT: datetime = parse_instant(NOW, field="now")

#: cfn-lint's exit status bits: 2 an error, 4 a warning, 8 an informational match.
ERROR, WARNING, INFO = 2, 4, 8

SAM_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
Resources:
  Checkout:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/checkout/
      CodeSigningConfigArn: {enforce}
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {signed}
      CodeSigningConfigArn: {enforce}
  Legacy:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/legacy/
  Reports:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/reports/
      CodeSigningConfigArn: {warn}
"""

#: Plain CloudFormation as ``aws cloudformation package`` takes it (``Code`` a local path);
#: the config is a parameter (cfn-lint's ``--parameters``), or one this template creates
#: for a profile it creates too.
CFN_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  ConfigArn:
    Type: String
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
  Signed:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      Runtime: python3.12
      Handler: app.handler
      CodeSigningConfigArn: !Ref ConfigArn
      Code: {signed}
  Unsigned:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      Runtime: python3.12
      Handler: app.handler
      CodeSigningConfigArn: !Ref ConfigArn
      Code: src/unsigned/
      Layers:
        - !Ref Shared
  Shared:
    Type: AWS::Lambda::LayerVersion
    Properties:
      Content: src/shared/
  Image:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      PackageType: Image
      Code:
        ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest
  Profile:
    Type: AWS::Signer::SigningProfile
    Properties:
      PlatformId: AWSLambda-SHA384-ECDSA
  NewConfig:
    Type: AWS::Lambda::CodeSigningConfig
    Properties:
      AllowedPublishers:
        SigningProfileVersionArns:
          - !GetAtt Profile.ProfileVersionArn
      CodeSigningPolicies:
        UntrustedArtifactOnDeployment: Enforce
  Fresh:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      Runtime: python3.12
      Handler: app.handler
      CodeSigningConfigArn: !GetAtt NewConfig.CodeSigningConfigArn
      Code: {signed}
"""


def _sam(keystore: Keystore) -> Path:
    for name in ("checkout", "legacy", "reports"):
        keystore.code_dir(name)
    path = keystore.work / "template.yaml"
    path.write_text(
        SAM_TEMPLATE.format(enforce=keystore.enforce, warn=keystore.warn, signed=keystore.signed)
    )
    return path


def _cfn(keystore: Keystore) -> Path:
    for name in ("unsigned", "shared"):
        keystore.code_dir(name)
    path = keystore.work / "stack.yaml"
    path.write_text(CFN_TEMPLATE.format(signed=keystore.signed))
    return path


def _check_messages(template: Path, home: Path, **overrides: str) -> dict[str, str]:
    """``sam-ext check``'s message for each resource (logical id -> Finding.message)."""
    report = check_template(
        template, CheckOptions(at=AT, parameter_overrides=overrides), LocalBackend(home)
    )
    return {finding.logical_id: finding.message for finding in report.findings}


def test_sam_template_gets_each_verdict_at_its_line_with_checks_message(
    keystore: Keystore,
) -> None:
    template = _sam(keystore)
    text = template.read_text()
    said = _check_messages(template, keystore.home)

    lint = cfn_lint(template, home=keystore.home)

    assert lint.matches() == [
        # Enforce, an unsigned directory: the code decides, at CodeUri.
        (RuleId.REJECTED, line_of(text, "CodeUri: src/checkout/"), said["Checkout"]),
        # No config: at the function's logical id.
        (RuleId.NO_CONFIG, line_of(text, "  Legacy:"), said["Legacy"]),
        # A Warn config: at its CodeSigningConfigArn.
        (RuleId.WARN_CONFIG, line_of(text, f"CodeSigningConfigArn: {keystore.warn}"),
         said["Reports"]),
    ]  # fmt: skip
    # The signed package under Enforce is allowed: the pack says nothing of Orders.
    assert "Orders" in said and all("Orders" not in m for _, _, m in lint.matches())
    assert "rejected" in said["Checkout"] and "Warn" in said["Reports"]
    assert lint.status == ERROR | WARNING, lint.out


def test_plain_cloudformation_with_parameters_layers_and_a_profile_made_by_the_template(
    keystore: Keystore,
) -> None:
    template = _cfn(keystore)
    text = template.read_text()
    said = _check_messages(template, keystore.home, ConfigArn=keystore.enforce)

    lint = cfn_lint(
        template, "--parameters", f"ConfigArn={keystore.enforce}", "--include-checks", "I",
        home=keystore.home,
    )  # fmt: skip

    assert lint.matches() == [
        (RuleId.REJECTED, line_of(text, "Code: src/unsigned/"), said["Unsigned"]),
        (RuleId.REJECTED, line_of(text, "Content: src/shared/"), said["Shared"]),
        (RuleId.NOT_APPLICABLE, line_of(text, "  Image:"), said["Image"]),
        (RuleId.REJECTED, _fresh_code_line(text), said["Fresh"]),
    ]  # fmt: skip
    assert "does not exist yet" in said["Fresh"]
    assert "Signed" in said and all(not m.startswith("Signed") for _, _, m in lint.matches())
    assert lint.status & ERROR and lint.status & INFO


def _fresh_code_line(text: str) -> int:
    """The ``Code`` line of ``Fresh`` (the signed path appears twice in the template)."""
    start = line_of(text, "  Fresh:")
    lines = text.splitlines()
    return next(n for n in range(start, len(lines) + 1) if lines[n - 1].strip().startswith("Code:"))


def test_json_template_lines_come_from_the_json_text(keystore: Keystore) -> None:
    import yaml

    template = _sam(keystore)
    document = yaml.safe_load(template.read_text())
    as_json = template.with_suffix(".json")
    as_json.write_text(json.dumps(document, indent=2))
    text = as_json.read_text()

    lint = cfn_lint(as_json, home=keystore.home)

    assert [(rule, line) for rule, line, _ in lint.matches()] == [
        (RuleId.REJECTED, line_of(text, '"CodeUri": "src/checkout/"')),
        (RuleId.NO_CONFIG, line_of(text, '"Legacy": {')),
        (RuleId.WARN_CONFIG, line_of(text, f'"CodeSigningConfigArn": "{keystore.warn}"')),
    ]


def test_the_parameter_decides_the_config(keystore: Keystore) -> None:
    """Without ``--parameters`` the config (a parameter without a default) is not known:
    no rejection is claimed, the verdict is said to be unknown."""
    template = _cfn(keystore)
    rules = {rule for rule, _, _ in cfn_lint(template, home=keystore.home).matches()}
    assert RuleId.UNKNOWN in rules
    assert not any(
        line == line_of(template.read_text(), "Code: src/unsigned/") and rule == RuleId.REJECTED
        for rule, line, _ in cfn_lint(template, home=keystore.home).matches()
    )


def _start_line(result: dict[str, Any]) -> int:
    return int(result["locations"][0]["physicalLocation"]["region"]["startLine"])


def test_sarif_output_names_the_rules_and_locations(keystore: Keystore) -> None:
    template = _sam(keystore)
    text = template.read_text()

    lint = cfn_lint(template, "--format", "sarif", home=keystore.home)

    sarif = json.loads(lint.out)
    run = sarif["runs"][0]
    ours = [r for r in run["results"] if r["ruleId"][1] == "9"]
    assert [
        (
            r["ruleId"],
            r.get("level", "warning"),  # SARIF's default level: omitted
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in sorted(ours, key=_start_line)
    ] == [
        ("E9301", "error", str(template), line_of(text, "CodeUri: src/checkout/")),
        ("W9302", "warning", str(template), line_of(text, "  Legacy:")),
        ("W9303", "warning", str(template),
         line_of(text, f"CodeSigningConfigArn: {keystore.warn}")),
    ]  # fmt: skip
    described = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    for rule_id in ("E9301", "W9302", "W9303"):
        doc = RULE_DOCS[RuleId(rule_id)]
        assert described[rule_id]["shortDescription"]["text"] == doc.shortdesc
        assert described[rule_id]["fullDescription"]["text"] == doc.description


def test_junit_output_fails_the_rules_that_matched(keystore: Keystore) -> None:
    template = _sam(keystore)
    said = _check_messages(template, keystore.home)

    lint = cfn_lint(template, "--format", "junit", home=keystore.home)

    cases = {
        case.get("name", "").split(" ")[0]: case
        for case in ET.fromstring(lint.out).iter("testcase")
    }
    for rule_id, logical_id in (("E9301", "Checkout"), ("W9302", "Legacy"), ("W9303", "Reports")):
        failures = cases[rule_id].findall("failure")
        assert len(failures) == 1, rule_id
        assert said[logical_id] in (failures[0].get("message") or "") + (failures[0].text or "")
    # Rules of the pack with nothing to say pass.
    assert cases["W9304"].findall("failure") == []
    assert cases["E9300"].findall("failure") == []


def test_a_template_without_lambda_resources_gets_nothing_from_the_pack(
    keystore: Keystore,
) -> None:
    template = keystore.work / "bucket.yaml"
    template.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"
    )
    lint = cfn_lint(template, home=keystore.home)
    assert lint.matches() == []
    assert lint.status == 0, lint.out


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_failure(lint: Lint) -> str:
    """The only match of the pack, an E9300 at the top of the template; its message."""
    assert [(rule, line) for rule, line, _ in lint.matches()] == [(RuleId.FAILED, 1)], lint.out
    assert "E0002" not in lint.out and "Unknown exception" not in lint.out, lint.out
    assert lint.status == ERROR, lint.out
    return lint.matches()[0][2]


def test_an_unreachable_backend_is_never_taken_for_allowed(keystore: Keystore) -> None:
    """The check reads configs and objects on the backend; one it cannot reach leaves
    their verdicts open: said for every function that has a config, none passed
    silently, and no cfn-lint rule error (E0002) or traceback."""
    template = _sam(keystore)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    env = lint_env(
        keystore.home,
        SAM_EXT_BACKEND="aws",
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_MAX_ATTEMPTS="1",
    )
    lint = cfn_lint(template, home=keystore.home, env=env)
    assert "E0002" not in lint.out and "Unknown exception" not in lint.out, lint.out
    text = template.read_text()
    found = [(rule, line) for rule, line, _ in lint.matches()]
    if any(rule == RuleId.FAILED for rule, _ in found):  # the check itself could not run
        assert found == [(RuleId.FAILED, 1)], lint.out
        return
    for function in ("Checkout", "Orders", "Reports"):  # each with a config: left open
        assert (RuleId.UNKNOWN, line_of(text, f"  {function}:")) in found, lint.out
    for rule, _, message in lint.matches():  # ... saying that the backend was not reached
        assert rule != RuleId.UNKNOWN or endpoint in message, message
    assert not any(rule == RuleId.REJECTED for rule, _ in found), lint.out


def test_bad_input_is_one_match_naming_it(keystore: Keystore) -> None:
    """What ``sam-ext check`` refuses (here a CodeUri that does not exist) is one E9300
    match at the top of the template, not one per rule, not a traceback."""
    template = _sam(keystore)
    template.write_text(template.read_text().replace("src/legacy/", "src/missing/"))
    message = _one_failure(cfn_lint(template, home=keystore.home))
    assert message.startswith("sam-ext check could not run: ")
    assert "src/missing/" in message and "Legacy" in message, message


def test_a_bad_backend_variable_is_one_match_naming_it(keystore: Keystore) -> None:
    template = _sam(keystore)
    env = lint_env(keystore.home, SAM_EXT_BACKEND="azure")
    message = _one_failure(cfn_lint(template, home=keystore.home, env=env))
    assert "SAM_EXT_BACKEND" in message and "azure" in message


def test_a_bad_clock_variable_is_one_match_naming_it(keystore: Keystore) -> None:
    template = _sam(keystore)
    env = lint_env(keystore.home, SAM_EXT_NOW="yesterday")
    message = _one_failure(cfn_lint(template, home=keystore.home, env=env))
    assert "yesterday" in message
    assert "SAM_EXT_NOW" in message and "--now" not in message  # the input cfn-lint's user set


def test_the_cli_prints_the_directory_cfn_lint_loads(keystore: Keystore) -> None:
    """``sam-ext cfn-lint-rules path``, as a user runs it, then cfn-lint with that path
    (template first: ``--append-rules`` takes every word after it as a rules path)."""
    printed = subprocess.run(
        [str(Path(sys.executable).parent / "sam-ext"), "cfn-lint-rules", "path"],
        capture_output=True, text=True, check=True, env=lint_env(keystore.home),
    ).stdout.strip()  # fmt: skip
    assert Path(printed) == rules_path()
    assert (Path(printed) / "code_signing.py").is_file()
    template = _sam(keystore)
    done = subprocess.run(
        [str(CFN_LINT), str(template), "--format", "parseable", "--append-rules", printed],
        capture_output=True, text=True, env=lint_env(keystore.home), cwd=template.parent,
    )  # fmt: skip
    assert ":E9301:" in done.stdout, done.stdout + done.stderr


def test_cfn_lint_lists_the_pack_rules_with_their_titles() -> None:
    done = subprocess.run(
        [str(CFN_LINT), "--append-rules", str(rules_path()), "--list-rules"],
        capture_output=True, text=True, check=True,
        env=lint_env(Path("/nonexistent")),
    )  # fmt: skip
    for rule_id, doc in RULE_DOCS.items():
        assert f"{rule_id}: {doc.shortdesc}" in done.stdout


@pytest.mark.parametrize("rule_id", list(RuleId))
def test_rule_ids_are_cfn_lint_user_rule_ids(rule_id: RuleId) -> None:
    """``(E|W|I)9xxx`` is what cfn-lint reserves for users' rules; the letter is the level."""
    assert rule_id.value[0] in "EWI" and rule_id.value[1] == "9" and len(rule_id.value) == 5


def test_a_nested_stacks_verdicts_are_said_at_the_nesting_resource(keystore: Keystore) -> None:
    _sam(keystore)
    parent = keystore.work / "parent.yaml"
    parent.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Shop:\n"
        "    Type: AWS::Serverless::Application\n"
        "    Properties:\n"
        "      Location: template.yaml\n"
    )
    report = check_template(parent, CheckOptions(at=AT), LocalBackend(keystore.home))
    said = {f.path: f.message for f in report.findings}

    lint = cfn_lint(parent, home=keystore.home)

    assert lint.matches() == [
        (RuleId.REJECTED, 4, said["Shop/Checkout"]),
        (RuleId.NO_CONFIG, 4, said["Shop/Legacy"]),
        (RuleId.WARN_CONFIG, 4, said["Shop/Reports"]),
    ]


def test_cfn_lint_says_what_sam_ext_check_prints(keystore: Keystore) -> None:
    """The same sentences as ``sam-ext check --output json`` (the console script, the
    same keystore and clock), one match for each finding that is not ALLOW."""
    template = _sam(keystore)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "sam-ext"), "check", "--output", "json", "--",
         str(template)],
        capture_output=True, text=True, env=lint_env(keystore.home), cwd=template.parent,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # a deploy would be rejected
    findings = json.loads(done.stdout)["findings"]
    printed = sorted(f["message"] for f in findings if f["standing"] != "ALLOW")

    lint = cfn_lint(template, home=keystore.home)

    assert sorted(message for _, _, message in lint.matches()) == printed
    assert len(printed) == 3
