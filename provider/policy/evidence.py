"""The one place the pack reads beyond resource properties: a local .zip's own signature.

A ``LambdaFunction`` may deploy a .zip that no ``SignedPackage`` of the stack made. Its
facts come from the file (:func:`provider.inspect_package.facts_from_file`) with the trust
records of the function's local keystore (``settings.home``), as the resource's own
``check`` reads them. Without a keystore to ask, what only it knows (the profile version's
key, revocations) is left ``UNKNOWN``, never assumed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from provider.errors import CodesignError
from provider.inspect_package import PublisherRecord, TrustRecords, facts_from_file
from provider.policy.shapes import FunctionView
from provider.policy.wire import field
from provider.verdict import ArtifactFacts, Check


class _NoTrustRecords:
    """Trust records of nobody: every publisher unknown."""

    def publisher(self, profile_version_arn: str) -> PublisherRecord | None:
        return None

    def signature_revocation(self, job_id: str) -> str | None:
        return None


def _keystore_of(function: FunctionView) -> TrustRecords | None:
    settings: Any = field(function.resource.props, "settings")
    if not isinstance(settings, dict) or settings.get("backend", "local") != "local":
        return None
    home = settings.get("home")
    if not isinstance(home, str) or not Path(home).is_dir():
        return None  # opening a keystore that is not there would create one
    from provider.backends.local import LocalBackend

    try:
        return LocalBackend(home, settings.get("region"))
    except CodesignError:
        return None


def file_facts(path: str, function: FunctionView) -> ArtifactFacts:
    """Facts of the .zip at ``path`` deployed by ``function``."""
    everything = frozenset(Check)
    if not Path(path).is_file():
        return ArtifactFacts(name=function.label, unknown=everything)
    trust = _keystore_of(function)
    try:
        facts = facts_from_file(Path(path), trust or _NoTrustRecords(), name=function.label)
    except CodesignError:
        return ArtifactFacts(name=function.label, unknown=everything)
    if trust is None and facts.signed and not facts.integrity_error and not facts.malformed:
        # The signature's own bytes check out; its key and revocations need the keystore.
        return replace(
            facts, publisher_known=True, unknown=facts.unknown | {Check.INTEGRITY, Check.REVOCATION}
        )
    return facts
