"""AWS responses as the project's plain documents (the local backend's shapes).

botocore parses Signer's timestamps to ``datetime`` and leaves Lambda's as text such as
``2024-05-01T12:00:00.000+0000``; both become the project's ISO-8601 ``...Z`` instants.
Response metadata is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from provider.backends.base import Document
from provider.clock import format_instant, parse_instant
from provider.verdict import DEFAULT_UNTRUSTED_ARTIFACT_POLICY


def plain(value: Any) -> Any:
    """``value`` with every ``datetime`` formatted and ``ResponseMetadata`` removed."""
    if isinstance(value, datetime):
        return format_instant(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def lambda_instant(text: str, *, field: str = "LastModified") -> str:
    """Lambda's ``...+0000`` timestamp as an ISO-8601 ``...Z`` instant."""
    candidate = text.strip()
    if len(candidate) > 5 and candidate[-5] in "+-" and candidate[-4:].isdigit():
        candidate = f"{candidate[:-2]}:{candidate[-2:]}"
    return format_instant(parse_instant(candidate, field=field))


def document(response: Mapping[str, Any]) -> Document:
    """A response as a plain document."""
    result: Document = plain(response)
    return result


def signing_job(response: Mapping[str, Any]) -> Document:
    """DescribeSigningJob, with ``source``/``signedObject`` as ``{bucketName, key[, version]}``
    (the schemas' objectLocation) rather than Signer's ``{s3: {...}}``."""
    job = document(response)
    for name in ("source", "signedObject"):
        location = job.get(name)
        if isinstance(location, dict) and isinstance(location.get("s3"), dict):
            job[name] = dict(location["s3"])
    job.pop("signingMaterial", None)
    return job


def code_signing_config(config: Mapping[str, Any]) -> Document:
    """A CodeSigningConfig with ``LastModified`` as an instant and defaults filled in."""
    result = document(config)
    if isinstance(result.get("LastModified"), str):
        result["LastModified"] = lambda_instant(result["LastModified"])
    result.setdefault("Description", "")
    policies = result.setdefault("CodeSigningPolicies", {})
    policies.setdefault("UntrustedArtifactOnDeployment", DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value)
    return result


def function_configuration(config: Mapping[str, Any]) -> Document:
    """A function's configuration with ``LastModified`` as an instant."""
    result = document(config)
    if isinstance(result.get("LastModified"), str):
        result["LastModified"] = lambda_instant(result["LastModified"])
    return result
