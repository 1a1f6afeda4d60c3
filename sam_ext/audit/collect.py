"""Read an account for the audit: every function of each region, each layer version it
uses, the code signing configs, and the signing jobs and profiles behind them.

Reads only: nothing here creates, changes or deletes anything. Each signing job, profile
and config is read once per audit (:class:`CachedReads`, the typed reads of the Signer and
Lambda parts behind the audit's :class:`provider.lookups.Lookups`, also the scope the
backend's own look-ups read through in the workers); functions are read concurrently on
the project's one pool (:func:`provider.workers.run_all`), at most ``workers`` at once.
An error reading one function (access denied, throttling after botocore's retries, a
missing object) becomes that function's ``ERROR`` standing and the audit goes on; an
error listing a region becomes a :class:`~sam_ext.audit.report.RegionError`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from provider.arns import Location, parse_profile_version_arn
from provider.backends.function_settings import code_sha256
from provider.backends.values import CodeSigningConfig, SigningJob, SigningProfile
from provider.clock import utcnow
from provider.errors import CodesignError, KeystoreError
from provider.lookups import Lookups, carried, lookup_scope
from provider.verdict import ArtifactFacts, Check, Policy
from provider.workers import run_all
from sam_ext.audit.judge import (
    DeployedFacts,
    FunctionRead,
    error_function,
    judge_config,
    judge_function,
)
from sam_ext.audit.report import (
    ArtifactKindName,
    AuditReport,
    ConfigAudit,
    FunctionAudit,
    PublisherStatus,
    RegionError,
)

if TYPE_CHECKING:
    from provider.backends.aws import AwsBackend
    from provider.backends.base import Backend, SignerPart
    from provider.backends.local import LocalBackend
    from provider.deployed import DeployedArtifact

Document = dict[str, Any]
#: The CloudWatch metric Lambda counts a Warn deploy's findings in.
SIGNATURE_METRIC = "SignatureValidationErrors"
#: How far back CloudWatch is asked for that metric (its retention of daily points).
METRIC_LOOKBACK = timedelta(days=455)
#: Functions read at once per audit.
DEFAULT_WORKERS = 8


def _said(error: BaseException) -> str:
    """An error as the report says it: ``Code: message`` on one line."""
    if isinstance(error, CodesignError):
        return " ".join(str(error).split())
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


class CachedReads:
    """The typed reads of a backend (``signing_job``, ``signing_profile``,
    ``code_signing_config``), each key read once for the whole audit, also when several
    workers ask for it at once (:class:`provider.lookups.Lookups`: the first reads, the
    others wait for its answer, an error included). Anything else is the backend's own.
    ``calls`` counts the reads made."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        #: The audit's look-ups (also the scope the facts code reads through during it).
        self.lookups = Lookups()
        self.calls: Counter[str] = self.lookups.calls

    @property
    def location(self) -> Location:
        return self.backend.location

    def _once(self, key: tuple[str, ...], read: Callable[[], Any]) -> Any:
        return self.lookups.once(key, read)

    def signing_job(self, job_id: str) -> SigningJob:
        """DescribeSigningJob, once per job."""
        return cast(
            SigningJob,
            self._once(("signing_job", job_id), lambda: self.backend.signing_job(job_id)),
        )

    def signing_profile(
        self, profile_name: str, *, profile_owner: str | None = None
    ) -> SigningProfile:
        """GetSigningProfile, once per profile."""
        return cast(
            SigningProfile,
            self._once(
                ("signing_profile", profile_name, profile_owner or ""),
                lambda: self.backend.signing_profile(profile_name, profile_owner=profile_owner),
            ),
        )

    def code_signing_config(self, arn: str) -> CodeSigningConfig:
        """GetCodeSigningConfig, once per config (none for a config listed already)."""
        return cast(
            CodeSigningConfig,
            self._once(("code_signing_config", arn), lambda: self.backend.code_signing_config(arn)),
        )

    def signed_sha256(self, job: SigningJob) -> str | None:
        """The SHA-256 of the object ``job`` signed (the backend's ``signed_sha256``),
        once per job."""
        read = self.backend.signed_sha256
        return cast("str | None", self._once(("signed_sha256", job.job_id), lambda: read(job)))

    def listed(self, config: CodeSigningConfig) -> None:
        """Keep a config ListCodeSigningConfigs returned: no GetCodeSigningConfig for it."""
        self.lookups.keep(("code_signing_config", config.arn), config)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def as_signer(self) -> SignerPart:
        """This cache where a :class:`~provider.backends.base.SignerPart` is taken (its
        typed reads cached, the rest the backend's)."""
        return cast("SignerPart", self)

    def publisher_status(self, profile_version_arn: str) -> PublisherStatus:
        """The status of the signing profile a config's publisher belongs to."""
        try:
            ref = parse_profile_version_arn(profile_version_arn)
            owner = ref.account if ref.account != self.location.account else None
            return PublisherStatus(self.signing_profile(ref.name, profile_owner=owner).status)
        except CodesignError:
            return PublisherStatus.UNKNOWN


