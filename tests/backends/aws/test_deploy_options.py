"""``sam-ext --backend aws deploy`` with ``sam deploy``'s options, against moto's
CloudFormation (a stateful service: stacks, change sets, tags, role and notification
ARNs), with each request CloudFormation received recorded as botocore sent it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from provider.backends.aws.cloudformation import MANAGED_STACK, managed_bucket_name

from .conftest import ACCOUNT, REGION, AwsWorld, aws_cli, session

STACK = "app"
TOPIC_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  TopicName:
    Type: String
    Default: first
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Ref TopicName
"""
#: A template with local code (a layer): packaged into the bucket before deploying.
LAYER_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Shared:
    Type: AWS::Lambda::LayerVersion
    Properties:
      Content: layer/
      CompatibleRuntimes: [python3.12]
"""
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cloudformation-deployer"


class Cfn:
    """moto's CloudFormation behind the CLI, and what each operation was asked."""

    def __init__(self, world: AwsWorld) -> None:
        self.client = session().client("cloudformation")
        world.backend.clients.cloudformation = self.client
        self.sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.client.meta.events.register("provide-client-params.cloudformation.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.sent[model.name].append(dict(params))

    def stack(self, name: str = STACK) -> dict[str, Any]:
        return dict(self.client.describe_stacks(StackName=name)["Stacks"][0])


@pytest.fixture
def cfn(cli_world: AwsWorld) -> Cfn:
    return Cfn(cli_world)


@pytest.fixture
def template(tmp_path: Path) -> str:
    path = tmp_path / "template.yaml"
    path.write_text(TOPIC_TEMPLATE)
    return str(path)


def sam_ext(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> str:
    """Run ``sam-ext --backend aws ARGS`` (the clock not pinned); returns stderr (stdout
    stays empty)."""
    out, err = aws_cli(capsys, *args, status=status, now=None)
    assert out == ""
    return err


def test_the_cloudformation_options_reach_cloudformation_as_sam_deploy_sends_them(
    cfn: Cfn, template: str, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = session().client("sns").create_topic(Name="stack-events")["TopicArn"]
    err = sam_ext(
        capsys, "deploy", "--template-file", template, "--stack-name", STACK,
        # unquoted lists, as SAM CLI users type them
        "--capabilities", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
        "--tags", "team=core", "cost=42",
        "--notification-arns", topic,
        "--role-arn", ROLE,
        "--disable-rollback",
    )  # fmt: skip
    assert err.splitlines()[-1] == f"stack {STACK} deployed (CREATE_COMPLETE)"
    [request] = cfn.sent["CreateChangeSet"]
    assert request["Capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    assert request["Tags"] == [{"Key": "team", "Value": "core"}, {"Key": "cost", "Value": "42"}]
    assert request["NotificationARNs"] == [topic]
    assert request["RoleARN"] == ROLE
    assert cfn.sent["ExecuteChangeSet"][0]["DisableRollback"] is True
    stack = cfn.stack()
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {"team": "core", "cost": "42"}
    assert stack["RoleARN"] == ROLE and stack["NotificationARNs"] == [topic]


def test_without_the_options_sam_ext_sends_its_defaults_and_nothing_else(
    cfn: Cfn, template: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sam_ext(capsys, "deploy", "--template-file", template, "--stack-name", STACK)
    [request] = cfn.sent["CreateChangeSet"]
    assert request["Capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    assert not {"Tags", "RoleARN", "NotificationARNs"} & set(request)
    assert "DisableRollback" not in cfn.sent["ExecuteChangeSet"][0]


def test_samconfig_keys_of_sam_deploy_are_honoured(
    cfn: Cfn, template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samconfig.toml").write_text(
        f"""version = 0.1
[default.deploy.parameters]
stack_name = "{STACK}"
template_file = "{template}"
capabilities = "CAPABILITY_IAM"
tags = ["team=core", "stage=dev"]
role_arn = "{ROLE}"
disable_rollback = true
fail_on_empty_changeset = false
confirm_changeset = false
"""
    )
    sam_ext(capsys, "deploy")
    err = sam_ext(capsys, "deploy")  # nothing changed, and samconfig says not to fail
    assert err.splitlines()[-1] == f"no changes to deploy: stack {STACK} is up to date"
    first = cfn.sent["CreateChangeSet"][0]
    assert first["Capabilities"] == ["CAPABILITY_IAM"]
    assert first["Tags"] == [{"Key": "team", "Value": "core"}, {"Key": "stage", "Value": "dev"}]
    assert first["RoleARN"] == ROLE
    assert cfn.sent["ExecuteChangeSet"][0]["DisableRollback"] is True
    # A command-line flag beats the file's.
    err = sam_ext(capsys, "deploy", "--fail-on-empty-changeset", status=1)
    assert "ChangeEmptyError" in err


def test_no_execute_changeset_creates_and_shows_the_change_set_only(
    cfn: Cfn, template: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = sam_ext(
        capsys, "deploy", "--template-file", template, "--stack-name", STACK,
        "--no-execute-changeset",
    )  # fmt: skip
    lines = err.splitlines()
    assert "CloudFormation stack changeset" in lines
    assert ["+", "Add", "Topic", "AWS::SNS::Topic", "N/A"] in [line.split() for line in lines]
    assert cfn.sent["ExecuteChangeSet"] == []
    assert cfn.stack()["StackStatus"] == "REVIEW_IN_PROGRESS"
    arn = lines[-1].rsplit(" ", 1)[-1]
    assert (
        lines[-1]
        == f"execute it with: aws cloudformation execute-change-set --change-set-name {arn}"
    )
    # What it printed is the real change set: executing it creates the stack.
    cfn.client.execute_change_set(ChangeSetName=arn, StackName=STACK)
    assert cfn.stack()["StackStatus"] == "CREATE_COMPLETE"


def test_an_update_shows_additions_modifications_and_deletions_in_sam_order(
    cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n"
        "      DisplayName: a\n  Old:\n    Type: AWS::SNS::Topic\n"
    )
    deploy = ("deploy", "--template-file", str(path), "--stack-name", STACK)
    sam_ext(capsys, *deploy)
    path.write_text(
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n"
        "      DisplayName: b\n  New:\n    Type: AWS::SNS::Topic\n"
    )
    err = sam_ext(capsys, *deploy)
    lines = err.splitlines()
    table = lines.index("CloudFormation stack changeset")
    # moto gives no Replacement for a modification: shown as N/A, as for the others.
    assert [line.split() for line in lines[table + 4 : table + 7]] == [
        ["+", "Add", "New", "AWS::SNS::Topic", "N/A"],
        ["*", "Modify", "Topic", "AWS::SNS::Topic", "N/A"],
        ["-", "Delete", "Old", "AWS::SNS::Topic", "N/A"],
    ]
    assert set(lines[table + 7]) == {"-"}


def test_confirm_changeset_without_a_terminal_is_refused_before_any_work(
    cfn: Cfn, template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    deploy = ("deploy", "--template-file", template, "--stack-name", STACK)
    err = sam_ext(capsys, *deploy, "--confirm-changeset", status=2)
    assert err.startswith("error: ValidationException: --confirm-changeset: there is no terminal")
    assert "--no-confirm-changeset" in err
    assert cfn.sent == {}  # not even DescribeStacks
    # From samconfig too; and --no-confirm-changeset overrides it.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samconfig.toml").write_text(
        "version = 0.1\n[default.deploy.parameters]\nconfirm_changeset = true\n"
    )
    sam_ext(capsys, *deploy, status=2)
    err = sam_ext(capsys, *deploy, "--no-confirm-changeset")
    assert err.splitlines()[-1] == f"stack {STACK} deployed (CREATE_COMPLETE)"


def test_resolve_s3_creates_a_versioned_managed_bucket_once_and_reuses_it(
    cli_world: AwsWorld, cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = tmp_path / "layer" / "python"
    layer.mkdir(parents=True)
    (layer / "shared.py").write_text("VALUE = 1\n")
    path = tmp_path / "template.yaml"
    path.write_text(LAYER_TEMPLATE)
    deploy = ("deploy", "--template-file", str(path), "--stack-name", STACK, "--resolve-s3")
    err = sam_ext(capsys, *deploy)
    bucket = managed_bucket_name(ACCOUNT, REGION)
    assert f"creating the managed stack {MANAGED_STACK}" in err
    assert f"managed S3 bucket: {bucket}" in err
    assert cfn.stack(MANAGED_STACK)["StackStatus"] == "CREATE_COMPLETE"
    s3 = cli_world.s3
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    [uploaded] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    body = cfn.sent["CreateChangeSet"][-1]["TemplateBody"]
    assert f"S3Bucket: {bucket}" in body and uploaded["Key"] in body
    # The second deploy finds the managed stack: no new stack, the same bucket.
    (layer / "shared.py").write_text("VALUE = 2\n")
    err = sam_ext(capsys, *deploy)
    assert "creating the managed stack" not in err
    assert f"managed S3 bucket: {bucket}" in err
    assert [r["StackName"] for r in cfn.sent["CreateChangeSet"]].count(MANAGED_STACK) == 1
    assert len(s3.list_objects_v2(Bucket=bucket)["Contents"]) == 2


def test_resolve_s3_and_s3_bucket_together_are_refused(
    cfn: Cfn, template: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = sam_ext(
        capsys, "deploy", "--template-file", template, "--stack-name", STACK,
        "--resolve-s3", "--s3-bucket", "codesign-artifacts", status=2,
    )  # fmt: skip
    assert "--resolve-s3: cannot be used with --s3-bucket" in err
    assert cfn.sent == {}


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (("--capabilities", "CAPABILITY_EVERYTHING"), "--capabilities: CAPABILITY_EVERYTHING is"),
        (("--tags", "novalue"), "--tags: 'novalue' is not of the form Key=Value"),
        (("--notification-arns", "topic"), "--notification-arns: 'topic' is not an SNS topic"),
        (("--role-arn", "deployer"), "--role-arn: 'deployer' is not an IAM role ARN"),
    ],
)
def test_bad_option_values_are_refused_by_name_before_cloudformation(
    cfn: Cfn, template: str, capsys: pytest.CaptureFixture[str], option: tuple[str, str], says: str
) -> None:
    err = sam_ext(
        capsys, "deploy", "--template-file", template, "--stack-name", STACK, *option, status=2
    )
    assert err.startswith(f"error: ValidationException: {says}")
    assert cfn.sent == {}


def test_signing_profile_is_another_spelling_of_signing_profiles(
    cli_world: AwsWorld, cfn: Cfn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    fake = cli_world.fake_signer()
    cli_world.put_profile("publisher")
    app = tmp_path / "app"
    app.mkdir()
    (app / "layer" / "python").mkdir(parents=True)
    (app / "layer" / "python" / "shared.py").write_text("VALUE = 1\n")
    (app / "template.yaml").write_text(LAYER_TEMPLATE)
    monkeypatch.chdir(app)
    sam_ext(
        capsys, "deploy", "--stack-name", STACK, "--s3-bucket", "codesign-artifacts",
        "--signing-profile", "Shared=publisher",
    )  # fmt: skip
    assert fake.started == 1
    assert "S3Key: signed_" in cfn.sent["CreateChangeSet"][0]["TemplateBody"]
