"""The judge of a packaged template's code (``deploy --template-file`` on aws): what it
judges, with which config, and what it says it cannot know. The flows against a served
endpoint are in tests/backends/aws/test_served_flows.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from provider.errors import NotFoundError
from provider.objects import S3Object
from provider.verdict import ArtifactFacts, CscPolicy, Decision, Verdict, decide
from sam_ext.packaged_verdicts import TemplateJudge

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PUBLISHER = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/team_a/a1b2c3d4e5"
CONFIG_ARN = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0a1b2c3d4e5f6a7b8"


class Backend:
    """Signed objects by URI (each signed by PUBLISHER unless listed as unsigned); a
    config by ARN; records what was looked up."""

    def __init__(self, unsigned: tuple[str, ...] = ()) -> None:
        self.unsigned = unsigned
        self.judged: list[tuple[str, str]] = []

    def evaluate_package(
        self, package: Any, csc: CscPolicy, *, at: datetime, name: str | None = None
    ) -> Verdict:
        assert isinstance(package, S3Object)
        if package.key == "missing.zip":
            raise NotFoundError(f"s3:GetObject on {package.uri}: no such object")
        self.judged.append((str(name), package.uri))
        signed = package.uri not in self.unsigned
        facts = ArtifactFacts(
            name=str(name),
            signed=signed,
            profile_version_arn=PUBLISHER if signed else None,
            signed_at=NOW if signed else None,
            expires_at=datetime(2030, 1, 1, tzinfo=UTC) if signed else None,
        )
        return decide(facts, csc, at)

    def csc_policy_of(self, arn: str) -> CscPolicy:
        assert arn == CONFIG_ARN
        return CscPolicy((PUBLISHER,), "Warn", arn)


def config(policy: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::CodeSigningConfig",
        "Properties": {
            "AllowedPublishers": {"SigningProfileVersionArns": [{"Ref": "Trusted"}]},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": policy},
        },
    }


def test_code_layers_and_inline_code_are_judged_under_each_functions_config() -> None:
    template = {
        "Parameters": {"Trusted": {"Type": "String"}, "Computed": {"Type": "String"}},
        "Resources": {
            "Strict": config("Enforce"),
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {"Content": {"S3Bucket": "art", "S3Key": "layer.zip"}},
            },
            "Signed": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "s3://art/signed_1.zip",
                    "Layers": [{"Ref": "Layer"}, "arn:aws:lambda:us-east-1:1:layer:x:1"],
                    "CodeSigningConfigArn": {"Ref": "Strict"},
                },
            },
            "Inline": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"ZipFile": "def handler(e, c): pass"},
                    "CodeSigningConfigArn": {"Fn::GetAtt": ["Strict", "CodeSigningConfigArn"]},
                },
            },
            "ByArn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"S3Bucket": "art", "S3Key": "plain.zip", "S3ObjectVersion": "v1"},
                    "CodeSigningConfigArn": CONFIG_ARN,
                },
            },
            "Computed": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "s3://art/signed_2.zip",
                    "CodeSigningConfigArn": {"Fn::ImportValue": "shared-config"},
                },
            },
            "Gone": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "s3://art/missing.zip",
                    "CodeSigningConfigArn": CONFIG_ARN,
                },
            },
            "NoConfig": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "s3://art/plain.zip"},
            },
        },
    }
    backend = Backend(unsigned=("s3://art/plain.zip?versionId=v1",))
    judged = TemplateJudge(backend, NOW, lambda obj: b"").judge(template, {"Trusted": PUBLISHER})
    assert backend.judged == [
        ("Signed", "s3://art/signed_1.zip"),
        ("Signed layer Layer", "s3://art/layer.zip"),
        ("ByArn", "s3://art/plain.zip?versionId=v1"),
    ]
    outcomes = {
        v.facts.name: (v.decision, [f.check.value for f in v.failed]) for v in judged.verdicts
    }
    assert outcomes == {
        "Signed": (Decision.ALLOW, []),
        "Signed layer Layer": (Decision.ALLOW, []),
        "Inline": (Decision.REJECT, ["mismatch"]),  # inline code is unsigned
        "ByArn": (Decision.WARN, ["mismatch"]),  # the config looked up by its ARN: Warn
    }
    assert judged.unknown == [
        "Computed: its code signing config is not known before deploy (the "
        "CodeSigningConfigArn is computed)",
        "Gone: its code signing verdict is not known before deploy (s3:GetObject on "
        "s3://art/missing.zip: no such object)",
    ]


def test_a_nested_template_is_read_back_and_given_its_parents_config() -> None:
    child = (
        b"Parameters:\n  Csc: {Type: String}\nResources:\n  Fn:\n"
        b"    Type: AWS::Serverless::Function\n    Properties:\n"
        b"      CodeUri: s3://art/unsigned.zip\n      CodeSigningConfigArn: !Ref Csc\n"
    )
    read: list[S3Object] = []

    def read_template(obj: S3Object) -> bytes:
        read.append(obj)
        if obj.key == "gone.template":
            raise NotFoundError("s3:GetObject on s3://art/gone.template: no such object")
        return child

    template = {
        "Parameters": {"Trusted": {"Type": "String"}},
        "Resources": {
            "Strict": config("Enforce"),
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": "http://127.0.0.1:4566/art/child.template?versionId=v7",
                    "Parameters": {"Csc": {"Fn::GetAtt": ["Strict", "CodeSigningConfigArn"]}},
                },
            },
            "Lost": {
                "Type": "AWS::Serverless::Application",
                "Properties": {"Location": "https://s3.us-east-1.amazonaws.com/art/gone.template"},
            },
            "FromRepository": {
                "Type": "AWS::Serverless::Application",
                "Properties": {"Location": {"ApplicationId": "arn:aws:serverlessrepo:x"}},
            },
        },
    }
    backend = Backend(unsigned=("s3://art/unsigned.zip",))
    judged = TemplateJudge(backend, NOW, read_template).judge(template, {"Trusted": PUBLISHER})
    assert read == [S3Object("art", "child.template", "v7"), S3Object("art", "gone.template")]
    (verdict,) = judged.verdicts
    assert verdict.facts.name == "Child/Fn" and verdict.decision is Decision.REJECT
    assert judged.unknown == [
        "Lost: its nested template was not judged (s3:GetObject on s3://art/gone.template: "
        "no such object)"
    ]
