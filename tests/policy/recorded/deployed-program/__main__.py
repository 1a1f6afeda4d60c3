"""A profile with a 20-day validity, an Enforce config listing it, and a function deployed
from a SignedPackage with a layer from another one (config: ``layer``, a directory)."""

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
hello = Path(__file__).resolve().parents[4] / "examples" / "functions" / "hello"

publisher = SigningProfile(
    "publisher", SigningProfileArgs(signature_validity_period={"value": 20, "type": "DAYS"})
)
enforced = CodeSigningConfig(
    "enforced", CodeSigningConfigArgs(allowed_publishers=[publisher], policy="Enforce")
)
package = SignedPackage("hello", SignedPackageArgs(source=str(hello), profile_name=publisher))
deps = SignedPackage(
    "deps", SignedPackageArgs(source=config.require("layer"), profile_name=publisher)
)
layer = LayerVersion("deps", LayerVersionArgs(code=deps))
LambdaFunction(
    "deployed",
    LambdaFunctionArgs(code=package, code_signing_config=enforced, layers=[layer]),
)
