"""``sam-ext audit``: the standing of every deployed function of an account (the local
keystore's registry, or AWS Lambda through ``--backend aws``), judged with the one
prediction; a table on a terminal, ``--output json``, ``--html FILE``. Reads only."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provider.clock import format_instant, parse_duration, parse_instant
from provider.errors import CodesignError, ValidationError
from sam_ext.audit.report import EXIT_INCOMPLETE, FailOn, Standing
from sam_ext.context import CliContext
from sam_ext.output import emit, say

if TYPE_CHECKING:
    from sam_ext.audit.collect import Progress, RegionReader
    from sam_ext.audit.report import RegionError

pass_context = click.make_pass_decorator(CliContext)


def known_regions() -> frozenset[str]:
    """Every region botocore knows Lambda in, across its partitions."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("lambda", partition_name=partition)
    )


def _regions(ctx: CliContext, given: tuple[str, ...]) -> tuple[str | None, ...]:
    """The regions to audit (``None``: the backend's own choice), each checked."""
    chosen = tuple(dict.fromkeys(given)) or (ctx.region,)
    known = known_regions()
    for region in chosen:
        if region is not None and region not in known:
            raise ValidationError(
                f"--region: {region!r} is not an AWS region Lambda is in (e.g. us-east-1)",
                field="--region",
            )
    if not ctx.is_aws and len(chosen) > 1:
        raise ValidationError(
            "--region: the local backend keeps one account and region (its keystore); give "
            "one --region, or use --backend aws to audit several",
            field="--region",
        )
    return chosen


def _readers(
    ctx: CliContext, regions: tuple[str | None, ...], at: datetime
) -> list[RegionReader | RegionError]:
    from provider.backends.factory import open_backend
    from sam_ext.audit.collect import AwsReader, CachedReads, LocalReader
    from sam_ext.audit.report import RegionError

    readers: list[RegionReader | RegionError] = []
    ctx.require_keystore("audit")
    for region in regions:
        try:
            if ctx.is_aws:
                aws = open_backend("aws", region=region, profile=ctx.profile)
                readers.append(AwsReader(aws, CachedReads(aws), at=at))
            else:
                local = open_backend("local", home=ctx.home, region=region)
                readers.append(LocalReader(local, CachedReads(local)))
        except CodesignError as exc:
            said = " ".join(str(exc).split())
            readers.append(RegionError(region or _default_region(ctx), said))
    return readers


def _default_region(ctx: CliContext) -> str:
    """The region a backend opened without ``--region`` acts in, as far as it is known."""
    if not ctx.is_aws:
        from provider.backends.local.store import DEFAULT_REGION
        from sam_ext.entry import REGION_ENV

        return os.environ.get(REGION_ENV) or DEFAULT_REGION
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "(default)"


def _progress() -> tuple[Progress, Callable[[], None] | None]:
    """A progress callback on stderr (a rich bar on a terminal, a plain line a quarter of
    the way otherwise for long audits), and what stops it."""
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress as Bar

        bar = Bar(console=Console(stderr=True), transient=True)
        task = bar.add_task("auditing", total=None)
        bar.start()

        def shown(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=f"auditing {name}")

        return shown, bar.stop

    said: set[int] = set()

    def plain(done: int, total: int, name: str) -> None:
        quarter = done * 4 // total
        if total >= 100 and quarter not in said and done * 4 % total < 4:
            said.add(quarter)
            say(f"sam-ext audit: {done}/{total} functions read")

    return plain, None


def _html_directory(target: Path) -> Path:
    """The directory ``--html`` writes into, which must exist."""
    directory = target.absolute().parent
    if not directory.is_dir():
        raise ValidationError(
            f"--html: directory {str(directory)!r} does not exist", field="--html"
        )
    if target.exists() and not target.is_file():
        # the page replaces the target (a rename): never a device, pipe or socket (as root,
        # --html /dev/null would have replaced /dev/null with the page)
        raise ValidationError(
            f"--html: {str(target)!r} exists and is not a regular file", field="--html"
        )
    return directory


