"""A local function registry that accepts or rejects deployments exactly as Lambda does.

Functions and layer versions take the same inputs as on AWS
(:mod:`provider.backends.function_settings`) and record them, so one program runs on both
backends; code is a local .zip, read once into the keystore (content-addressed) so later
edits to the source do not change what is deployed. Every deployment (CreateFunction,
UpdateFunctionCode, a layer change) is checked under the function's code signing config
with :func:`provider.verdict.decide`, on that copy: the bytes judged are the bytes stored,
even if the source is overwritten meanwhile; a rejection changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from provider.backends.base import Document
from provider.backends.function_settings import (
    Code,
    FunctionSettings,
    LayerSettings,
    check_configuration_update,
    check_function_name,
    check_layer_name,
    check_layers,
    code_sha256,
    parse_layer_version_arn,
    refresh_drift,
)
from provider.backends.local.lambda_ import LocalLambda
from provider.clock import format_instant, parse_instant
from provider.errors import (
    CodesignError,
    ConflictError,
    DeploymentRejected,
    NotFoundError,
    ValidationError,
)
from provider.objects import S3Object
from provider.verdict import SEVERITY, Decision, Verdict


def _digests(path: Path) -> tuple[str, str]:
    """``(SHA-384 hex, Lambda's CodeSha256)`` of a file, read once in blocks."""
    sha384, sha256 = hashlib.sha384(), hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha384.update(block)
            sha256.update(block)
    return sha384.hexdigest(), code_sha256(sha256.digest())


@dataclass(frozen=True)
class _Incoming:
    """A package read once into the keystore's own copy: what is judged and what is stored
    (the source changing meanwhile changes neither)."""

    path: Path
    digest: str
    sha256: str


def _local_code(code: Code, field: str = "code") -> Path:
    """A local .zip; an S3 object is refused with the way forward."""
    if isinstance(code, S3Object) or str(code).startswith("s3:/"):
        uri = code.uri if isinstance(code, S3Object) else str(code)
        raise ValidationError(
            f"{field}: {uri!r} is an S3 object; the local backend deploys local .zip files "
            "(use codesign:backend aws, or --backend aws, for S3 objects)",
            field=field,
        )
    return Path(code)


class LocalFunctions(LocalLambda):
    """Layers and functions in the keystore, verified under their code signing configs."""

    # --- verification -------------------------------------------------------------------
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
        for arn in layers:
            artifacts.append((f"layer {arn}", Path(self._layer_row(arn)["location"])))
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
    @contextmanager
    def _incoming(self, source: Path) -> Iterator[_Incoming]:
        """``source`` read once, in blocks, into a private copy in the keystore, hashed as
        it is read; the copy is gone after the block unless :meth:`_keep` kept it."""
        if not source.is_file():
            raise CodesignError(f"code package {str(source)!r} does not exist or is not a file")
        sha384, sha256 = hashlib.sha384(), hashlib.sha256()
        copy = self.store.objects_dir / f".incoming-{uuid.uuid4().hex}.zip"
        try:
            try:
                with source.open("rb") as reader, copy.open("xb") as writer:
                    for block in iter(lambda: reader.read(1 << 20), b""):
                        sha384.update(block)
                        sha256.update(block)
                        writer.write(block)
            except OSError as exc:
                raise CodesignError(
                    f"code package {str(source)!r} cannot be read: {exc.strerror or exc}"
                ) from None
            yield _Incoming(copy, sha384.hexdigest(), code_sha256(sha256.digest()))
        finally:
            copy.unlink(missing_ok=True)

    def _keep(self, incoming: _Incoming) -> Path:
        """Store a package's copy content-addressed (``objects/<sha384>.zip``)."""
        target = self.store.objects_dir / f"{incoming.digest}.zip"
        if not target.exists():
            incoming.path.replace(target)
        return target

    def _store_object(self, source: Path) -> tuple[Path, str, str]:
        """Copy code into the keystore, content-addressed; returns the copy and its SHA-384
        and CodeSha256 (of the bytes copied, read once)."""
        with self._incoming(source) as incoming:
            return self._keep(incoming), incoming.digest, incoming.sha256

    def _layer_row(self, arn: str, *, live: bool = False) -> sqlite3.Row:
        """A layer version; with ``live``, one that may still be added to a function."""
        with self.store.read() as db:
            row = db.execute("SELECT * FROM layers WHERE arn = ?", (arn,)).fetchone()
        if row is None:
            raise NotFoundError(f"layer version {arn} does not exist")
        if live and row["deleted"]:
            raise NotFoundError(
                f"layer version {arn} was deleted; functions that had it keep it, but no "
                "deployment can add it (publish a new version)"
            )
        return row  # type: ignore[no-any-return]

    def _live_layers(self, layers: Sequence[str]) -> list[str]:
        """Layer version ARNs a deployment may add: well formed, published, not deleted."""
        arns = check_layers(layers)
        for arn in arns:
            self._layer_row(arn, live=True)
        return arns

    def publish_layer_version(
        self,
        layer_name: str,
        content: Code,
        *,
        now: datetime,
        settings: LayerSettings | None = None,
    ) -> Document:
        """PublishLayerVersion. Layers have no CSC; they are checked on the functions using them."""
        check_layer_name(layer_name)
        chosen = settings or LayerSettings()
        location, digest, sha256 = self._store_object(_local_code(content, "content"))
        with self.store.transaction() as db:
            latest = db.execute(
                "SELECT MAX(version) AS v FROM layers WHERE name = ?", (layer_name,)
            ).fetchone()["v"]
            version = (latest or 0) + 1
            base = self.location.function_arn(layer_name).replace(":function:", ":layer:")
            arn = f"{base}:{version}"
            db.execute(
                "INSERT INTO layers (arn, name, version, location, digest, created_at, "
                "settings) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    arn,
                    layer_name,
                    version,
                    str(location),
                    digest,
                    format_instant(now),
                    json.dumps({**chosen.lambda_params(), "CodeSha256": sha256}),
                ),
            )
        return self._layer_document(self._layer_row(arn))

    def _layer_document(self, row: sqlite3.Row) -> Document:
        recorded: dict[str, Any] = json.loads(row["settings"])
        sha256 = recorded.pop("CodeSha256", None)
        # Content.Location: on Lambda a presigned URL of the zip; here, the stored copy.
        content: dict[str, Any] = {"Location": row["location"], "CodeSha384": row["digest"]}
        if sha256:
            content["CodeSha256"] = sha256
        return {
            "LayerVersionArn": row["arn"],
            "Version": row["version"],
            "LayerArn": row["arn"].rsplit(":", 1)[0],
            "Content": content,
            "CreatedDate": row["created_at"],
            **recorded,
        }

    def get_layer_version(self, layer_version_arn: str) -> Document:
        """GetLayerVersionByArn (a deleted version is not found, as on Lambda)."""
        parse_layer_version_arn(layer_version_arn, "layer_version_arn")
        return self._layer_document(self._layer_row(layer_version_arn, live=True))

    def delete_layer_version(self, layer_version_arn: str) -> None:
        """DeleteLayerVersion: functions using it keep their copy; its number is never
        reused; deleting one already gone succeeds (as on Lambda)."""
        parse_layer_version_arn(layer_version_arn, "layer_version_arn")
        with self.store.transaction() as db:
            db.execute("UPDATE layers SET deleted = 1 WHERE arn = ?", (layer_version_arn,))

    def layer_version_code(self, layer_version_arn: str) -> Code | None:
        """The registry's copy of a layer version's content."""
        return Path(self.get_layer_version(layer_version_arn)["Content"]["Location"])

    # --- functions ----------------------------------------------------------------------
    def check_deployable(
        self,
        code: Code | None,
        settings: FunctionSettings | None = None,
        *,
        pending: frozenset[str] = frozenset(),
        field: str = "code",
    ) -> Code | None:
        """A local .zip (or directory, for a layer); an S3 object is refused. Every
        setting is recorded, none is required (nothing runs the function here)."""
        return None if code is None else _local_code(code, field)

    def deployed_code(self, function: Document, code: Code | None) -> Code | None:
        """The registry's copy of what the function runs (``CodeLocation``)."""
        return Path(function["CodeLocation"])

    def _function_row(self, name: str) -> sqlite3.Row:
        check_function_name(name)
        with self.store.read() as db:
            row = db.execute("SELECT * FROM functions WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"function {name!r} does not exist")
        return row  # type: ignore[no-any-return]

    def get_function(self, name: str) -> Document:
        """The registry's record of a function, GetFunction-like (see
        ``schemas/function.schema.json``)."""
        row = self._function_row(name)
        layers = json.loads(row["layers"])
        configuration: dict[str, Any] = json.loads(row["configuration"])
        sha256 = configuration.pop("CodeSha256", None)
        document: Document = {
            "FunctionName": row["name"],
            "FunctionArn": self.location.function_arn(row["name"]),
            **FunctionSettings().with_defaults().to_document(),  # records older than settings
            **configuration,
            "CodeSha384": row["code_digest"],
            "CodeSha256": sha256 or _digests(Path(row["code_location"]))[1],
            "CodeLocation": row["code_location"],
            "Layers": [
                {"Arn": arn, "Location": arn, "CodeSha384": self._layer_row(arn)["digest"]}
                for arn in layers
            ],
            "LastModified": row["last_modified"],
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "Version": "$LATEST",
            "Tags": json.loads(row["tags"]),
            "Warnings": json.loads(row["warnings"]),
        }
        if row["csc_arn"]:
            document["CodeSigningConfigArn"] = row["csc_arn"]
        if row["last_verdict"]:
            document["LastVerdict"] = json.loads(row["last_verdict"])
        return document

    def _published(self, name: str, publish: bool) -> Document:
        """GetFunction, as the published version when this deployment published one."""
        document = self.get_function(name)
        if publish:
            document["Version"] = str(self._function_row(name)["published_version"])
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
            else max((v.decision for v in verdicts), key=SEVERITY.index).value
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
        code: Code,
        *,
        csc_arn: str | None = None,
        layers: Sequence[str] = (),
        now: datetime,
        settings: FunctionSettings | None = None,
    ) -> Document:
        """CreateFunction: verified first; a rejection creates nothing. The settings are
        recorded (a role is optional here: nothing runs the function)."""
        check_function_name(name)
        chosen = (settings or FunctionSettings()).with_defaults()
        package = _local_code(code)
        layer_arns = self._live_layers(layers)
        with self.store.read() as db:
            if db.execute("SELECT 1 FROM functions WHERE name = ?", (name,)).fetchone():
                raise ConflictError(
                    f"function {name!r} already exists", code="ResourceConflictException"
                )
        if csc_arn is not None:
            self._csc_row(csc_arn)
        with self._incoming(package) as incoming:  # judged and stored: the same bytes
            verdicts = self._verify_deployment(name, incoming.path, layer_arns, csc_arn, now)
            location, digest, sha256 = self._keep(incoming), incoming.digest, incoming.sha256
        with self.store.transaction() as db:
            code_verdict, warnings = self._record(db, name, "CreateFunction", now, verdicts)
            db.execute(
                "INSERT INTO functions (name, csc_arn, code_location, code_digest, layers, "
                "last_modified, last_verdict, warnings, configuration, tags, "
                "published_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    csc_arn,
                    str(location),
                    digest,
                    json.dumps(layer_arns),
                    format_instant(now),
                    code_verdict,
                    json.dumps(warnings),
                    json.dumps({**chosen.to_document(), "CodeSha256": sha256}),
                    json.dumps(dict(chosen.tags or {})),
                    1 if chosen.publish else 0,
                ),
            )
        return self._published(name, chosen.publish)

    def update_function_code(
        self,
        name: str,
        code: Code,
        *,
        now: datetime,
        publish: bool = False,
        architectures: Sequence[str] | None = None,
    ) -> Document:
        """UpdateFunctionCode: verified under the function's CSC; a rejection changes nothing."""
        row = self._function_row(name)
        package = _local_code(code)
        configuration = json.loads(row["configuration"])
        if architectures is not None:
            checked = FunctionSettings(architectures=architectures).architectures or ()
            configuration["Architectures"] = list(checked)
        with self._incoming(package) as incoming:  # judged and stored: the same bytes
            verdicts = self._verify_deployment(name, incoming.path, [], row["csc_arn"], now)
            location, digest, sha256 = self._keep(incoming), incoming.digest, incoming.sha256
        configuration["CodeSha256"] = sha256
        with self.store.transaction() as db:
            code_verdict, warnings = self._record(db, name, "UpdateFunctionCode", now, verdicts)
            db.execute(
                "UPDATE functions SET code_location = ?, code_digest = ?, last_modified = ?, "
                "last_verdict = ?, warnings = ?, configuration = ?, "
                "published_version = published_version + ? WHERE name = ?",
                (
                    str(location),
                    digest,
                    format_instant(now),
                    code_verdict,
                    json.dumps(warnings),
                    json.dumps(configuration),
                    1 if publish else 0,
                    name,
                ),
            )
        return self._published(name, publish)

    def update_function_configuration(
        self,
        name: str,
        *,
        layers: Sequence[str] | None = None,
        now: datetime,
        settings: FunctionSettings | None = None,
    ) -> Document:
        """UpdateFunctionConfiguration: the given settings and layers (``None``: unchanged);
        every layer is verified under the CSC, and a rejection changes nothing."""
        row = self._function_row(name)
        given = settings or FunctionSettings()
        check_configuration_update(given)
        configuration = {**json.loads(row["configuration"]), **given.lambda_params()}
        new_layers = json.loads(row["layers"]) if layers is None else self._live_layers(layers)
        verdicts = (
            []
            if layers is None
            else self._verify_deployment(name, None, new_layers, row["csc_arn"], now)
        )
        tags = json.loads(row["tags"]) if given.tags is None else dict(given.tags)
        with self.store.transaction() as db:
            _, warnings = self._record(db, name, "UpdateFunctionConfiguration", now, verdicts)
            db.execute(
                "UPDATE functions SET layers = ?, last_modified = ?, warnings = ?, "
                "configuration = ?, tags = ? WHERE name = ?",
                (
                    json.dumps(new_layers),
                    format_instant(now),
                    json.dumps(warnings),
                    json.dumps(configuration),
                    json.dumps(tags),
                    name,
                ),
            )
        return self.get_function(name)

    def function_drift(
        self,
        name: str,
        *,
        csc_arn: str | None,
        code: Code | None,
        settings: FunctionSettings | None = None,
        at: datetime | None = None,
    ) -> list[str]:
        """What changed out of band since the deploy (see
        :func:`provider.backends.function_settings.drift`); with ``at``, also the standing of
        ``code`` under ``csc_arn`` then (a signature expired or revoked since)."""
        deployed = self.get_function(name)
        package = _local_code(code) if code is not None else None
        sha = _digests(package)[1] if package is not None else None
        return refresh_drift(
            self,
            deployed,
            name,
            csc_arn=csc_arn,
            code=package,
            code_sha256=sha,
            settings=settings,
            at=at,
        )

    def delete_function(self, name: str) -> None:
        """DeleteFunction."""
        self._function_row(name)
        with self.store.transaction() as db:
            db.execute("DELETE FROM functions WHERE name = ?", (name,))

    # --- functions' code signing configs ------------------------------------------------
    def put_function_code_signing_config(self, name: str, csc_arn: str) -> Document:
        """PutFunctionCodeSigningConfig: affects only the function's next deployments."""
        self._function_row(name)
        self._csc_row(csc_arn)
        with self.store.transaction() as db:
            db.execute("UPDATE functions SET csc_arn = ? WHERE name = ?", (csc_arn, name))
        return {"CodeSigningConfigArn": csc_arn, "FunctionName": name}

    def get_function_code_signing_config(self, name: str) -> Document:
        """GetFunctionCodeSigningConfig (``CodeSigningConfigArn`` is ``""`` when none)."""
        row = self._function_row(name)
        return {"CodeSigningConfigArn": row["csc_arn"] or "", "FunctionName": name}

    def delete_function_code_signing_config(self, name: str) -> None:
        """DeleteFunctionCodeSigningConfig."""
        self._function_row(name)
        with self.store.transaction() as db:
            db.execute("UPDATE functions SET csc_arn = NULL WHERE name = ?", (name,))

    def get_metric_statistics(
        self,
        metric_name: str,
        *,
        function_name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        period: int | None = None,
    ) -> Document:
        """GetMetricStatistics (namespace ``AWS/Lambda``) over the registry's metrics: the
        data points of ``metric_name`` (of one function, else of all) from ``start``
        (inclusive) to ``end`` (exclusive), summed per ``period`` seconds counted from
        ``start`` (else from the first point; no period: one sum over the whole range).
        As CloudWatch, periods with no data point are left out."""
        if function_name is not None:
            check_function_name(function_name)
        if period is not None and period < 1:
            raise ValidationError(f"Period: {period} must be at least 1 second", field="Period")
        if start is not None and end is not None and start >= end:
            raise ValidationError("StartTime: must be earlier than EndTime", field="StartTime")
        query = "SELECT at FROM metrics WHERE name = ?"
        params: list[str] = [metric_name]
        if function_name is not None:
            query += " AND function_name = ?"
            params.append(function_name)
        with self.store.read() as db:
            recorded = [parse_instant(r["at"], field="at") for r in db.execute(query, params)]
        points = sorted(
            t for t in recorded if (start is None or t >= start) and (end is None or t < end)
        )
        sums: dict[datetime, int] = {}
        if points:
            origin = start or points[0]
            for t in points:
                index = 0 if period is None else int((t - origin).total_seconds() // period)
                bucket = origin + timedelta(seconds=index * (period or 0))
                sums[bucket] = sums.get(bucket, 0) + 1
        return {
            "Label": metric_name,
            "Datapoints": [
                {"Timestamp": format_instant(t), "SampleCount": n, "Sum": n, "Unit": "Count"}
                for t, n in sorted(sums.items())
            ],
        }

    def metric_count(self, name: str, function: str | None = None) -> int:
        """How many data points a metric (e.g. ``SignatureValidationErrors``) has."""
        query = "SELECT COUNT(*) AS n FROM metrics WHERE name = ?"
        params: tuple[str, ...] = (name,)
        if function is not None:
            query += " AND function_name = ?"
            params = (name, function)
        with self.store.read() as db:
            return int(db.execute(query, params).fetchone()["n"])
