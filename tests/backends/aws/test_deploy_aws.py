"""``sam-ext --backend aws deploy``: package (moto S3 + the fake Signer), then one
CloudFormation change set, answered by botocore's Stubber (which checks every request
against CloudFormation's model): CREATE or UPDATE, no changes, a failed change set, a
rolled-back stack, and code Lambda would reject stopped before CloudFormation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from provider.backends.aws.cloudformation import MAX_TEMPLATE_BODY
from sam_ext.template import parse_template

from .conftest import ACCOUNT, BUCKET, NOW, AwsWorld, aws_cli, session

STACK = "app"
STACK_ID = (
    f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/app/5b9a3c10-1f2e-11ef-8c55-0a1b2c3d4e5f"
)
CHANGE_SET = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/sam-ext-deploy/0a1b2c3d"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to "
    "create a change set."
)

REMOTE_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
  Memory:
    Type: Number
    Default: 128
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://codesign-artifacts/app/signed_0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b.zip
      Handler: app.handler
      Runtime: python3.12
      MemorySize: !Ref Memory
"""


class Cfn:
    """Queued CloudFormation answers, in the order sam-ext asks."""

    def __init__(self, stubber: Stubber) -> None:
        self.stubber = stubber

    def missing(self) -> None:
        self.stubber.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {STACK} does not exist",
            http_status_code=400,
            expected_params={"StackName": STACK},
        )

    def stack(self, status: str, **extra: Any) -> None:
        document = {
            "StackId": STACK_ID,
            "StackName": STACK,
            "CreationTime": NOW,
            "StackStatus": status,
            **extra,
        }
        self.stubber.add_response("describe_stacks", {"Stacks": [document]}, {"StackName": STACK})

    def change_set(
        self, change_set_type: str, parameters: list[dict[str, Any]], template: str = "body"
    ) -> None:
        expected = {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": change_set_type,
            "Parameters": parameters,
            "Capabilities": CAPABILITIES,
            "Description": ANY,
            ("TemplateBody" if template == "body" else "TemplateURL"): ANY,
        }
        self.stubber.add_response(
            "create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID}, expected
        )

    def change_set_status(self, status: str, **extra: Any) -> None:
        self.stubber.add_response(
            "describe_change_set",
            {"ChangeSetId": CHANGE_SET, "StackName": STACK, "Status": status, **extra},
            {"ChangeSetName": CHANGE_SET, "StackName": STACK},
        )

    def execute(self) -> None:
        self.stubber.add_response(
            "execute_change_set", {}, {"ChangeSetName": CHANGE_SET, "StackName": STACK}
        )

    def events(self, events: list[dict[str, Any]]) -> None:
        for number, event in enumerate(events):
            event.setdefault("StackId", STACK_ID)
            event.setdefault("StackName", STACK)
            event.setdefault("EventId", f"event-{number}")
            event.setdefault("Timestamp", NOW - timedelta(seconds=number))
        self.stubber.add_response(
            "describe_stack_events", {"StackEvents": events}, {"StackName": STACK}
        )


@pytest.fixture
def cfn(cli_world: AwsWorld) -> Iterator[Cfn]:
    """A stubbed CloudFormation client behind the CLI's aws backend; every queued answer
    must be used."""
    client = session().client("cloudformation")
    cli_world.backend.clients.cloudformation = client
    with Stubber(client) as stubber:
        yield Cfn(stubber)
        stubber.assert_no_pending_responses()


@pytest.fixture
def app(copy_example: Any) -> Path:
    """A copy of examples/sam/app as the working directory."""
    return Path(copy_example("sam/app"))


