"""The states and kinds of the domain's things, as AWS spells them.

StrEnums: each member equals its string, so a document, a keystore row or a wire format
holds the same text it always did, and code compares against the member, not a literal.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """A signing job's ``status`` (ListSigningJobs' filter lists them in this order)."""

    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"


class ProfileStatus(StrEnum):
    """A signing profile's ``status``: only an ``Active`` profile starts signing jobs."""

    ACTIVE = "Active"
    CANCELED = "Canceled"
    REVOKED = "Revoked"


class ArtifactKind(StrEnum):
    """What a piece of Lambda code is deployed as."""

    FUNCTION = "function"
    LAYER = "layer"
