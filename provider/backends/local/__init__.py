"""The embedded, offline backend: AWS Signer and Lambda played on one machine."""

from __future__ import annotations

import os
import shutil
import weakref
from datetime import datetime
from typing import Any

from provider.arns import REGION_RE, Location
from provider.backends.local.registry import LocalFunctions
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
#: The keystore's tables of records (:mod:`.store`), all emptied by :meth:`LocalBackend.erase`.
_ERASED_TABLES = (
    "profiles",
    "jobs",
    "code_signing_configs",
    "layers",
    "functions",
    "deployments",
    "metrics",
)


class LocalBackend(LocalSigner, LocalFunctions):
    """Signer + Lambda operations on a keystore directory (see :mod:`.store`): the Signer
    part, and the Lambda part made with it as the trust records it judges by."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        region: str | None = None,
        account: str | None = None,
    ) -> None:
        region = region or os.environ.get(REGION_ENV) or DEFAULT_REGION
        if not REGION_RE.match(region):
            raise ValidationError(f"region: {region!r} is not an AWS region name (e.g. us-east-1)")
        store = Keystore(resolve_home(home))
        # ``account``: the endpoint keeps one keystore per caller account.
        location = Location(region, account or LOCAL_ACCOUNT)
        LocalSigner.__init__(self, store, location)
        # The Lambda part judges publishers by this keystore's own Signer part (a weak
        # reference: no cycle, so a dropped backend closes its connections at once).
        LocalFunctions.__init__(self, store, location, trust=weakref.proxy(self))

    def erase(self) -> None:
        """Forget everything this keystore holds: profiles, jobs, code signing configs,
        functions, layers and their records, then the profiles' private keys (the records
        first, in one transaction: an interruption leaves unused key files, never a profile
        without its key). The keystore's own record key stays."""
        with self.store.transaction() as db:
            for table in _ERASED_TABLES:
                db.execute(f"DELETE FROM {table}")
        for folder, files_too in ((self.store.keys_dir, False), (self.store.objects_dir, True)):
            for child in folder.iterdir() if folder.is_dir() else ():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)  # keys/NAME/: one profile's key files
                elif files_too:
                    child.unlink()  # (a link itself, never what it points to)

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
