"""``SignedFunction``: the common case in one declaration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from provider.resources.code_signing_config import CodeSigningConfig
from provider.resources.function import LambdaFunction, LambdaFunctionArgs
from provider.resources.layer import LayerVersion
from provider.resources.signed_package import SignedPackage, SignedPackageArgs
from provider.resources.signing_profile import SigningProfile


@dataclass
class SignedFunctionArgs:
    """Inputs of :class:`SignedFunction`."""

    #: A source directory or an unsigned .zip.
    code: pulumi.Input[str]
    #: The publisher that signs the code: a :class:`SigningProfile` or a profile name.
    signing_profile: SigningProfile | pulumi.Input[str]
    #: The config the function is deployed under: a :class:`CodeSigningConfig` or an ARN.
    code_signing_config: CodeSigningConfig | pulumi.Input[str]
    function_name: pulumi.Input[str] | None = None
    #: Up to 5 layers (:class:`LayerVersion` resources or layer version ARNs).
    layers: Sequence[LayerVersion | pulumi.Input[str]] | None = None
    #: Sign again when the signature expires within this duration (``30d``, ``12h``).
    renew_before: pulumi.Input[str] | None = None
    backend: str | None = None
    home: str | None = None
    region: str | None = None


class SignedFunction(pulumi.ComponentResource):
    """Code + a signing profile + a code signing config -> a :class:`SignedPackage` and a
    :class:`LambdaFunction` deployed from it under that config.

    Children: ``package`` and ``function``; the package is re-signed only when the code
    changes, and the function is updated only when the signed package changes.
    """

    package: SignedPackage
    function: LambdaFunction

    def __init__(
        self, name: str, args: SignedFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("codesign:index:SignedFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.package = SignedPackage(
            f"{name}-package",
            SignedPackageArgs(
                source=args.code,
                profile_name=args.signing_profile,
                renew_before=args.renew_before,
                backend=args.backend,
                home=args.home,
                region=args.region,
            ),
            child,
        )
        self.function = LambdaFunction(
            f"{name}-function",
            LambdaFunctionArgs(
                code=self.package,
                code_signing_config=args.code_signing_config,
                function_name=args.function_name,
                layers=args.layers,
                backend=args.backend,
                home=args.home,
                region=args.region,
            ),
            child,
        )
        self.register_outputs(
            {
                "function_arn": self.function.function_arn,
                "package_location": self.package.location,
                "predicted_verdict": self.function.predicted_verdict,
            }
        )