class RegionReader(Protocol):
    """What the audit reads of one region, as a backend reads it."""

    region: str
    reads: CachedReads

    def functions(self) -> list[Mapping[str, Any]]:
        """Every function's configuration (ListFunctions, every page)."""

    def configs(self) -> list[CodeSigningConfig]:
        """Every code signing config (ListCodeSigningConfigs)."""

    def read_function(self, configuration: Mapping[str, Any]) -> FunctionRead:
        """What the checks need of one function."""


def _config_of(reads: CachedReads, arn: str | None) -> CodeSigningConfig | None:
    return reads.code_signing_config(arn) if arn else None


def _job_arn(location: Location, facts: ArtifactFacts) -> str | None:
    """The signing job's ARN, as Lambda names it (the profile version's account)."""
    if facts.job_id is None or facts.profile_version_arn is None:
        return None
    prefix = facts.profile_version_arn.split(":/signing-profiles/", 1)[0]
    return f"{prefix}:/signing-jobs/{facts.job_id}"


def _unreadable(name: str, why: str) -> ArtifactFacts:
    return ArtifactFacts(name=name, unknown=frozenset(Check), undecided=why)


class LocalReader:
    """One region of the local backend: the registry's functions and their stored code,
    read from the bytes (the envelope) and the keystore's trust records, as the local
    backend's deploys judge them."""

    def __init__(self, backend: LocalBackend, reads: CachedReads) -> None:
        self.backend = backend
        self.reads = reads
        self.region = backend.location.region

    def functions(self) -> list[Mapping[str, Any]]:
        self.reads.calls["list_functions"] += 1
        return list(self.backend.list_functions()["Functions"])

    def configs(self) -> list[CodeSigningConfig]:
        self.reads.calls["list_code_signing_configs"] += 1
        listed = self.backend.list_code_signing_configs()["CodeSigningConfigs"]
        return [CodeSigningConfig.from_document(c) for c in listed]

    def _artifact(
        self, kind: ArtifactKindName, arn: str, name: str, path: Path | None, recorded: str | None
    ) -> DeployedFacts:
        if path is None or not path.is_file():
            if kind is ArtifactKindName.CODE:
                raise KeystoreError(f"{name}: its deployed code's stored copy {path} is missing")
            # a layer version deleted since: the function keeps a copy this cannot read
            facts = _unreadable(name, "the layer version was deleted; its copy cannot be read")
            return DeployedFacts(kind, arn, facts, code_sha256=recorded)
        facts = self.backend.package_facts(path, name=name)
        actual = code_sha256(hashlib.sha256(path.read_bytes()).digest())
        matches = None if not facts.signed or recorded is None else actual == recorded
        if matches is not None and facts.integrity_error is not None:
            matches = False
        return DeployedFacts(
            kind,
            arn,
            facts,
            signing_profile_version_arn=facts.profile_version_arn if facts.signed else None,
            signing_job_arn=_job_arn(self.backend.location, facts) if facts.signed else None,
            code_sha256=recorded or actual,
            matches_signed_object=matches,
        )

    def read_function(self, configuration: Mapping[str, Any]) -> FunctionRead:
        name = str(configuration["FunctionName"])
        config = _config_of(self.reads, configuration.get("CodeSigningConfigArn"))
        artifacts = [
            self._artifact(
                ArtifactKindName.CODE,
                str(configuration["FunctionArn"]),
                f"function {name}",
                Path(configuration["CodeLocation"]),
                configuration.get("CodeSha256"),
            )
        ]
        for layer in configuration.get("Layers", []):
            arn = str(layer["Arn"])
            try:
                code = self.backend.layer_version_code(arn)
                path = Path(str(code)) if code is not None else None
                recorded = self.backend.get_layer_version(arn)["Content"].get("CodeSha256")
            except CodesignError:
                path, recorded = None, None  # deleted since: the function keeps its copy
            artifacts.append(
                self._artifact(ArtifactKindName.LAYER, arn, f"layer {arn}", path, recorded)
            )
        metric = None
        if config is not None and config.untrusted_artifact_on_deployment is Policy.WARN:
            self.reads.calls["metric"] += 1
            metric = self.backend.metric_count(SIGNATURE_METRIC, name)
        return FunctionRead(
            self.region,
            name,
            str(configuration["FunctionArn"]),
            config,
            tuple(artifacts),
            signature_validation_errors=metric,
        )


