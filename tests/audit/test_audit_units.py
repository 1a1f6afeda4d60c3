"""The audit's parts on their own: the cache that reads each job, profile and config once
(also when workers ask at the same time), the progress said on stderr, and the exit
status rules of the report."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from provider.backends.values import SigningJob
from provider.errors import AccessDeniedError
from sam_ext.audit.collect import CachedReads
from sam_ext.audit.report import (
    EXIT_INCOMPLETE,
    AuditReport,
    FailOn,
    FunctionAudit,
    RegionError,
    Standing,
)
from sam_ext.commands import audit as command

AT = datetime(2026, 1, 1, tzinfo=UTC)


class SlowSigner:
    """A backend whose DescribeSigningJob is slow and counted."""

    def __init__(self) -> None:
        self.described: list[str] = []
        self.lock = threading.Lock()

    def signing_job(self, job_id: str) -> SigningJob:
        with self.lock:
            self.described.append(job_id)
        time.sleep(0.05)
        if job_id == "denied":
            raise AccessDeniedError("signer:DescribeSigningJob on denied")
        return SigningJob(job_id, "Succeeded", "good", "2026-01-01T00:00:00Z")  # type: ignore[arg-type]


def test_each_job_is_read_once_also_when_asked_at_once() -> None:
    backend = SlowSigner()
    reads = CachedReads(backend)  # type: ignore[arg-type]
    found: list[Any] = []

    def ask(job_id: str) -> None:
        try:
            found.append(reads.signing_job(job_id).job_id)
        except AccessDeniedError as exc:
            found.append(exc.code)

    threads = [threading.Thread(target=ask, args=(j,)) for j in ["a", "b", "denied"] * 8]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(backend.described) == ["a", "b", "denied"]  # once each, errors included
    assert sorted(found) == sorted(["a", "b", "AccessDeniedException"] * 8)
    assert reads.calls["signing_job"] == 3


def test_the_backends_lookups_in_the_workers_are_once_per_audit() -> None:
    """The workers read through the audit's look-ups (``CachedReads.lookups``): what the
    backend's facts code looks up for every function (a signing profile) is read once per
    audit, also 8 workers at once; the next audit reads it again."""
    from collections.abc import Mapping

    from provider.lookups import current_lookups, looked_up
    from sam_ext.audit.collect import AuditOptions, audit_regions
    from sam_ext.audit.judge import FunctionRead

    profile = SlowSigner()  # its signing_job stands for any shared look-up

    class Reader:
        region = "us-east-1"

        def __init__(self) -> None:
            self.reads = CachedReads(SlowSigner())  # type: ignore[arg-type]

        def functions(self) -> list[Mapping[str, Any]]:
            return [{"FunctionName": f"f{i}", "FunctionArn": f"arn:f{i}"} for i in range(24)]

        def configs(self) -> list[Any]:
            return []

        def read_function(self, configuration: Mapping[str, Any]) -> FunctionRead:
            assert current_lookups() is self.reads.lookups  # carried into the worker
            looked_up(("shared", "p"), lambda: profile.signing_job("p"))
            name = str(configuration["FunctionName"])
            return FunctionRead(self.region, name, str(configuration["FunctionArn"]), None, ())

    for audit in (1, 2):
        reader = Reader()
        report = audit_regions([reader], AuditOptions(at=AT, workers=8), backend_name="aws")
        assert [f.standing for f in report.functions] == [Standing.NO_CONFIG] * 24
        assert profile.described == ["p"] * audit  # once per audit
        assert report.calls.get("shared") == 1
        assert current_lookups() is None  # the scope ended with the audit


def _function(name: str, standing: Standing, later: Standing | None = None) -> FunctionAudit:
    return FunctionAudit(
        region="us-east-1",
        function_name=name,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        standing=standing,
        standing_at_horizon=later,
        message=f"function {name}",
    )


def _report(*functions: FunctionAudit, errors: tuple[RegionError, ...] = ()) -> AuditReport:
    return AuditReport(AT, "local", ("us-east-1",), functions, (), region_errors=errors)


@pytest.mark.parametrize(
    ("functions", "errors", "expected"),
    [
        ((_function("a", Standing.ALLOW),), (), {"reject": 0, "warn": 0, "expiring": 0}),
        ((_function("a", Standing.REJECT),), (), {"reject": 1, "warn": 1, "expiring": 1}),
        ((_function("a", Standing.WARN),), (), {"reject": 0, "warn": 1, "expiring": 1}),
        ((_function("a", Standing.UNKNOWN),), (), {"reject": 0, "warn": 1, "expiring": 1}),
        ((_function("a", Standing.NO_CONFIG),), (), {"reject": 0, "warn": 1, "expiring": 1}),
        (
            (_function("a", Standing.ALLOW, Standing.REJECT),),
            (),
            {"reject": 0, "warn": 0, "expiring": 1},
        ),
        ((_function("a", Standing.ERROR),), (), {"reject": 3, "warn": 3, "expiring": 3}),
        (
            (_function("a", Standing.ERROR), _function("b", Standing.REJECT)),
            (),
            {"reject": 1, "warn": 1, "expiring": 1},
        ),
        (
            (_function("a", Standing.WARN),),
            (RegionError("eu-west-1", "AccessDeniedException: no"),),
            {"reject": 3, "warn": 1, "expiring": 1},
        ),
    ],
)
def test_exit_status_rules(
    functions: tuple[FunctionAudit, ...],
    errors: tuple[RegionError, ...],
    expected: dict[str, int],
) -> None:
    report = _report(*functions, errors=errors)
    assert {f.value: report.exit_code(f) for f in FailOn} == expected
    assert EXIT_INCOMPLETE == 3


def test_progress_is_a_plain_line_a_quarter_of_the_way_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress, stop = command._progress()
    assert stop is None  # stderr is captured: no terminal, no bar
    for done in range(1, 201):
        progress(done, 200, f"f{done}")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"sam-ext audit: {n}/200 functions read" for n in (50, 100, 150, 200)]
    progress, _ = command._progress()
    for done in range(1, 11):
        progress(done, 10, f"f{done}")
    assert capsys.readouterr().err == ""  # a short audit says nothing


def test_a_config_listing_a_publisher_lambda_accepts_but_no_profile_version_is_reported() -> None:
    """Lambda accepts any ARN as an allowed publisher (CDK writes an imported profile's
    with ':/' doubled): the audit of such an account reports it (status Unknown, the
    document still valid), as it reports any other config."""
    from provider import schemas
    from provider.backends.values import CodeSigningConfig
    from sam_ext.audit.judge import judge_config
    from sam_ext.audit.report import AuditReport

    cdk = "arn:aws:signer:us-east-1:123456789012://signing-profiles/N/V"
    config = CodeSigningConfig.from_document(
        {
            "CodeSigningConfigArn": "arn:aws:lambda:us-east-1:123456789012:"
            "code-signing-config:csc-0123456789abcdef0",
            "AllowedPublishers": {"SigningProfileVersionArns": [cdk]},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
        }
    )
    audited = judge_config("us-east-1", config, [], {})
    report = AuditReport(
        audited_at=datetime(2026, 1, 17, 12, tzinfo=UTC),
        backend="aws",
        regions=("us-east-1",),
        functions=(),
        code_signing_configs=(audited,),
    )
    document = report.to_document()
    schemas.validate(document, "audit-report", what="audit report")
    publishers = document["code_signing_configs"][0]["publishers"]
    assert publishers == [{"profile_version_arn": cdk, "status": "Unknown"}]
