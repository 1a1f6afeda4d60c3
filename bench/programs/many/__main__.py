"""N SignedFunctions (config ``count``) sharing one profile and one Enforce CSC."""

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
count = config.require_int("count")
sources = config.require("sources")

publisher = SigningProfile("publisher", SigningProfileArgs())
enforce = CodeSigningConfig(
    "enforce",
    CodeSigningConfigArgs(allowed_publishers=[publisher.profile_version_arn], policy="Enforce"),
)
for index in range(count):
    SignedFunction(
        f"fn{index:02d}",
        SignedFunctionArgs(
            code=f"{sources}/fn{index:02d}", signing_profile=publisher, code_signing_config=enforce
        ),
    )