class AwsReader:
    """One region on AWS (or ``sam-ext serve``): ListFunctions' configurations, the
    signer Lambda reports for the code and each layer (:mod:`provider.deployed`), the
    config attached (GetFunctionCodeSigningConfig), and under Warn the function's
    ``SignatureValidationErrors`` data points (CloudWatch)."""

    def __init__(self, backend: AwsBackend, reads: CachedReads, *, at: datetime) -> None:
        self.backend = backend
        self.reads = reads
        self.region = backend.clients.region
        self.at = at
        self._cloudwatch: Any = None
        self._cloudwatch_lock = threading.Lock()

    def functions(self) -> list[Mapping[str, Any]]:
        from provider.backends.aws.errors import aws_call

        found: list[Mapping[str, Any]] = []
        paginator = self.backend.clients.lambda_.get_paginator("list_functions")
        with aws_call("lambda:ListFunctions", f"the functions of {self.region}"):
            for page in paginator.paginate():
                self.reads.calls["list_functions"] += 1
                found.extend(page.get("Functions", []))
        return found

    def configs(self) -> list[CodeSigningConfig]:
        self.reads.calls["list_code_signing_configs"] += 1
        listed = self.backend.list_code_signing_configs()["CodeSigningConfigs"]
        return [CodeSigningConfig.from_document(c) for c in listed]

    def _metric(self, name: str) -> int | None:
        from provider.backends.aws.errors import aws_call
        from provider.backends.aws.session import retry_config

        with self._cloudwatch_lock:
            if self._cloudwatch is None:
                clients = self.backend.clients
                session = clients.session
                if session is None:
                    return None  # clients made without a session: no CloudWatch to ask
                self._cloudwatch = session.client(
                    "cloudwatch", config=retry_config(), endpoint_url=clients.endpoint_url
                )
        end = max(self.at, utcnow()) + timedelta(hours=1)
        self.reads.calls["metric"] += 1
        with aws_call("cloudwatch:GetMetricStatistics", f"function {name}'s metrics"):
            answer = self._cloudwatch.get_metric_statistics(
                Namespace="AWS/Lambda",
                MetricName=SIGNATURE_METRIC,
                Dimensions=[{"Name": "FunctionName", "Value": name}],
                StartTime=end - METRIC_LOOKBACK,
                EndTime=end,
                Period=86400,
                Statistics=["SampleCount"],
            )
        return int(sum(point.get("SampleCount", 0) for point in answer.get("Datapoints", [])))

    def _matches(self, artifact: DeployedArtifact) -> bool | None:
        """Whether deployed code is still the object its signing job signed (``None``:
        unsigned, or not known)."""
        from provider.deployed import matches_signed_object

        if artifact.job_id is None:
            return None
        try:
            job = self.reads.signing_job(artifact.job_id)
            return matches_signed_object(artifact, job, self.reads.signed_sha256)
        except CodesignError:
            return None

    def read_function(self, configuration: Mapping[str, Any]) -> FunctionRead:
        from provider.deployed import deployed_artifacts, facts_of_deployed
        from provider.statuses import ArtifactKind

        name = str(configuration["FunctionName"])
        arn = str(configuration["FunctionArn"])
        if configuration.get("PackageType") == "Image":
            return FunctionRead(
                self.region,
                name,
                arn,
                None,
                (),
                not_applicable="a container image: code signing does not apply",
            )
        self.reads.calls["get_function_code_signing_config"] += 1
        attached = self.backend.get_function_code_signing_config(name)["CodeSigningConfigArn"]
        config = _config_of(self.reads, attached or None)
        artifacts = []
        for artifact in deployed_artifacts(configuration):
            is_code = artifact.kind is ArtifactKind.FUNCTION
            label = f"function {name}" if is_code else f"layer {artifact.arn}"
            facts = facts_of_deployed(
                artifact, self.reads.as_signer(), name=label, signed_sha256=self.reads.signed_sha256
            )
            artifacts.append(
                DeployedFacts(
                    ArtifactKindName.CODE if is_code else ArtifactKindName.LAYER,
                    artifact.arn,
                    facts,
                    signing_profile_version_arn=artifact.signing_profile_version_arn,
                    signing_job_arn=artifact.signing_job_arn,
                    code_sha256=artifact.code_sha256,
                    matches_signed_object=self._matches(artifact),
                )
            )
        metric = None
        if config is not None and config.untrusted_artifact_on_deployment is Policy.WARN:
            metric = self._metric(name)
        return FunctionRead(
            self.region, name, arn, config, tuple(artifacts), signature_validation_errors=metric
        )