def sam_ext(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> str:
    """Run ``sam-ext --backend aws ARGS``; returns stderr (stdout must stay empty)."""
    out, err = aws_cli(capsys, *args, status=status)
    assert out == ""
    return err


def remote_template(tmp_path: Path, text: str = REMOTE_TEMPLATE) -> str:
    path = tmp_path / "packaged.yaml"
    path.write_text(text)
    return str(path)


def test_a_new_stack_is_created_from_the_packaged_and_signed_app(
    cli_world: AwsWorld, cfn: Cfn, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = cli_world.fake_signer()
    arn = cli_world.put_profile("publisher")["profileVersionArn"]
    sent: list[dict[str, Any]] = []
    cfn.stubber.client.meta.events.register(
        "provide-client-params.cloudformation.CreateChangeSet",
        lambda params, **_: sent.append(dict(params)),
    )
    cfn.missing()
    cfn.change_set("CREATE", [{"ParameterKey": "TrustedProfileVersionArn", "ParameterValue": arn}])
    cfn.change_set_status("CREATE_PENDING")
    change = {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Add",
            "LogicalResourceId": "HelloFunction",
            "ResourceType": "AWS::Lambda::Function",
        },
    }
    cfn.change_set_status("CREATE_COMPLETE", Changes=[change])
    cfn.execute()
    cfn.stack("CREATE_IN_PROGRESS")
    cfn.stack(
        "CREATE_COMPLETE",
        Outputs=[{"OutputKey": "HelloFunctionArn", "OutputValue": "arn:aws:lambda:fn"}],
    )
    err = sam_ext(
        capsys,
        "deploy",
        "--stack-name",
        STACK,
        "--s3-bucket",
        BUCKET,
        "--s3-prefix",
        "app",
        "--signing-profiles",
        "HelloFunction=publisher SharedLayer=publisher",
        "--parameter-overrides",
        f"TrustedProfileVersionArn={arn}",
    )
    assert fake.started == 2
    body = parse_template(sent[0]["TemplateBody"], origin="CreateChangeSet")
    hello = body["Resources"]["HelloFunction"]["Properties"]["CodeUri"]
    assert hello.startswith(f"s3://{BUCKET}/app/signed_")
    goodbye = body["Resources"]["GoodbyeFunction"]["Properties"]["CodeUri"]
    assert goodbye.startswith(f"s3://{BUCKET}/app/") and "signed_" not in goodbye
    lines = err.splitlines()
    # The change set, as sam deploy shows it.
    table = lines.index("CloudFormation stack changeset")
    assert lines[table + 2].split() == [
        "Operation", "LogicalResourceId", "ResourceType", "Replacement"
    ]  # fmt: skip
    assert lines[table + 4].split() == ["+", "Add", "HelloFunction", "AWS::Lambda::Function", "N/A"]
    assert "output HelloFunctionArn = arn:aws:lambda:fn" in lines
    assert lines[-1] == f"stack {STACK} deployed (CREATE_COMPLETE)"
    assert any("GoodbyeFunction" in line and "warning:" in line for line in lines)


def test_an_existing_stack_is_updated_keeping_previous_parameter_values(
    cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = [
        {"ParameterKey": "Stage", "ParameterValue": "prod"},
        {"ParameterKey": "Memory", "ParameterValue": "256"},
    ]
    cfn.stack("UPDATE_COMPLETE", Parameters=previous)
    cfn.change_set(
        "UPDATE",
        [
            {"ParameterKey": "Memory", "ParameterValue": "512"},
            {"ParameterKey": "Stage", "UsePreviousValue": True},
        ],
    )
    modify = {
        "Action": "Modify",
        "LogicalResourceId": "Fn",
        "ResourceType": "AWS::Lambda::Function",
        "Replacement": "Conditional",
    }
    cfn.change_set_status(
        "CREATE_COMPLETE", Changes=[{"Type": "Resource", "ResourceChange": modify}]
    )
    cfn.execute()
    cfn.stack("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    cfn.stack("UPDATE_COMPLETE")
    err = sam_ext(
        capsys,
        "deploy",
        "--template-file",
        remote_template(tmp_path),
        "--stack-name",
        STACK,
        "--parameter-overrides",
        "Memory=512",
    )
    assert err.splitlines()[-1] == f"stack {STACK} deployed (UPDATE_COMPLETE)"
    # A modification shows whether CloudFormation replaces the resource, as sam deploy does.
    assert ["*", "Modify", "Fn", "AWS::Lambda::Function", "Conditional"] in [
        line.split() for line in err.splitlines()
    ]


def test_no_changes_fails_as_with_sam_deploy_unless_no_fail_on_empty_changeset(
    cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = ("deploy", "--template-file", remote_template(tmp_path), "--stack-name", STACK)
    for _ in range(2):
        cfn.stack("UPDATE_COMPLETE", Parameters=[{"ParameterKey": "Stage", "ParameterValue": "a"}])
        cfn.change_set("UPDATE", [{"ParameterKey": "Stage", "UsePreviousValue": True}])
        cfn.change_set_status("FAILED", StatusReason=NO_CHANGES)
    err = sam_ext(capsys, *deploy, status=1)
    assert err.splitlines()[-1] == (
        f"error: ChangeEmptyError: no changes to deploy: stack {STACK} is up to date "
        "(--no-fail-on-empty-changeset makes this exit 0)"
    )
    err = sam_ext(capsys, *deploy, "--no-fail-on-empty-changeset")
    assert err.splitlines()[-1] == f"no changes to deploy: stack {STACK} is up to date"


def test_a_failed_change_set_is_one_line_naming_the_stack_and_reason(
    cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn.missing()
    cfn.change_set("CREATE", [{"ParameterKey": "Stage", "ParameterValue": "dev"}])
    cfn.change_set_status(
        "FAILED",
        StatusReason="Transform AWS::Serverless-2016-10-31 failed with:\n Invalid Serverless "
        "Application Specification document.",
    )
    err = sam_ext(
        capsys,
        "deploy",
        "--template-file",
        remote_template(tmp_path),
        "--stack-name",
        STACK,
        "--parameter-overrides",
        "Stage=dev",
        status=1,
    )
    assert err.endswith(
        f"\nerror: StackDeployFailed: stack {STACK}: the change set failed: Transform "
        "AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application "
        "Specification document.\n"
    )
    assert err.count("error:") == 1


def test_a_rolled_back_update_names_the_resource_that_failed(
    cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn.stack("CREATE_COMPLETE", Parameters=[{"ParameterKey": "Stage", "ParameterValue": "a"}])
    cfn.change_set("UPDATE", [{"ParameterKey": "Stage", "UsePreviousValue": True}])
    cfn.change_set_status("CREATE_COMPLETE")
    cfn.execute()
    cfn.stack("UPDATE_ROLLBACK_IN_PROGRESS")
    cfn.stack("UPDATE_ROLLBACK_COMPLETE", StackStatusReason="rolled back")
    rejected = (
        'Resource handler returned message: "Lambda cannot deploy the function: '
        'CodeVerificationFailedException" (HandlerErrorCode: InvalidRequest)'
    )
    cfn.events(
        [
            {"LogicalResourceId": STACK, "ResourceStatus": "UPDATE_ROLLBACK_COMPLETE"},
            {"LogicalResourceId": "Other", "ResourceStatus": "UPDATE_FAILED",
             "ResourceStatusReason": "Resource update cancelled"},
            {"LogicalResourceId": "Fn", "ResourceStatus": "UPDATE_FAILED",
             "ResourceStatusReason": rejected},
            {"LogicalResourceId": STACK, "ResourceStatus": "UPDATE_IN_PROGRESS",
             "ResourceStatusReason": "User Initiated"},
            {"LogicalResourceId": "Old", "ResourceStatus": "CREATE_FAILED",
             "ResourceStatusReason": "an earlier deployment's failure"},
        ]
    )  # fmt: skip
    err = sam_ext(
        capsys,
        "deploy",
        "--template-file",
        remote_template(tmp_path),
        "--stack-name",
        STACK,
        status=1,
    )
    assert err.endswith(
        f"\nerror: StackDeployFailed: stack {STACK}: deployment failed "
        f"(UPDATE_ROLLBACK_COMPLETE): Fn UPDATE_FAILED: {rejected}\n"
    )
    assert err.count("error:") == 1


def test_a_stack_whose_creation_rolled_back_must_be_deleted_first(
    cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn.stack("ROLLBACK_COMPLETE")
    err = sam_ext(
        capsys, "deploy", "--template-file", remote_template(tmp_path), "--stack-name", STACK,
        status=1,
    )  # fmt: skip
    assert err.count("\n") == 1
    assert f"stack {STACK} is ROLLBACK_COMPLETE" in err
    assert f"aws cloudformation delete-stack --stack-name {STACK}" in err


def test_code_lambda_would_reject_stops_before_cloudformation(
    cli_world: AwsWorld, cfn: Cfn, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_world.fake_signer()
    cli_world.put_profile("publisher")
    other = cli_world.put_profile("someone_else")["profileVersionArn"]
    err = sam_ext(
        capsys,
        "deploy",
        "--stack-name",
        STACK,
        "--s3-bucket",
        BUCKET,
        "--signing-profiles",
        "HelloFunction=publisher SharedLayer=publisher",
        "--parameter-overrides",
        f"TrustedProfileVersionArn={other}",
        status=1,
    )
    last = err.splitlines()[-1]
    assert last.startswith(
        f"error: CodeVerificationFailedException: stack {STACK}: not deployed, Lambda would "
        "reject the code: "
    )
    assert "HelloFunction" in last and "mismatch" in last
    # No CloudFormation call was queued, and none was made (the fixture checks).


def test_a_layer_lambda_would_reject_stops_before_cloudformation(
    cli_world: AwsWorld, cfn: Cfn, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SharedLayer signed by a profile HelloFunction's Enforce config does not allow: the
    packaged layer is judged under that config, so the deploy stops as for the code."""
    cli_world.fake_signer()
    trusted = cli_world.put_profile("publisher")["profileVersionArn"]
    cli_world.put_profile("someone_else")
    err = sam_ext(
        capsys,
        "deploy",
        "--stack-name",
        STACK,
        "--s3-bucket",
        BUCKET,
        "--signing-profiles",
        "HelloFunction=publisher SharedLayer=someone_else",
        "--parameter-overrides",
        f"TrustedProfileVersionArn={trusted}",
        status=1,
    )
    last = err.splitlines()[-1]
    assert last.startswith(f"error: CodeVerificationFailedException: stack {STACK}: not deployed")
    assert "SharedLayer (a layer of HelloFunction)" in last and "mismatch" in last


def test_deploy_on_aws_needs_a_stack_name_and_declared_parameters(
    cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = remote_template(tmp_path)
    err = sam_ext(capsys, "deploy", "--template-file", template, status=2)
    assert err.startswith("error: ValidationException: --stack-name: required with --backend aws")
    err = sam_ext(capsys, "deploy", "--template-file", template, "--stack-name", "my_app", status=2)
    assert "is not a CloudFormation stack name" in err
    err = sam_ext(
        capsys, "deploy", "--template-file", template, "--stack-name", STACK,
        "--parameter-overrides", "Nope=1", status=2,
    )  # fmt: skip
    assert "the template declares no parameter Nope" in err


def test_a_template_too_large_to_pass_inline_goes_through_s3(
    cli_world: AwsWorld, cfn: Cfn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    padding = "x" * (MAX_TEMPLATE_BODY + 10)
    text = REMOTE_TEMPLATE.replace("Parameters:", f"Description: {padding}\nParameters:", 1)
    sent: list[dict[str, Any]] = []
    cfn.stubber.client.meta.events.register(
        "provide-client-params.cloudformation.CreateChangeSet",
        lambda params, **_: sent.append(dict(params)),
    )
    cfn.missing()
    cfn.change_set("CREATE", [{"ParameterKey": "Stage", "ParameterValue": "dev"}], "url")
    cfn.change_set_status("CREATE_COMPLETE")
    cfn.execute()
    cfn.stack("CREATE_COMPLETE")
    sam_ext(
        capsys, "deploy", "--template-file", remote_template(tmp_path, text), "--stack-name",
        STACK, "--s3-bucket", BUCKET, "--s3-prefix", "app", "--parameter-overrides", "Stage=dev",
    )  # fmt: skip
    url = sent[0]["TemplateURL"]
    assert f"/{BUCKET}/app/" in url and ".template?versionId=" in url
    key = url.split(f"/{BUCKET}/", 1)[1].split("?", 1)[0]
    body = cli_world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert padding in body

    # Without a bucket to upload it to, it is refused before any CloudFormation call.
    err = sam_ext(
        capsys, "deploy", "--template-file", remote_template(tmp_path, text), "--stack-name",
        STACK, "--parameter-overrides", "Stage=dev", status=2,
    )  # fmt: skip
    assert "more than the 51200 CloudFormation takes inline" in err


TOPIC_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  TopicName:
    Type: String
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Ref TopicName
"""


def test_create_no_changes_and_update_against_moto_cloudformation(
    cli_world: AwsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same flow against moto's CloudFormation (a stateful service, its own messages
    for a missing stack and an empty change set), for a template without code."""
    cli_world.backend.clients.cloudformation = session().client("cloudformation")
    template = remote_template(tmp_path, TOPIC_TEMPLATE)
    deploy = ("deploy", "--template-file", template, "--stack-name", STACK)
    err = sam_ext(capsys, *deploy, "--parameter-overrides", "TopicName=first")
    assert err.splitlines()[-1] == f"stack {STACK} deployed (CREATE_COMPLETE)"
    # The previous TopicName is kept: nothing to change.
    err = sam_ext(capsys, *deploy, "--no-fail-on-empty-changeset")
    assert err.splitlines()[-1] == f"no changes to deploy: stack {STACK} is up to date"
    err = sam_ext(capsys, *deploy, "--parameter-overrides", "TopicName=second")
    assert err.splitlines()[-1] == f"stack {STACK} deployed (UPDATE_COMPLETE)"
    topics = session().client("sns").list_topics()["Topics"]
    assert any(t["TopicArn"].endswith(":second") for t in topics)
