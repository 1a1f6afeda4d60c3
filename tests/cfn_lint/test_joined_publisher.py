"""The pack through the real cfn-lint on a config whose publisher is CDK's
``from_signing_profile_attributes`` ARN (``Fn::Join`` of the pseudo parameters, with a
double slash after the account): the package that very profile signed is rejected
(E9301), with check's message saying why."""

from __future__ import annotations

import json

from cfn_lint.conftest import NOW, Keystore, cfn_lint, line_of

from provider.arns import parse_profile_version_arn
from provider.backends.local import LocalBackend
from provider.clock import parse_instant
from sam_ext.cfn_lint import RuleId
from sam_ext.check import CheckOptions, check_template


def test_cdks_double_slash_publisher_rejects_signed_code_as_e9301(keystore: Keystore) -> None:
    ref = parse_profile_version_arn(keystore.publisher)
    joined = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":signer:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f"://signing-profiles/{ref.name}/{ref.version}",
            ],
        ]
    }
    template = keystore.work / "cdk.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Csc8D2C6CF3": {
                        "Type": "AWS::Lambda::CodeSigningConfig",
                        "Properties": {
                            "AllowedPublishers": {"SigningProfileVersionArns": [joined]},
                            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
                        },
                    },
                    "Orders": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Code": str(keystore.signed),
                            "Handler": "app.handler",
                            "Role": "arn:aws:iam::123456789012:role/lambda",
                            "Runtime": "python3.12",
                            "CodeSigningConfigArn": {
                                "Fn::GetAtt": ["Csc8D2C6CF3", "CodeSigningConfigArn"]
                            },
                        },
                    },
                }
            },
            indent=2,
        )
    )
    report = check_template(
        template, CheckOptions(at=parse_instant(NOW, field="now")), LocalBackend(keystore.home)
    )
    (said,) = (f.message for f in report.findings)
    assert "is not a signing profile version ARN" in said and "double slash" in said

    lint = cfn_lint(template, home=keystore.home)

    assert lint.matches() == [
        (RuleId.REJECTED, line_of(template.read_text(), f'"Code": "{keystore.signed}"'), said)
    ]
