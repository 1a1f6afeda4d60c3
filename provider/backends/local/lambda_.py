"""Lambda's code signing configs and the verdict of a package, on the local keystore (the
function registry that enforces them: :mod:`.registry`)."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from provider.arns import Location, check_csc_arn, new_csc_id
from provider.backends.base import (
    Document,
    csc_request,
    csc_update_request,
)
from provider.backends.local.store import Keystore
from provider.backends.values import CodeSigningConfig, SigningJob
from provider.clock import format_instant
from provider.errors import (
    CodesignError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from provider.inspect_package import TrustRecords, facts_from_file
from provider.objects import S3Object
from provider.verdict import (
    DEFAULT_UNTRUSTED_ARTIFACT_POLICY,
    ArtifactFacts,
    Check,
    CscPolicy,
    Verdict,
    decide,
)

if TYPE_CHECKING:
    from provider.trust import TrustFile


class LocalLambda:
    """Code signing configs, layers and functions in a :class:`Keystore`, judging
    publishers by ``trust`` (the keystore's Signer part: its profiles and revocations)."""

    #: A verified trust file whose records answer before the keystore's (``sam-ext deploy
    #: --trust-file``): publishers exported from another keystore.
    trust_file: TrustFile | None = None
    #: How the front end that opened this backend has its user choose the aws one, for
    #: messages that send S3 objects there (Pulumi's stack config by default; the CLI sets
    #: ``--backend aws``, the cfn-lint pack ``SAM_EXT_BACKEND=aws``).
    aws_backend_hint: str = "codesign:backend aws"

    def __init__(self, store: Keystore, location: Location, *, trust: TrustRecords) -> None:
        self.store = store
        self.location = location
        self.trust = trust

    def _trust(self) -> TrustRecords:
        return self.trust if self.trust_file is None else self.trust_file.over(self.trust)

    # --- code signing configs -----------------------------------------------------------
    @staticmethod
    def _csc_document(row: sqlite3.Row) -> Document:
        return {
            "CodeSigningConfig": {
                "CodeSigningConfigId": row["id"],
                "CodeSigningConfigArn": row["arn"],
                "Description": row["description"],
                "AllowedPublishers": {"SigningProfileVersionArns": json.loads(row["allowed"])},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": row["policy"]},
                "LastModified": row["last_modified"],
            }
        }

    def _csc_row(self, arn: str) -> sqlite3.Row:
        check_csc_arn(arn)
        with self.store.read() as db:
            row = db.execute("SELECT * FROM code_signing_configs WHERE arn = ?", (arn,)).fetchone()
        if row is None:
            raise NotFoundError(f"code signing config {arn} does not exist")
        return row  # type: ignore[no-any-return]

    def create_code_signing_config(
        self,
        allowed: Sequence[str],
        *,
        policy: str | None = None,
        description: str | None = None,
        now: datetime,
    ) -> Document:
        """CreateCodeSigningConfig (policy defaults to ``Warn``)."""
        csc_request(allowed, policy, description)
        csc_id = new_csc_id()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO code_signing_configs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    csc_id,
                    self.location.csc_arn(csc_id),
                    description or "",
                    json.dumps(list(allowed)),
                    policy or DEFAULT_UNTRUSTED_ARTIFACT_POLICY.value,
                    format_instant(now),
                ),
            )
        return self.get_code_signing_config(self.location.csc_arn(csc_id))

    def code_signing_config(self, arn: str) -> CodeSigningConfig:
        """GetCodeSigningConfig, as a :class:`CodeSigningConfig`."""
        return CodeSigningConfig.from_document(self.get_code_signing_config(arn))

    def get_code_signing_config(self, arn: str) -> Document:
        """GetCodeSigningConfig."""
        return self._csc_document(self._csc_row(arn))

    def update_code_signing_config(
        self,
        arn: str,
        *,
        allowed: Sequence[str] | None = None,
        policy: str | None = None,
        description: str | None = None,
        now: datetime,
    ) -> Document:
        """UpdateCodeSigningConfig. Deployed code is not re-checked until its next deploy."""
        current = self.get_code_signing_config(arn)["CodeSigningConfig"]
        merged = csc_update_request(current, allowed, policy, description)
        new_allowed = merged["AllowedPublishers"]["SigningProfileVersionArns"]
        new_policy = merged["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"]
        new_description = merged["Description"]
        with self.store.transaction() as db:
            db.execute(
                "UPDATE code_signing_configs SET allowed = ?, policy = ?, description = ?, "
                "last_modified = ? WHERE arn = ?",
                (json.dumps(new_allowed), new_policy, new_description, format_instant(now), arn),
            )
        return self.get_code_signing_config(arn)

    def delete_code_signing_config(self, arn: str) -> None:
        """DeleteCodeSigningConfig: refused while any function uses it."""
        self._csc_row(arn)
        with self.store.transaction() as db:
            users = [
                r["name"]
                for r in db.execute(
                    "SELECT name FROM functions WHERE csc_arn = ? ORDER BY name", (arn,)
                )
            ]
            if users:
                raise ConflictError(
                    f"code signing config {arn} is used by function(s) {', '.join(users)}; "
                    "detach it first: remove CodeSigningConfigArn from those functions in "
                    "their template and run sam-ext deploy again (for a Pulumi LambdaFunction, "
                    "remove code_signing_config and run pulumi up)",
                    code="ResourceConflictException",
                )
            db.execute("DELETE FROM code_signing_configs WHERE arn = ?", (arn,))

    def list_code_signing_configs(self) -> Document:
        """ListCodeSigningConfigs."""
        with self.store.read() as db:
            rows = db.execute("SELECT * FROM code_signing_configs ORDER BY id").fetchall()
        return {
            "CodeSigningConfigs": [self._csc_document(row)["CodeSigningConfig"] for row in rows]
        }

    def csc_policy_of(self, arn: str) -> CscPolicy:
        """The verdict inputs of a stored CSC."""
        return replace(
            self.code_signing_config(arn).policy, arn=arn
        )  # named as the caller named it

    # --- verification -------------------------------------------------------------------
    def package_facts(
        self, code: Path | str | S3Object, *, name: str | None = None
    ) -> ArtifactFacts:
        """What the checks read of the local .zip ``code`` (an S3 object is refused)."""
        if isinstance(code, S3Object) or str(code).startswith("s3:/"):
            uri = code.uri if isinstance(code, S3Object) else str(code)
            raise ValidationError(
                f"package: {uri!r} is an S3 object; the local backend verifies local "
                f".zip files (use {self.aws_backend_hint} for S3 objects)"
            )
        facts = facts_from_file(Path(code), self._trust(), name=name)
        if self.trust_file is not None:
            facts = self.trust_file.annotate(facts)
        return self._revocation_unreadable(facts)

    def _revocation_unreadable(self, facts: ArtifactFacts) -> ArtifactFacts:
        """``facts`` with the revocation check left undecided when this keystore vouched
        for the signer but holds no record of the signing job (deleted, or never here):
        whether that signature was revoked cannot be read, as on AWS when
        DescribeSigningJob cannot (:func:`provider.deployed.facts_of_deployed`)."""
        if (
            not facts.signed
            or facts.job_id is None
            or facts.integrity_error is not None
            or not facts.publisher_known
            or facts.trust_as_of is not None  # a trust file vouched: it lists revocations
            or facts.signature_revoked_reason is not None
        ):
            return facts
        with self.store.read() as db:
            row = db.execute("SELECT 1 FROM jobs WHERE job_id = ?", (facts.job_id,)).fetchone()
        if row is not None:
            return facts
        return replace(
            facts,
            unknown=facts.unknown | {Check.REVOCATION},
            undecided=f"signing job {facts.job_id} cannot be read (this keystore holds no "
            "record of it), so whether its signature was revoked cannot be read",
        )

    def signed_sha256(self, job: SigningJob) -> str | None:
        """The base64 SHA-256 of the file ``job`` wrote (``None``: none, or unreadable)."""
        path = job.signed_object.path if job.signed_object is not None else None
        if path is None:
            return None
        try:
            return base64.b64encode(hashlib.sha256(Path(path).read_bytes()).digest()).decode()
        except OSError:
            return None

    def code_exists(self, code: Path | str | S3Object) -> bool:
        """Whether the local file ``code`` exists (an S3 object is not the local
        backend's: never)."""
        return not isinstance(code, S3Object) and Path(code).is_file()

    def evaluate_package(
        self,
        package: Path | str | S3Object,
        csc: CscPolicy,
        *,
        at: datetime,
        name: str | None = None,
    ) -> Verdict:
        """The verdict Lambda would give the local .zip ``package`` under ``csc`` at ``at``
        (an S3 object is refused)."""
        return decide(self.package_facts(package, name=name), csc, at)

    def newest_signature(self, destination: str, prefix: str) -> tuple[Path, ArtifactFacts] | None:
        """The newest signed .zip named ``prefix*.zip`` in the directory ``destination``
        (by its envelope's signing instant), and its facts; files that are not signed
        packages are passed over."""
        found: list[tuple[Path, ArtifactFacts]] = []
        for path in Path(destination).glob(f"{prefix}*.zip"):
            try:
                facts = self.package_facts(path)
            except CodesignError:
                continue
            if facts.signed and facts.signed_at is not None:
                found.append((path, facts))
        return max(found, key=lambda f: f[1].signed_at or datetime.min) if found else None
