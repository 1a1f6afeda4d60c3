"""Lambda's code signing operations and a local function registry that enforces like Lambda."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from provider.arns import FUNCTION_NAME_RE, Location, check_csc_arn, new_csc_id
from provider.backends.base import Document, csc_request, policy_of_config
from provider.backends.local.store import Keystore
from provider.clock import format_instant
from provider.errors import (
    CodesignError,
    ConflictError,
    DeploymentRejected,
    NotFoundError,
    ValidationError,
)
from provider.inspect_package import TrustRecords, facts_from_file
from provider.verdict import CscPolicy, Decision, Verdict, decide


def _file_sha384(path: Path) -> str:
    hasher = hashlib.sha384()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _check_function_name(name: str) -> str:
    if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
        raise ValidationError(f"FunctionName: {name!r} must be 1 to 64 letters, digits, '-' or '_'")
    return name


class LocalLambda:
    """Code signing configs, layers and functions in a :class:`Keystore`."""

    store: Keystore
    location: Location

    def _trust(self) -> TrustRecords:
        return self  # type: ignore[return-value]  # LocalBackend mixes in LocalSigner

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
                    policy or "Warn",
                    format_instant(now),
                ),
            )
        return self.get_code_signing_config(self.location.csc_arn(csc_id))

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
        new_allowed = (
            list(allowed)
            if allowed is not None
            else (current["AllowedPublishers"]["SigningProfileVersionArns"])
        )
        new_policy = (
            policy
            if policy is not None
            else current["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"]
        )
        new_description = description if description is not None else current["Description"]
        csc_request(new_allowed, new_policy, new_description)
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
                    "detach it (delete-function-code-signing-config) or delete them first",
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
        return policy_of_config(self.get_code_signing_config(arn)["CodeSigningConfig"], arn)

    # --- verification -------------------------------------------------------------------
    def evaluate_package(
        self, package: Path | str, csc: CscPolicy, *, at: datetime, name: str | None = None
    ) -> Verdict:
        """The verdict Lambda would give the local .zip ``package`` under ``csc`` at ``at``."""
        if isinstance(package, str) and package.startswith("s3:/"):
            raise ValidationError(
                f"package: {package!r} is an S3 object; the local backend verifies local "
                ".zip files (use --backend aws, or codesign:backend aws, for S3 objects)"
            )
        return decide(facts_from_file(Path(package), self._trust(), name=name), csc, at)

    def _verify_deployment(
        self,
        function: str,
        code: Path | None,
        layers: Sequence[str],
        csc_arn: str | None,
        at: datetime,
    ) -> list[Verdict]:
        """Check code and every layer as Lambda does; raise on a rejection."""
        if csc_arn is None:
            return []
        csc = self.csc_policy_of(csc_arn)
        artifacts: list[tuple[str, Path]] = []
        if code is not None:
            artifacts.append((f"function {function}", code))
        for layer_arn in layers:
            artifacts.append((f"layer {layer_arn}", Path(self._layer_row(layer_arn)["location"])))
        verdicts = [
            self.evaluate_package(path, csc, at=at, name=label) for label, path in artifacts
        ]
        rejected = [v for v in verdicts if v.decision is Decision.REJECT]
        if rejected:
            first = rejected[0]
            raise DeploymentRejected(
                f"deployment of function {function!r} rejected by code signing config "
                f"{csc_arn} ({csc.policy}): "
                + "; ".join(v.message for v in rejected)
                + ". Remedy: "
                + " ".join(dict.fromkeys(f.remedy for v in rejected for f in v.failed)),
                code=first.exception or "CodeVerificationFailedException",
                verdict=first,
            )
        return verdicts

    # --- layers -------------------------------------------------------------------------
    def _store_object(self, source: Path) -> tuple[Path, str]:
        """Copy deployed code into the keystore, content-addressed, so later edits to the
        source file do not change what is deployed."""
        if not source.is_file():
            raise CodesignError(f"code package {str(source)!r} does not exist or is not a file")
        digest = _file_sha384(source)
        target = self.store.objects_dir / f"{digest}.zip"
        if not target.exists():
            temporary = target.with_name(f".{target.name}.tmp")
            import shutil

            shutil.copyfile(source, temporary)
            temporary.replace(target)
        return target, digest

    def _layer_row(self, arn: str) -> sqlite3.Row:
        with self.store.read() as db:
            row = db.execute("SELECT * FROM layers WHERE arn = ?", (arn,)).fetchone()
        if row is None:
            raise NotFoundError(f"layer version {arn} does not exist")
        return row  # type: ignore[no-any-return]

    def publish_layer_version(self, layer_name: str, content: Path, *, now: datetime) -> Document:
        """PublishLayerVersion. Layers have no CSC; they are checked on the functions using them."""
        _check_function_name(layer_name)
        location, digest = self._store_object(content)
        with self.store.transaction() as db:
            latest = db.execute(
                "SELECT MAX(version) AS v FROM layers WHERE name = ?", (layer_name,)
            ).fetchone()["v"]
            version = (latest or 0) + 1
            base = self.location.function_arn(layer_name).replace(":function:", ":layer:")
            arn = f"{base}:{version}"
            db.execute(
                "INSERT INTO layers VALUES (?, ?, ?, ?, ?, ?)",
                (arn, layer_name, version, str(location), digest, format_instant(now)),
            )
        return {
            "LayerVersionArn": arn,
            "Version": version,
            "LayerArn": base,
            "Content": {"CodeSha384": digest},
            "CreatedDate": format_instant(now),
        }

    # --- functions ----------------------------------------------------------------------
    def _function_row(self, name: str) -> sqlite3.Row:
        _check_function_name(name)
        with self.store.read() as db:
            row = db.execute("SELECT * FROM functions WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"function {name!r} does not exist")
        return row  # type: ignore[no-any-return]

    def get_function(self, name: str) -> Document:
        """The registry's record of a function (see ``schemas/function.schema.json``)."""
        row = self._function_row(name)
        layers = json.loads(row["layers"])
        document: Document = {
            "FunctionName": row["name"],
            "FunctionArn": self.location.function_arn(row["name"]),
            "CodeSha384": row["code_digest"],
            "CodeLocation": row["code_location"],
            "Layers": [
                {"Location": arn, "CodeSha384": self._layer_row(arn)["digest"]} for arn in layers
            ],
            "LastModified": row["last_modified"],
            "Warnings": json.loads(row["warnings"]),
        }
        if row["csc_arn"]:
            document["CodeSigningConfigArn"] = row["csc_arn"]
        if row["last_verdict"]:
            document["LastVerdict"] = json.loads(row["last_verdict"])
        return document

    def functions_using(self, csc_arn: str) -> list[tuple[str, Path]]:
        """``(function name, deployed code)`` of every function attached to a CSC."""
        with self.store.read() as db:
            rows = db.execute(
                "SELECT name, code_location FROM functions WHERE csc_arn = ? ORDER BY name",
                (csc_arn,),
            ).fetchall()
        return [(row["name"], Path(row["code_location"])) for row in rows]

    def list_functions(self) -> Document:
        """ListFunctions."""
        with self.store.read() as db:
            names = [r["name"] for r in db.execute("SELECT name FROM functions ORDER BY name")]
        return {"Functions": [self.get_function(name) for name in names]}

    def _record(
        self,
        db: sqlite3.Connection,
        function: str,
        operation: str,
        now: datetime,
        verdicts: list[Verdict],
    ) -> tuple[str | None, list[str]]:
        """Log the deployment; a Warn deployment counts a SignatureValidationErrors metric."""
        decision = (
            "UNCHECKED"
            if not verdicts
            else max((v.decision.value for v in verdicts), key=["ALLOW", "WARN", "REJECT"].index)
        )
        summary = json.dumps([v.to_document() for v in verdicts]) if verdicts else None
        db.execute(
            "INSERT INTO deployments (function_name, operation, at, decision, verdict) "
            "VALUES (?, ?, ?, ?, ?)",
            (function, operation, format_instant(now), decision, summary),
        )
        warnings = [v.message for v in verdicts if v.decision is Decision.WARN]
        for _ in warnings:
            db.execute(
                "INSERT INTO metrics (name, function_name, at) VALUES (?, ?, ?)",
                ("SignatureValidationErrors", function, format_instant(now)),
            )
        code_verdict = json.dumps(verdicts[0].to_document()) if verdicts else None
        return code_verdict, warnings

    def create_function(
        self,
        name: str,
        code: Path,
        *,
        csc_arn: str | None = None,
        layers: Sequence[str] = (),
        now: datetime,
    ) -> Document:
        """CreateFunction: verified first; a rejection creates nothing."""
        _check_function_name(name)
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM functions WHERE name = ?", (name,)).fetchone():
                raise ConflictError(
                    f"function {name!r} already exists", code="ResourceConflictException"
                )
        if csc_arn is not None:
            self._csc_row(csc_arn)
        verdicts = self._verify_deployment(name, code, layers, csc_arn, now)
        location, digest = self._store_object(code)
        with self.store.transaction() as db:
            code_verdict, warnings = self._record(db, name, "CreateFunction", now, verdicts)
            db.execute(
                "INSERT INTO functions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    csc_arn,
                    str(location),
                    digest,
                    json.dumps(list(layers)),
                    format_instant(now),
                    code_verdict,
                    json.dumps(warnings),
                ),
            )
        return self.get_function(name)

    def update_function_code(self, name: str, code: Path, *, now: datetime) -> Document:
        """UpdateFunctionCode: verified under the function's CSC; a rejection changes nothing."""
        row = self._function_row(name)
        verdicts = self._verify_deployment(name, code, [], row["csc_arn"], now)
        location, digest = self._store_object(code)
        with self.store.transaction() as db:
            code_verdict, warnings = self._record(db, name, "UpdateFunctionCode", now, verdicts)
            db.execute(
                "UPDATE functions SET code_location = ?, code_digest = ?, last_modified = ?, "
                "last_verdict = ?, warnings = ? WHERE name = ?",
                (
                    str(location),
                    digest,
                    format_instant(now),
                    code_verdict,
                    json.dumps(warnings),
                    name,
                ),
            )
        return self.get_function(name)

    def update_function_configuration(
        self, name: str, *, layers: Sequence[str], now: datetime
    ) -> Document:
        """UpdateFunctionConfiguration (layers): every layer is verified under the CSC."""
        row = self._function_row(name)
        verdicts = self._verify_deployment(name, None, layers, row["csc_arn"], now)
        with self.store.transaction() as db:
            _, warnings = self._record(db, name, "UpdateFunctionConfiguration", now, verdicts)
            db.execute(
                "UPDATE functions SET layers = ?, last_modified = ?, warnings = ? WHERE name = ?",
                (json.dumps(list(layers)), format_instant(now), json.dumps(warnings), name),
            )
        return self.get_function(name)

    def delete_function(self, name: str) -> None:
        """DeleteFunction."""
        self._function_row(name)
        with self.store.transaction() as db:
            db.execute("DELETE FROM functions WHERE name = ?", (name,))

    def put_function_code_signing_config(self, name: str, csc_arn: str) -> Document:
        """PutFunctionCodeSigningConfig: affects only the function's next deployments."""
        self._function_row(name)
        self._csc_row(csc_arn)
        with self.store.transaction() as db:
            db.execute("UPDATE functions SET csc_arn = ? WHERE name = ?", (csc_arn, name))
        return {"CodeSigningConfigArn": csc_arn, "FunctionName": name}

    def get_function_code_signing_config(self, name: str) -> Document:
        """GetFunctionCodeSigningConfig."""
        row = self._function_row(name)
        return {"CodeSigningConfigArn": row["csc_arn"] or "", "FunctionName": name}

    def delete_function_code_signing_config(self, name: str) -> None:
        """DeleteFunctionCodeSigningConfig."""
        self._function_row(name)
        with self.store.transaction() as db:
            db.execute("UPDATE functions SET csc_arn = NULL WHERE name = ?", (name,))

    def metric_count(self, name: str, function: str | None = None) -> int:
        """How many data points a metric (e.g. ``SignatureValidationErrors``) has."""
        query = "SELECT COUNT(*) AS n FROM metrics WHERE name = ?"
        params: tuple[str, ...] = (name,)
        if function is not None:
            query += " AND function_name = ?"
            params = (name, function)
        with self.store.transaction() as db:
            return int(db.execute(query, params).fetchone()["n"])
