"""The spelling most Pulumi programs use: outputs, not resources. The config lists
``publisher.profile_version_arn``; the functions deploy ``package.location`` under
``enforce.arn`` (or ``enforce``), one with ``layer.layer_version_arn`` of a layer published
from ``package.location``. What does a preview of a brand-new stack predict?

Config: ``code`` and ``layer_dir`` (source directories).
"""

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
)

config = pulumi.Config()
code = config.require("code")
publisher = SigningProfile("publisher")
outsider = SigningProfile("outsider")
enforce = CodeSigningConfig(
    "enforce",
    CodeSigningConfigArgs(allowed_publishers=[publisher.profile_version_arn], policy="Enforce"),
)
mine = SignedPackage(
    "mine-package", SignedPackageArgs(source=code, profile_name=publisher.profile_name)
)
theirs = SignedPackage("theirs-package", SignedPackageArgs(source=code, profile_name=outsider))
shared = SignedPackage(
    "shared-package",
    SignedPackageArgs(source=config.require("layer_dir"), profile_name=publisher),
)
layer = LayerVersion(
    "shared", LayerVersionArgs(code=shared.location, compatible_runtimes=["python3.12"])
)
LambdaFunction(
    "mine",
    LambdaFunctionArgs(
        code=mine.location, code_signing_config=enforce.arn, layers=[layer.layer_version_arn]
    ),
)
LambdaFunction("theirs", LambdaFunctionArgs(code=theirs.location, code_signing_config=enforce))
# Derived from an output (not the output itself): nothing says what it will be.
LambdaFunction(
    "derived",
    LambdaFunctionArgs(code=mine.location.apply(lambda path: path), code_signing_config=enforce),
)
