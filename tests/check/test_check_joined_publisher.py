"""``sam-ext check`` on a config whose publisher is built with ``Fn::Join`` from the pseudo
parameters, as CDK synthesizes one: resolved with the backend's partition, region and
account; CDK's ``from_signing_profile_attributes`` form (``ACCOUNT://signing-profiles/``)
is a publisher known to match no signature, said as such."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provider.arns import parse_profile_version_arn
from sam_ext.packaging.csc import resolve_csc_value
from tests.check.conftest import WriteTemplate
from tests.check.test_check_templates import findings
from tests.sam_ext.conftest import Cli


def joined(tail: str) -> dict[str, Any]:
    """A profile version ARN as CDK writes one, ending in ``tail`` after the account."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":signer:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                tail,
            ],
        ]
    }


def cdk_template(publisher: dict[str, Any], signed: str) -> dict[str, Any]:
    """The shape of examples/cdk's synthesized Shop stack (cdk.out/Shop.template.json),
    with the config's policy a parameter."""

    def function(code: str) -> dict[str, Any]:
        return {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": code,
                "Handler": "app.handler",
                "Role": "arn:aws:iam::000000000000:role/r",
                "Runtime": "python3.12",
                "CodeSigningConfigArn": {"Fn::GetAtt": ["Csc8D2C6CF3", "CodeSigningConfigArn"]},
            },
        }

    return {
        "Parameters": {"Policy": {"Type": "String", "Default": "Enforce"}},
        "Resources": {
            "Csc8D2C6CF3": {
                "Type": "AWS::Lambda::CodeSigningConfig",
                "Properties": {
                    "AllowedPublishers": {"SigningProfileVersionArns": [publisher]},
                    "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": {"Ref": "Policy"}},
                },
                "Metadata": {"aws:cdk:path": "Shop/Csc/Resource"},
            },
            "Signed": function(signed),
            "Unsigned": function("src/"),
        },
    }


def test_cdk_double_slash_publisher_matches_no_signature(
    cli: Cli, write_template: WriteTemplate, app: Path
) -> None:
    arn = cli.profile("Admin")
    ref = parse_profile_version_arn(arn)
    signed = cli.sign(app / "hello.zip", app / "signed", name="Admin")
    bad = joined(f"://signing-profiles/Admin/{ref.version}")
    path = write_template(cdk_template(bad, signed), "template.json")
    written = f"arn:aws:signer:{ref.region}:{ref.account}://signing-profiles/Admin/{ref.version}"

    by_id = findings(cli, path, status=1)
    # Signed by the very profile, yet rejected: the ARN Lambda compares is not the one listed.
    good = by_id["Signed"]
    assert (good["standing"], good["check"], good["policy"]) == ("REJECT", "mismatch", "Enforce")
    assert good["exception"] == "CodeVerificationFailedException"
    assert (
        f"the config's publisher {written} is not a signing profile version ARN" in good["message"]
    )
    assert "CDK's signer.SigningProfile.from_signing_profile_attributes" in good["message"]
    assert "double slash" in good["message"]
    assert "no signature can match it" in good["message"]
    assert f"e.g. {arn})" in good["remedy"]  # the ARN Signer gave the version
    assert (
        'cfn_csc.add_property_override("AllowedPublishers.SigningProfileVersionArns", [arn])'
        in good["remedy"]
    )
    assert "examples/cdk/app.py" in good["remedy"]
    # Unsigned code: rejected as before, told both to fix the ARN and to sign.
    unsigned = by_id["Unsigned"]
    assert (unsigned["standing"], unsigned["check"]) == ("REJECT", "mismatch")
    assert "the package is not signed" in unsigned["message"]
    assert "no signature can match it" in unsigned["message"]
    assert "then sign: sam-ext package --template-file" in unsigned["remedy"]
    assert unsigned["remedy"].endswith("--signing-profiles Unsigned=Admin")

    # Under Warn every deploy, signed or not, goes ahead with a warning.
    warned = findings(cli, path, "--parameter-overrides", "Policy=Warn")
    assert {f["standing"] for f in warned.values()} == {"WARN"}
    assert "no signature can match it" in warned["Signed"]["message"]
    assert "with a warning under Warn" in warned["Signed"]["message"]


def test_a_joined_profile_version_arn_resolves_and_allows_its_signature(
    cli: Cli, write_template: WriteTemplate, app: Path
) -> None:
    arn = cli.profile("Admin")
    cli.profile("Other")
    version = parse_profile_version_arn(arn).version
    signed = cli.sign(app / "hello.zip", app / "signed", name="Admin")
    by_other = cli.sign(app / "hello.zip", app / "other", name="Other")
    good = joined(f":/signing-profiles/Admin/{version}")
    path = write_template(cdk_template(good, signed), "template.json")

    by_id = findings(cli, path, status=1)
    assert by_id["Signed"]["standing"] == "ALLOW"
    assert by_id["Unsigned"]["standing"] == "REJECT"
    assert "not a signing profile version ARN" not in by_id["Unsigned"]["message"]
    # Fn::Sub resolves the same way; another profile's signature is a plain mismatch.
    sub = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:signer:${{AWS::Region}}:${{AWS::AccountId}}"
        f":/signing-profiles/Admin/{version}"
    }
    other = write_template(cdk_template(sub, by_other), "other.json")
    found = findings(cli, other, status=1)["Signed"]
    assert (found["standing"], found["check"]) == ("REJECT", "mismatch")
    assert "not among the code signing config's allowed publishers" in found["message"]
    assert "not a signing profile version ARN" not in found["message"]


class _Nowhere:
    """A backend that cannot say its account or region (an aws one without credentials)."""

    @property
    def location(self) -> Any:
        from provider.errors import CodesignError

        raise CodesignError("sts:GetCallerIdentity failed: no credentials")


def test_unresolved_pseudo_parameters_keep_the_double_slash_known_and_a_good_arn_unknown() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "Csc": {
                "Type": "AWS::Lambda::CodeSigningConfig",
                "Properties": {
                    "AllowedPublishers": {
                        "SigningProfileVersionArns": [
                            joined("://signing-profiles/Admin/abcdefghij"),
                            joined(":/signing-profiles/Admin/abcdefghij"),
                        ]
                    },
                    "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
                },
            }
        }
    }
    for backend in (_Nowhere(), object()):
        config = resolve_csc_value(template, {"Ref": "Csc"}, backend, {}).known_config()
        assert config is not None and config.publishers is not None
        bad, good = config.publishers
        # Whatever the account and region, the first is no profile version ARN: known,
        # it matches nothing; the second could be any account's: unknown.
        assert bad.arn == (
            "arn:${AWS::Partition}:signer:${AWS::Region}:${AWS::AccountId}"
            "://signing-profiles/Admin/abcdefghij"
        )
        assert good.unknown
