"""The served CloudFormation: signing profiles and code signing configs as resources, and
a function Lambda refuses failing its stack (rolled back) with Lambda's message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    ACCOUNT,
    Clients,
    Server,
    clients_for,
    error_code,
    package_bytes,
    start_server,
    unique,
    upload,
    versioned_bucket,
)


def template(policy: str) -> str:
    """A profile, a config trusting it, and a function with unsigned inline code."""
    return json.dumps(
        {
            "Resources": {
                "Publisher": {
                    "Type": "AWS::Signer::SigningProfile",
                    "Properties": {
                        "PlatformId": "AWSLambda-SHA384-ECDSA",
                        "SignatureValidityPeriod": {"Type": "MONTHS", "Value": 12},
                    },
                },
                "Config": {
                    "Type": "AWS::Lambda::CodeSigningConfig",
                    "Properties": {
                        "AllowedPublishers": {
                            "SigningProfileVersionArns": [
                                {"Fn::GetAtt": ["Publisher", "ProfileVersionArn"]}
                            ]
                        },
                        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
                    },
                },
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}
                    },
                },
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Runtime": "python3.12",
                        "Handler": "index.handler",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": {"ZipFile": "def handler(e, c):\n    return 1\n"},
                        "CodeSigningConfigArn": {"Ref": "Config"},
                    },
                },
            },
            "Outputs": {
                "Profile": {"Value": {"Ref": "Publisher"}},
                "Version": {"Value": {"Fn::GetAtt": ["Publisher", "ProfileVersionArn"]}},
            },
        }
    )


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_a_warn_stack_deploys_unsigned_code_with_its_profile_and_config(aws: Clients) -> None:
    cloudformation = aws("cloudformation")
    name = unique("warn-")
    cloudformation.create_stack(
        StackName=name, TemplateBody=template("Warn"), Capabilities=["CAPABILITY_IAM"]
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    profile_arn = outputs(stack)["Profile"]
    assert ":/signing-profiles/" in profile_arn
    profile_name = profile_arn.rsplit("/", 1)[1]
    profile = aws("signer").get_signing_profile(profileName=profile_name)
    assert profile["profileVersionArn"] == outputs(stack)["Version"]
    assert profile["signatureValidityPeriod"] == {"value": 12, "type": "MONTHS"}
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    }
    attached = aws("lambda").get_function_code_signing_config(FunctionName=resources["Fn"])
    assert attached["CodeSigningConfigArn"] == resources["Config"]
    config = aws("lambda").get_code_signing_config(CodeSigningConfigArn=resources["Config"])
    assert config["CodeSigningConfig"]["AllowedPublishers"]["SigningProfileVersionArns"] == [
        profile["profileVersionArn"]
    ]


def test_an_enforce_stack_fails_on_the_function_and_rolls_back(aws: Clients) -> None:
    cloudformation = aws("cloudformation")
    name = unique("enforce-")
    configs_before = aws("lambda").list_code_signing_configs()["CodeSigningConfigs"]
    cloudformation.create_stack(
        StackName=name, TemplateBody=template("Enforce"), Capabilities=["CAPABILITY_IAM"]
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Fn"]
    assert failed[0]["ResourceStatusReason"].startswith("CodeVerificationFailedException: ")
    assert "mismatch" in failed[0]["ResourceStatusReason"]
    # Rolled back: the config is gone again and the function was never created.
    assert aws("lambda").list_code_signing_configs()["CodeSigningConfigs"] == configs_before
    assert not [
        f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(name)
    ]


def sam_template(policy: str, bucket: str, key: str, retention: str = "Retain") -> str:
    """A SAM template: a layer (SAM's default retention policy keeps it when the stack goes,
    as CloudFormation's ``Retain`` does), an Enforce/Warn config trusting a new profile, and
    a function using the layer, with unsigned inline code."""
    return json.dumps(
        {
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {
                "Publisher": {
                    "Type": "AWS::Signer::SigningProfile",
                    "Properties": {"PlatformId": "AWSLambda-SHA384-ECDSA"},
                },
                "Config": {
                    "Type": "AWS::Lambda::CodeSigningConfig",
                    "Properties": {
                        "AllowedPublishers": {
                            "SigningProfileVersionArns": [
                                {"Fn::GetAtt": ["Publisher", "ProfileVersionArn"]}
                            ]
                        },
                        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
                    },
                },
                "Shared": {
                    "Type": "AWS::Serverless::LayerVersion",
                    "Properties": {
                        "ContentUri": f"s3://{bucket}/{key}",
                        "RetentionPolicy": retention,
                    },
                },
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {
                        "Runtime": "python3.12",
                        "Handler": "index.handler",
                        "InlineCode": "def handler(e, c):\n    return 1\n",
                        "Layers": [{"Ref": "Shared"}],
                        "CodeSigningConfigArn": {"Ref": "Config"},
                    },
                },
            },
        }
    )


def _stack_layers(aws: Clients, stack: str) -> list[str]:
    return [
        layer["LayerName"]
        for layer in aws("lambda").list_layers()["Layers"]
        if layer["LayerName"].startswith(stack)
    ]


def test_a_stacks_layer_goes_with_its_rollback_or_deletion_unless_retained(
    aws: Clients,
) -> None:
    """moto's layer versions had no delete: a stack's layer outlived the stack."""
    cloudformation, s3 = aws("cloudformation"), aws("s3")
    bucket = versioned_bucket(s3)
    upload(s3, bucket, "layer.zip", package_bytes({"python/shared.py": b"X = 1\n"}))

    for retention, left in (("Delete", 0), ("Retain", 1)):
        failed = unique("rollback-")
        cloudformation.create_stack(
            StackName=failed,
            TemplateBody=sam_template("Enforce", bucket, "layer.zip", retention),
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName=failed)["Stacks"][0]
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        assert len(_stack_layers(aws, failed)) == left, retention

    kept = unique("deleted-")
    cloudformation.create_stack(
        StackName=kept,
        TemplateBody=sam_template("Warn", bucket, "layer.zip", "Delete"),
        Capabilities=["CAPABILITY_IAM"],
    )
    assert cloudformation.describe_stacks(StackName=kept)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    assert len(_stack_layers(aws, kept)) == 1
    cloudformation.delete_stack(StackName=kept)
    assert _stack_layers(aws, kept) == []


def test_the_sam_transform_prints_nothing_on_the_servers_stderr(tmp_path: Path) -> None:
    """samtranslator's unpublished metrics used to warn on the server's stderr after each
    transformed stack."""
    running = start_server(tmp_path / "home")
    try:
        aws = clients_for(running.url)
        s3 = aws("s3")
        bucket = versioned_bucket(s3)
        upload(s3, bucket, "layer.zip", package_bytes({"python/shared.py": b"X = 1\n"}))
        for policy in ("Warn", "Enforce"):
            aws("cloudformation").create_stack(
                StackName=unique("quiet-"),
                TemplateBody=sam_template(policy, bucket, "layer.zip"),
                Capabilities=["CAPABILITY_IAM"],
            )
    finally:
        assert running.stop() == 0
    assert "metrics" not in running.log(), running.log()


def test_a_stack_update_of_inline_code_deploys_it_zipped(aws: Clients) -> None:
    """CloudFormation's ``Code.ZipFile`` is one file's source, zipped as ``index``, on
    update as on create (moto decoded it as base64 on update)."""
    import io
    import urllib.request
    import zipfile

    cloudformation = aws("cloudformation")
    role = aws("iam").create_role(RoleName=unique("role-"), AssumeRolePolicyDocument="{}")
    stack = unique("inline-")

    def body(source: str) -> str:
        return json.dumps(
            {
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Runtime": "python3.12",
                            "Handler": "index.handler",
                            "Role": role["Role"]["Arn"],
                            "Code": {"ZipFile": source},
                        },
                    }
                }
            }
        )

    cloudformation.create_stack(StackName=stack, TemplateBody=body("def handler(e, c): return 1"))
    change_set = unique("change-")
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE",
        TemplateBody=body("def handler(e, c): return 2"),
    )
    cloudformation.execute_change_set(StackName=stack, ChangeSetName=change_set)
    assert cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == (
        "UPDATE_COMPLETE"
    )
    name = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId="Fn")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    location = aws("lambda").get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert archive.read("index.py") == b"def handler(e, c): return 2"


def test_a_stacks_image_function_is_an_image_function(aws: Clients) -> None:
    """moto's CloudFormation drops ``PackageType``: an image function became a .zip one
    (whose ``ImageUri`` Lambda refuses)."""
    cloudformation = aws("cloudformation")
    role = aws("iam").create_role(RoleName=unique("role-"), AssumeRolePolicyDocument="{}")
    stack = unique("image-")
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "PackageType": "Image",
                            "Role": role["Role"]["Arn"],
                            "Code": {"ImageUri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/a:1"},
                        },
                    }
                }
            }
        ),
    )
    assert cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    name = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId="Fn")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    function = aws("lambda").get_function(FunctionName=name)
    assert function["Configuration"]["PackageType"] == "Image"
    assert function["Code"]["RepositoryType"] == "ECR"


def _child_template(which: str, csc: bool = False, bucket: str = "", role: str = "") -> str:
    """A nested template: an output saying which version it is; with ``csc``, a function
    with unsigned code from ``bucket`` under the config its parent passes."""
    resources: dict[str, Any] = {"Marker": {"Type": "AWS::SNS::Topic"}}
    parameters: dict[str, Any] = {}
    if csc:
        parameters["Csc"] = {"Type": "String"}
        resources["Fn"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "app.handler",
                "Role": role,
                "Code": {"S3Bucket": bucket, "S3Key": "app.zip"},
                "CodeSigningConfigArn": {"Ref": "Csc"},
            },
        }
    return json.dumps(
        {
            "Parameters": parameters,
            "Resources": resources,
            "Outputs": {"Which": {"Value": which}},
        }
    )


def _parent_template(template_url: str, csc: str | None = None) -> str:
    resources: dict[str, Any] = {
        "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": template_url}}
    }
    if csc is not None:
        resources["Config"] = {
            "Type": "AWS::Lambda::CodeSigningConfig",
            "Properties": {
                "AllowedPublishers": {"SigningProfileVersionArns": [csc]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
            },
        }
        resources["Child"]["Properties"]["Parameters"] = {
            "Csc": {"Fn::GetAtt": ["Config", "CodeSigningConfigArn"]}
        }
    return json.dumps({"Resources": resources})


def _children(cloudformation: Any, parent: str) -> list[dict[str, Any]]:
    return [
        s
        for s in cloudformation.describe_stacks()["Stacks"]
        if s["StackName"].startswith(f"{parent}-Child-")
    ]


@pytest.mark.parametrize(
    "form",
    [
        "served",  # what sam-ext and SAM CLI write given the endpoint (NoSuchBucket before)
        "s3-path-style",  # https://s3.REGION.amazonaws.com/BUCKET/KEY
        "s3-virtual-host",  # https://BUCKET.s3.REGION.amazonaws.com/KEY
    ],
)
def test_a_nested_stack_reads_its_template_url_from_the_served_s3_in_its_version(
    aws: Clients, server: Server, form: str
) -> None:
    cloudformation, s3 = aws("cloudformation"), aws("s3")
    bucket = versioned_bucket(s3)
    first = upload(s3, bucket, "nested/child.template", _child_template("v1").encode())
    upload(s3, bucket, "nested/child.template", _child_template("v2").encode())
    path = f"{bucket}/nested/child.template?versionId={first}"
    url = {
        "served": f"{server.url}/{path}",
        "s3-path-style": f"https://s3.us-east-1.amazonaws.com/{path}",
        "s3-virtual-host": (
            f"https://{bucket}.s3.us-east-1.amazonaws.com/nested/child.template?versionId={first}"
        ),
    }[form]
    name = unique("nested-")
    cloudformation.create_stack(StackName=name, TemplateBody=_parent_template(url))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    (child,) = _children(cloudformation, name)
    assert child["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(child) == {"Which": "v1"}  # the version the URL names, not the latest

    cloudformation.delete_stack(StackName=name)
    assert _children(cloudformation, name) == []


def test_a_nested_stack_lambda_refuses_fails_its_parent_which_rolls_back(
    aws: Clients, server: Server, role: str
) -> None:
    """moto reported the parent CREATE_COMPLETE over a rolled-back child."""
    cloudformation, s3 = aws("cloudformation"), aws("s3")
    bucket = versioned_bucket(s3)
    upload(s3, bucket, "app.zip", package_bytes())
    profile = aws("signer").put_signing_profile(
        profileName=unique("nested_"), platformId="AWSLambda-SHA384-ECDSA"
    )["profileVersionArn"]
    upload(s3, bucket, "child.template", _child_template("v1", True, bucket, role).encode())
    configs_before = aws("lambda").list_code_signing_configs()["CodeSigningConfigs"]
    name = unique("refused-")
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=_parent_template(f"{server.url}/{bucket}/child.template", profile),
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    (failed,) = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Child"
    reason = failed["ResourceStatusReason"]
    assert reason.startswith("Embedded stack arn:aws:cloudformation:us-east-1:")
    assert reason.endswith(
        "was not successfully created: The following resource(s) failed to create: [Fn]."
    )
    # The parent's rollback removed the child stack and the config.
    assert _children(cloudformation, name) == []
    assert aws("lambda").list_code_signing_configs()["CodeSigningConfigs"] == configs_before


def test_a_template_url_naming_no_object_fails_the_stack_naming_it(
    aws: Clients, server: Server
) -> None:
    cloudformation, s3 = aws("cloudformation"), aws("s3")
    bucket = versioned_bucket(s3)
    missing = f"{server.url}/{bucket}/nothing.template"
    code, message, status = error_code(
        lambda: cloudformation.create_stack(StackName=unique("gone-"), TemplateURL=missing)
    )
    assert (code, status) == ("ValidationError", 400)
    assert f"TemplateURL must reference a valid S3 object to which you have access: {missing}" in (
        message
    )
    name = unique("nested-gone-")
    cloudformation.create_stack(StackName=name, TemplateBody=_parent_template(missing))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    (failed,) = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Child"
    assert failed["ResourceStatusReason"].startswith(
        f"ValidationError: TemplateURL must reference a valid S3 object to which you have "
        f"access: {missing}"
    )
