"""A CDK app whose Lambda code must be signed, the way teams separate duties.

The administrator owns the signing profile (made once, outside this app: the AWS console,
``aws signer put-signing-profile`` or ``sam-ext profile put``) and gives its version ARN to
the application team, who reference it and never create it:

    cdk synth -c signingProfileVersionArn=arn:aws:signer:REGION:ACCOUNT:/signing-profiles/N/V

Stack ``Shop``: an ``Enforce`` code signing config listing that profile version, two
functions and a layer from local assets (``lambda.Code.from_asset``), signed and deployed
with ``sam-ext package``/``sam-ext deploy`` (see README.md here).

``-c exactPublisherArn=false`` leaves out the override of the config's publisher (see
``ShopStack``): the stack then lists CDK's own ARN for the profile, which no signature
matches (``sam-ext check`` says so), to show why the override is there.

Stack ``ShopSelfSigned``: the pattern that cannot work. It declares its own
``signer.SigningProfile`` and lists only that; no package can be signed by a profile that
does not exist until the stack does (``sam-ext check`` says so).
"""

from __future__ import annotations

import re
import sys

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_signer as signer
from constructs import Construct

#: A signing profile version ARN, as Signer and Lambda write it.
VERSION_ARN = re.compile(
    r"^arn:aws[a-z-]*:signer:[a-z0-9-]+:\d{12}:/signing-profiles/"
    r"(?P<name>[A-Za-z0-9_]{2,64})/(?P<version>[A-Za-z0-9]{10})$"
)
RUNTIME = lambda_.Runtime.PYTHON_3_12


def exact_publisher_arn(app: cdk.App) -> bool:
    """Whether to list the administrator's exact ARN (``-c exactPublisherArn=false``: no)."""
    value = app.node.try_get_context("exactPublisherArn")
    return value is None or str(value).lower() not in ("false", "0", "no")


def profile_version_arn(app: cdk.App) -> str:
    """The administrator's profile version ARN, from the context (``-c``)."""
    arn = app.node.try_get_context("signingProfileVersionArn")
    if not isinstance(arn, str) or not VERSION_ARN.match(arn):
        sys.exit(
            "app.py: pass the administrator's signing profile version ARN: cdk synth -c "
            "signingProfileVersionArn=arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME/"
            f"VERSION (got {arn!r})"
        )
    return arn


class ShopStack(cdk.Stack):
    """Two functions and a layer under an Enforce config listing the existing profile."""

    def __init__(
        self, scope: Construct, construct_id: str, *, version_arn: str, exact_arn: bool = True
    ) -> None:
        super().__init__(scope, construct_id)
        found = VERSION_ARN.match(version_arn)
        assert found is not None
        profile = signer.SigningProfile.from_signing_profile_attributes(
            self,
            "AdminProfile",
            signing_profile_name=found["name"],
            signing_profile_version=found["version"],
        )
        code_signing = lambda_.CodeSigningConfig(
            self,
            "CodeSigning",
            signing_profiles=[profile],
            untrusted_artifact_on_deployment=lambda_.UntrustedArtifactOnDeployment.ENFORCE,
            description="Shop: only code signed by the administrator's profile",
        )
        # CDK builds an imported profile's version ARN from the stack's own account and
        # region, as arn:...:ACCOUNT://signing-profiles/NAME/VERSION (a double slash), which
        # is never the ARN Signer gives the version: list the administrator's exact ARN.
        resource = code_signing.node.default_child
        assert isinstance(resource, lambda_.CfnCodeSigningConfig)
        if exact_arn:
            resource.add_property_override(
                "AllowedPublishers.SigningProfileVersionArns", [version_arn]
            )
        shared = lambda_.LayerVersion(
            self,
            "Shared",
            code=lambda_.Code.from_asset("layers/shared"),
            compatible_runtimes=[RUNTIME],
            description="Helpers shared by the shop's functions",
        )
        lambda_.Function(
            self,
            "Checkout",
            runtime=RUNTIME,
            handler="app.handler",
            code=lambda_.Code.from_asset("functions/checkout"),
            code_signing_config=code_signing,
            layers=[shared],
        )
        lambda_.Function(
            self,
            "Refunds",
            runtime=RUNTIME,
            handler="app.handler",
            code=lambda_.Code.from_asset("functions/refunds"),
            code_signing_config=code_signing,
        )


class SelfSignedStack(cdk.Stack):
    """A config whose only publisher is a profile this same stack creates."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        profile = signer.SigningProfile(
            self, "Profile", platform=signer.Platform.AWS_LAMBDA_SHA384_ECDSA
        )
        code_signing = lambda_.CodeSigningConfig(
            self,
            "CodeSigning",
            signing_profiles=[profile],
            untrusted_artifact_on_deployment=lambda_.UntrustedArtifactOnDeployment.ENFORCE,
        )
        lambda_.Function(
            self,
            "Refunds",
            runtime=RUNTIME,
            handler="app.handler",
            code=lambda_.Code.from_asset("functions/refunds"),
            code_signing_config=code_signing,
        )


app = cdk.App()
ShopStack(app, "Shop", version_arn=profile_version_arn(app), exact_arn=exact_publisher_arn(app))
SelfSignedStack(app, "ShopSelfSigned")
app.synth()
