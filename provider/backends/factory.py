"""Choose a backend by name: the one place that knows which backends exist."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

from provider.backends.local import LocalBackend
from provider.errors import ValidationError

if TYPE_CHECKING:
    from provider.backends.aws import AwsBackend
    from provider.backends.aws.lambda_functions import AwsFunctions
    from provider.backends.aws.signer import AwsSigner
    from provider.backends.base import Backend, LambdaPart, SignerPart
    from provider.backends.local.registry import LocalFunctions
    from provider.backends.local.signer import LocalSigner

    def _both_implement_the_interface(local: LocalBackend, aws: AwsBackend) -> list[Backend]:
        """Never called: mypy checks here that each backend is a :class:`Backend`."""
        return [local, aws]

    def _each_part_implements_its_protocol(
        local_signer: LocalSigner,
        local_lambda: LocalFunctions,
        aws_signer: AwsSigner,
        aws_lambda: AwsFunctions,
    ) -> tuple[list[SignerPart], list[LambdaPart]]:
        """Never called: mypy checks here that each part, on its own, is its protocol."""
        return [local_signer, aws_signer], [local_lambda, aws_lambda]


BACKENDS = ("local", "aws")


@overload
def open_backend(
    name: Literal["local"] = ...,
    *,
    home: str | None = ...,
    region: str | None = ...,
    profile: str | None = ...,
) -> LocalBackend: ...
@overload
def open_backend(
    name: Literal["aws"],
    *,
    home: str | None = ...,
    region: str | None = ...,
    profile: str | None = ...,
) -> AwsBackend: ...
@overload
def open_backend(
    name: str,
    *,
    home: str | None = ...,
    region: str | None = ...,
    profile: str | None = ...,
) -> LocalBackend | AwsBackend: ...
def open_backend(
    name: str = "local",
    *,
    home: str | None = None,
    region: str | None = None,
    profile: str | None = None,
) -> LocalBackend | AwsBackend:
    """Open the named backend (``local`` is the offline default; ``aws`` uses boto3's
    credentials, region and ``AWS_ENDPOINT_URL``; ``home`` is the local keystore only,
    ``profile`` the AWS profile, aws only)."""
    if name == "local":
        return LocalBackend(home, region)
    if name == "aws":
        # Imported here: boto3 is loaded only when the aws backend is used.
        from provider.backends.aws import AwsBackend

        return AwsBackend(region, profile=profile)
    raise ValidationError(f"backend: {name!r} is not one of {', '.join(BACKENDS)}")