@dataclass(frozen=True)
class AuditOptions:
    """When to judge, and how."""

    at: datetime
    horizon: datetime | None = None
    within: str | None = None
    workers: int = DEFAULT_WORKERS


#: ``progress(done, total, function_name)`` after each function is judged.
Progress = Callable[[int, int, str], None]


def _judged(
    reader: RegionReader, options: AuditOptions
) -> Callable[[Mapping[str, Any]], FunctionAudit]:
    def one(configuration: Mapping[str, Any]) -> FunctionAudit:
        name = str(configuration.get("FunctionName", "?"))
        arn = str(configuration.get("FunctionArn", ""))
        try:
            read = reader.read_function(configuration)
        except CodesignError as exc:
            return error_function(reader.region, name, arn, _said(exc))
        return judge_function(read, options.at, options.horizon)

    return one


def _reporting(
    progress: Progress | None, total: int
) -> Callable[[Mapping[str, Any], FunctionAudit, int], None] | None:
    if progress is None:
        return None
    said = progress

    def finished(item: Mapping[str, Any], result: FunctionAudit, done: int) -> None:
        said(done, total, result.function_name)

    return finished


def audit_regions(
    readers: Sequence[RegionReader | RegionError],
    options: AuditOptions,
    *,
    backend_name: str,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit each region (a reader, or the error that kept it from being opened)."""
    functions: list[FunctionAudit] = []
    configs: list[ConfigAudit] = []
    errors: list[RegionError] = []
    calls: Counter[str] = Counter()
    regions: list[str] = []
    for reader in readers:
        regions.append(reader.region)
        if isinstance(reader, RegionError):
            errors.append(reader)
            continue
        try:
            listed = reader.functions()
            region_configs = reader.configs()
        except CodesignError as exc:
            errors.append(RegionError(reader.region, _said(exc)))
            continue
        for config in region_configs:
            reader.reads.listed(config)
        with lookup_scope(reader.reads.lookups):  # the workers read through the audit's
            judged = run_all(
                carried(_judged(reader, options)),
                listed,
                workers=max(1, options.workers),
                name="audit",
                finished=_reporting(progress, len(listed)),
            )
        functions.extend(judged)
        known = {c.arn: c for c in region_configs}
        for audit in judged:  # attached configs ListCodeSigningConfigs did not list
            arn = audit.code_signing_config_arn
            if arn and arn not in known:
                known[arn] = reader.reads.code_signing_config(arn)
        statuses = {
            arn: reader.reads.publisher_status(arn)
            for config in known.values()
            for arn in config.allowed
        }
        region_functions = [f for f in judged if f.region == reader.region]
        configs.extend(
            judge_config(reader.region, config, region_functions, statuses)
            for config in known.values()
        )
        calls.update(reader.reads.calls)
    return AuditReport(
        audited_at=options.at,
        backend=backend_name,
        regions=tuple(regions),
        functions=tuple(functions),
        code_signing_configs=tuple(configs),
        within=options.within,
        horizon=options.horizon,
        region_errors=tuple(errors),
        calls=dict(calls),
    )
