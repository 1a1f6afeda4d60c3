"""The served CloudFormation: signing profiles and code signing configs as resources, and
a function Lambda refuses failing its stack (rolled back) with Lambda's message."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Clients, unique


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
