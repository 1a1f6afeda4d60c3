"""Profile + Enforce config + signed package + a function with a signed layer, unchanged
on both backends: ``codesign:backend local`` (the default, offline) or ``aws`` (AWS Signer,
Lambda and S3; ``codesign:bucket`` names a versioned bucket for the signed objects, and
``role`` the function's execution role).

Config: ``source`` (the function's source directory; default ../../functions/hello),
``role`` (an IAM role ARN; required on aws, recorded on local), ``renew_before`` (sign the
function's package again when its signature expires within this, e.g. ``30d``),
``code_key`` (deploy the object ``s3://<codesign:bucket>/<code_key>`` by key, unpinned,
instead of the signed package's version: aws only).
"""

from pathlib import Path

import pulumi

from provider import (
    CodeSigningConfig,
    CodeSigningConfigArgs,
    LambdaFunction,
    LambdaFunctionArgs,
    LayerVersion,
    LayerVersionArgs,
    SignedPackage,
    SignedPackageArgs,
    SigningProfile,
    SigningProfileArgs,
)

config = pulumi.Config()
here = Path(__file__).parent
source = config.get("source") or str(here / ".." / ".." / "functions" / "hello")

publisher = SigningProfile(
    "publisher", SigningProfileArgs(signature_validity_period={"value": 12, "type": "MONTHS"})
)
enforce = CodeSigningConfig(
    "enforce",
    CodeSigningConfigArgs(
        allowed_publishers=[publisher],
        policy="Enforce",
        description="only code signed by the publisher profile may deploy",
    ),
)
code = SignedPackage(
    "code",
    SignedPackageArgs(
        source=source, profile_name=publisher, renew_before=config.get("renew_before")
    ),
)
shared = SignedPackage(
    "shared", SignedPackageArgs(source=str(here / "layer"), profile_name=publisher)
)
layer = LayerVersion("shared", LayerVersionArgs(code=shared, compatible_runtimes=["python3.12"]))
# Deploying an object by key (pulumi-aws's s3_bucket/s3_key, no version) trusts whatever
# the key holds when the deploy happens: the preview judges that object.
code_key = config.get("code_key")
bucket = pulumi.Config("codesign").get("bucket")
function = LambdaFunction(
    "hello",
    LambdaFunctionArgs(
        code=None if code_key else code,
        s3_bucket=bucket if code_key else None,
        s3_key=code_key,
        code_signing_config=enforce,
        layers=[layer],
        role=config.get("role"),
        runtime="python3.12",
        handler="app.handler",
        memory_size=256,
        timeout=10,
        environment={"variables": {"GREETING_SOURCE": "layer"}},
        tags={"app": "codesign-aws"},
    ),
)

pulumi.export("profile_name", publisher.profile_name)
pulumi.export("code_signing_config_arn", enforce.arn)
pulumi.export("code_job_id", code.job_id)
pulumi.export("code_key", code.key)
pulumi.export("code_expires_at", code.signature_expires_at)
pulumi.export("layer_version_arn", layer.layer_version_arn)
pulumi.export("layer_name", layer.layer_name)
pulumi.export("function_name", function.function_name)
pulumi.export("verdict", function.verdict)
