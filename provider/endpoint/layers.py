"""Lambda's layer version reads, GetLayerVersion and GetLayerVersionByArn, answered from
moto's layer objects with a ``Content.Location`` this server serves, as Lambda answers
with a presigned URL. (moto has no GetLayerVersionByArn and gives ``s3://`` as the
location, so nothing could download a served layer's content: ``layer adopt`` needs both.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from provider.endpoint.lambda_api import moto_lambda
from provider.endpoint.state import Caller
from provider.errors import NotFoundError

Document = dict[str, Any]
#: Where a layer version's content is downloaded: ``PREFIX/ACCOUNT/REGION/NAME/VERSION``
#: (not a bucket name S3 allows, so no S3 request is taken for it).
CONTENT_PREFIX = "/_sam-ext/layer-content/"


def _moto_layer_version(account: str, region: str, name: str, version: int) -> Any:
    """moto's layer version object, or ResourceNotFoundException naming it."""
    from moto.awslambda.exceptions import UnknownLayerException

    try:
        return moto_lambda(account, region).get_layer_version(name, str(version))
    except (UnknownLayerException, KeyError, ValueError):
        raise NotFoundError(
            f"layer version {name}:{version} does not exist in account {account} ({region})"
        ) from None


def _split_layer(layer: str, caller: Caller) -> tuple[str, str, str]:
    """``(account, region, name)`` of a layer given by name or layer ARN."""
    parts = layer.split(":")
    if layer.startswith("arn:") and len(parts) >= 7 and parts[5] == "layer":
        return parts[4], parts[3], parts[6]
    return caller.account, caller.region, layer


class LayerApi:
    """GetLayerVersion and GetLayerVersionByArn, with downloadable content locations."""

    OPERATIONS = frozenset({"GetLayerVersion", "GetLayerVersionByArn"})

    def handlers(self, base_url: str) -> dict[str, Callable[[Caller, Document], Document]]:
        """The operations' handlers for a request that reached the server at ``base_url``
        (the content location is on the address the client used)."""

        def by_name(caller: Caller, p: Document) -> Document:
            account, region, name = _split_layer(p["LayerName"], caller)
            return self._document(account, region, name, int(p["VersionNumber"]), base_url)

        def by_arn(caller: Caller, p: Document) -> Document:
            parts = p["Arn"].split(":")
            if len(parts) != 8 or not parts[7].isdigit():
                raise NotFoundError(f"layer version {p['Arn']} does not exist")
            return self._document(parts[4], parts[3], parts[6], int(parts[7]), base_url)

        return {"GetLayerVersion": by_name, "GetLayerVersionByArn": by_arn}

    @staticmethod
    def _document(account: str, region: str, name: str, version: int, base_url: str) -> Document:
        found = _moto_layer_version(account, region, name, version)
        document: Document = found.get_layer_version()
        location = f"{CONTENT_PREFIX}{account}/{region}/{quote(name, safe='')}/{version}"
        document["Content"] = {**document["Content"], "Location": base_url + location}
        return document

    @staticmethod
    def content(path: str) -> bytes | None:
        """The zip at a content location's ``path``, or None when there is no such layer
        version (any more)."""
        parts = path[len(CONTENT_PREFIX) :].split("/")
        if len(parts) != 4 or not parts[3].isdigit():
            return None
        account, region, name, version = parts[0], parts[1], unquote(parts[2]), int(parts[3])
        try:
            return bytes(_moto_layer_version(account, region, name, version).code_bytes)
        except NotFoundError:
            return None
