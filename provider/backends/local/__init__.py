"""The embedded, offline backend: AWS Signer and Lambda played on one machine."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from provider.arns import REGION_RE, Location
from provider.backends.local.functions import LocalFunctions
from provider.backends.local.signer import LocalSigner
from provider.backends.local.store import (
    DEFAULT_REGION,
    LOCAL_ACCOUNT,
    REGION_ENV,
    Keystore,
    resolve_home,
)
from provider.errors import ValidationError

__all__ = ["LocalBackend"]


class LocalBackend(LocalSigner, LocalFunctions):
    """Signer + Lambda operations on a keystore directory (see :mod:`.store`)."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        region: str | None = None,
        account: str | None = None,
    ) -> None:
        region = region or os.environ.get(REGION_ENV) or DEFAULT_REGION
        if not REGION_RE.match(region):
            raise ValidationError(f"region: {region!r} is not an AWS region name (e.g. us-east-1)")
        self.store = Keystore(resolve_home(home))
        # ``account``: the endpoint keeps one keystore per caller account.
        self.location = Location(region, account or LOCAL_ACCOUNT)

    def adopt_layer(
        self,
        source: str,
        profile_name: str,
        *,
        layer_name: str | None,
        now: datetime,
        destination: str | None = None,
    ) -> dict[str, Any]:
        """Sign a third-party layer's .zip (``source``) unchanged and publish it here (see
        :mod:`.adopt`); ``destination`` means nothing locally and must be ``None``."""
        from provider.backends.local.adopt import adopt_layer

        if destination is not None:
            raise ValidationError(
                "--s3-bucket: the local backend keeps adopted layers in the keystore; "
                "S3 destinations are for --backend aws"
            )
        return adopt_layer(self, source, profile_name, layer_name=layer_name, now=now)
