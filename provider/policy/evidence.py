"""The one place the pack reads beyond resource properties: a local .zip's own signature.

A ``LambdaFunction`` (or a layer of one) may deploy a .zip. Its facts come from the file
(:func:`provider.inspect_package.facts_from_file`) with the trust records of the function's
local keystore, found exactly as the resource's own backend finds it
(:func:`provider.resources._base.keystore_home`: ``settings.home``, else
``$CODESIGN_HOME``, else the user data directory). Without a keystore to ask, what only it
knows (the profile version's key, revocations) is left ``UNKNOWN``, never assumed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from provider.errors import CodesignError
from provider.inspect_package import PublisherRecord, TrustRecords, facts_from_file
from provider.resources._base import keystore_home
from provider.resources.judging import FileReader
from provider.verdict import ArtifactFacts, Check


class _NoTrustRecords:
    """Trust records of nobody: every publisher unknown."""

    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        return None

    def signature_revocation(self, job_id: str) -> str | None:
        return None


def _keystore(settings: Any) -> TrustRecords | None:
    if not isinstance(settings, dict) or (settings.get("backend") or "local") != "local":
        return None
    home = keystore_home(settings)
    if not home.is_dir():
        return None  # opening a keystore that is not there would create one
    from provider.backends.local import LocalBackend

    try:
        return LocalBackend(home, settings.get("region"))
    except CodesignError:
        return None


def file_reader(settings: Any) -> FileReader:
    """How to read the .zip files of a resource whose ``settings`` input is ``settings``:
    ``(path, name) -> facts``, or ``None`` when the file cannot be read."""
    trust = _keystore(settings)

    def read(path: Path, name: str) -> ArtifactFacts | None:
        if not path.is_file():
            return None
        try:
            facts = facts_from_file(path, trust or _NoTrustRecords(), name=name)
        except CodesignError:
            return None
        if trust is None and facts.signed and not facts.integrity_error and not facts.malformed:
            # The signature's own bytes check out; its key and revocations need the keystore.
            return replace(
                facts,
                publisher_known=True,
                unknown=facts.unknown | {Check.INTEGRITY, Check.REVOCATION},
            )
        return facts

    return read