def _write_html(document: dict[str, object], target: Path) -> None:
    """The HTML page, written atomically (a temporary file beside it, then renamed)."""
    from sam_ext.audit.html import render_html

    page = render_html(document)
    directory = _html_directory(target)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as writer:
            writer.write(page)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)  # a page to share: as open() would create it
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CodesignError(
            f"--html: {str(target)!r} cannot be written: {exc.strerror or exc}", field="--html"
        ) from None


@click.command()
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    help="A region to audit (repeat for several; default: the global --region, else the "
    "backend's). The local backend holds one region.",
)
@click.option(
    "--at",
    "at_text",
    metavar="ISO-8601",
    help="Judge every function as of this instant (default: --now, else now).",
)
@click.option(
    "--within",
    metavar="DURATION",
    help="Also judge at --at + DURATION (30d, 2w, 12h): signatures expiring by then are "
    "named with their date.",
)
@click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table (grouped by standing, worst first), or the JSON document "
    "(schemas/audit-report.schema.json) on stdout.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the report as one self-contained HTML page.",
)
@click.option(
    "--fail-on",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.REJECT.value,
    show_default=True,
    help="Exit 1 for REJECT; warn: also for WARN, UNKNOWN and NO_CONFIG; expiring: all of "
    "warn's, and also a function whose standing worsens within --within (needs --within).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Functions read at once.",
)
@pass_context
def audit(
    ctx: CliContext,
    regions: tuple[str, ...],
    at_text: str | None,
    within: str | None,
    output: str,
    html_file: Path | None,
    fail_on: str,
    workers: int,
) -> None:
    """The standing of every deployed function: for each Lambda function (and each layer
    version it uses) of the account and region(s), what its next code deploy would meet
    under its code signing config (ALLOW, WARN, REJECT, UNKNOWN; NO_CONFIG without one;
    ERROR when it could not be read), who signed its code and layers, when the signatures
    expire, revocations, and whether the deployed code is still the signed object. Also
    the code signing configs: Warn policies and the functions an Enforce would block
    today, publishers whose profile is canceled or revoked, configs no function uses.

    Reads only: nothing is changed. Progress goes to stderr.

    \b
    Exit status:
      0  no function fails --fail-on, and every function and region was read
      1  some function fails --fail-on (REJECT; with warn or expiring, more), or
         the keystore is refused (other users can reach it: nothing was read)
      2  bad input (an unknown region, a malformed --at or --within)
      3  the audit is incomplete: some function (ERROR) or region could not be read,
         and no function fails --fail-on
    """
    from sam_ext.audit.collect import AuditOptions, audit_regions

    at = parse_instant(at_text, field="--at") if at_text else ctx.now
    window = parse_duration(within, field="--within") if within is not None else None
    try:
        horizon = at + window if window is not None else None
    except OverflowError:
        raise ValidationError(
            f"--within: {within!r} from {format_instant(at)} is past the year 9999",
            field="--within",
        ) from None
    if fail_on == FailOn.EXPIRING and window is None:
        raise ValidationError(
            "--fail-on expiring: give --within (e.g. --within 30d): the window it looks ahead",
            field="--fail-on",
        )
    chosen = _regions(ctx, regions)
    if html_file is not None:
        _html_directory(html_file)
    options = AuditOptions(at=at, horizon=horizon, within=within, workers=workers)
    readers = _readers(ctx, chosen, at)
    progress, stop = _progress()
    try:
        report = audit_regions(readers, options, backend_name=ctx.backend_name, progress=progress)
    finally:
        if stop is not None:
            stop()
    for error in report.region_errors:
        say(f"error: region {error.region} could not be audited: {error.error}")
    document = report.to_document()
    from provider import schemas

    schemas.validate(document, "audit-report", what="audit report")
    if html_file is not None:
        _write_html(document, html_file)
    if output == "json":
        emit(document)
    else:
        from sam_ext.audit.table import print_report

        print_report(report)
    status = report.exit_code(FailOn(fail_on))
    if not report.complete:
        say(
            f"sam-ext audit: incomplete: {report.count(Standing.ERROR)} function(s) and "
            f"{len(report.region_errors)} region(s) could not be read"
            + (f" (exit status {EXIT_INCOMPLETE})" if status == EXIT_INCOMPLETE else "")
        )
    if status:
        raise click.exceptions.Exit(status)
