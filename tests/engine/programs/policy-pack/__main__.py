"""Functions for the policy pack to judge, on a new stack (config: ``unsigned`` and,
optionally, ``tampered``, paths of .zip files the test made; ``policy``, the policy of the
``enforced`` config, default ``Enforce``).

- ``no-config``: no code signing config (lambda-code-signing-required);
- ``lenient``: a Warn config, attached to nothing (lambda-code-signing-enforce);
- ``unsigned`` and ``tampered``: code Lambda would reject under the Enforce config
  (lambda-code-signing-verdict: a mismatch, an integrity failure); under ``policy=Warn``
  the unsigned code deploys with a warning (an integrity failure is rejected whatever the
  policy);
- ``signed``: a SignedPackage of the config's own publisher, judged from the program's
  graph before anything exists: allowed, so no violation.
"""

from pathlib import Path

import pulumi

from provider import (
    CodeSigningConfig,
    CodeSigningConfigArgs,
    LambdaFunction,
    LambdaFunctionArgs,
    SignedPackage,
    SignedPackageArgs,
    SigningProfile,
    SigningProfileArgs,
)

config = pulumi.Config()
hello = Path(__file__).resolve().parents[4] / "examples" / "functions" / "hello"

publisher = SigningProfile(
    "publisher", SigningProfileArgs(signature_validity_period={"value": 12, "type": "MONTHS"})
)
enforced = CodeSigningConfig(
    "enforced",
    CodeSigningConfigArgs(allowed_publishers=[publisher], policy=config.get("policy") or "Enforce"),
)
CodeSigningConfig(
    "lenient",
    CodeSigningConfigArgs(allowed_publishers=[publisher.profile_version_arn], policy="Warn"),
)
package = SignedPackage("hello", SignedPackageArgs(source=str(hello), profile_name=publisher))
LambdaFunction("no-config", LambdaFunctionArgs(code=config.require("unsigned")))
for name in ("unsigned", "tampered"):
    if config.get(name):
        LambdaFunction(
            name, LambdaFunctionArgs(code=config.require(name), code_signing_config=enforced)
        )
LambdaFunction("signed", LambdaFunctionArgs(code=package, code_signing_config=enforced))
