"""Two new profiles, an Enforce config listing one (or both), and functions signed by each,
one with a layer: what does a preview of a brand-new stack predict?

Config: ``code`` (a source directory), ``trust_outsider`` (list the outsider profile too),
``layer`` (``tampered``: publish the .zip at ``tampered_layer``; ``package``: sign the
directory ``layer_dir`` with the publisher profile).
"""

import pulumi

from provider import (
    CodeSigningConfig,
    CodeSigningConfigArgs,
    LayerVersion,
    LayerVersionArgs,
    SignedFunction,
    SignedFunctionArgs,
    SignedPackage,
    SignedPackageArgs,
    SigningProfile,
)

config = pulumi.Config()
code = config.require("code")
publisher = SigningProfile("publisher")
outsider = SigningProfile("outsider")
allowed = [publisher, outsider] if config.get_bool("trust_outsider") else [publisher]
enforce = CodeSigningConfig(
    "enforce", CodeSigningConfigArgs(allowed_publishers=allowed, policy="Enforce")
)
SignedFunction(
    "mine", SignedFunctionArgs(code=code, signing_profile=publisher, code_signing_config=enforce)
)
SignedFunction(
    "theirs", SignedFunctionArgs(code=code, signing_profile=outsider, code_signing_config=enforce)
)
if config.get("layer") == "package":
    content = SignedPackage(
        "shared-package",
        SignedPackageArgs(source=config.require("layer_dir"), profile_name=publisher),
    )
    layer = LayerVersion(
        "shared", LayerVersionArgs(code=content, compatible_runtimes=["python3.12"])
    )
else:
    layer = LayerVersion("shared", LayerVersionArgs(code=config.require("tampered_layer")))
layered = SignedFunction(
    "layered",
    SignedFunctionArgs(
        code=code, signing_profile=publisher, code_signing_config=enforce, layers=[layer]
    ),
)
pulumi.export("layered_function", layered.function.function_name)
pulumi.export("layer_version_arn", layer.layer_version_arn)
