"""AWS Lambda code signing: the signing core, both backends, and the Pulumi resources.

The Pulumi resources are imported lazily (``from provider import SigningProfile``), so
the core and the ``sam-ext`` CLI never load the Pulumi SDK.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_RESOURCES = {
    "SigningProfile": "provider.resources.signing_profile",
    "SigningProfileArgs": "provider.resources.signing_profile",
    "ProfileRevocation": "provider.resources.signing_profile",
    "CodeSigningConfig": "provider.resources.code_signing_config",
    "CodeSigningConfigArgs": "provider.resources.code_signing_config",
    "SignedPackage": "provider.resources.signed_package",
    "SignedPackageArgs": "provider.resources.signed_package",
    "LambdaFunction": "provider.resources.function",
    "LambdaFunctionArgs": "provider.resources.function",
    "LayerVersion": "provider.resources.layer",
    "LayerVersionArgs": "provider.resources.layer",
    "SignedFunction": "provider.resources.component",
    "SignedFunctionArgs": "provider.resources.component",
}

__all__ = sorted(_RESOURCES)


def __getattr__(name: str) -> Any:
    module = _RESOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'provider' has no attribute {name!r}")
    return getattr(import_module(module), name)
