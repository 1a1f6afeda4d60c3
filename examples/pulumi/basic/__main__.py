"""Profile + Enforce CSC + signed package + function, on the local backend by default.

Config: ``code`` (a source directory; default ../../functions/hello),
``validity_months`` (default 12), ``codesign:backend`` / ``codesign:home``.
"""

from pathlib import Path

import pulumi

from provider import (
    CodeSigningConfig,
    CodeSigningConfigArgs,
    SignedFunction,
    SignedFunctionArgs,
    SigningProfile,
    SigningProfileArgs,
)

config = pulumi.Config()
code = config.get("code") or str(Path(__file__).parent / ".." / ".." / "functions" / "hello")

publisher = SigningProfile(
    "publisher",
    SigningProfileArgs(
        signature_validity_period={
            "value": config.get_int("validity_months") or 12,
            "type": "MONTHS",
        },
    ),
)
enforce = CodeSigningConfig(
    "enforce",
    CodeSigningConfigArgs(
        allowed_publishers=[publisher],
        policy=config.get("policy") or "Enforce",
        description="only code signed by the publisher profile may deploy",
    ),
)
hello = SignedFunction(
    "hello",
    SignedFunctionArgs(code=code, signing_profile=publisher, code_signing_config=enforce),
)

pulumi.export("profile_version_arn", publisher.profile_version_arn)
pulumi.export("code_signing_config_arn", enforce.arn)
pulumi.export("signed_package", hello.package.location)
pulumi.export("signing_job_id", hello.package.job_id)
pulumi.export("function_arn", hello.function.function_arn)
pulumi.export("verdict", hello.function.verdict)
