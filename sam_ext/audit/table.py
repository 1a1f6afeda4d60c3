"""The audit as a person reads it on a terminal: one table of functions grouped by
standing, worst first, then the code signing configs and the upcoming expiries (rich; on
a pipe, the same text without colours, wide enough not to fold every line)."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from provider.clock import format_instant
from sam_ext.audit.report import WORST_FIRST, AuditReport, FunctionAudit, Standing

#: How each standing is shown.
STYLES = {
    Standing.REJECT: "bold red",
    Standing.ERROR: "bold magenta",
    Standing.UNKNOWN: "yellow",
    Standing.WARN: "yellow",
    Standing.NO_CONFIG: "dim",
    Standing.ALLOW: "green",
}
#: The width used when stdout is not a terminal and COLUMNS is not set.
PIPE_WIDTH = 200


def _text(value: str) -> str:
    """What the account says (function names, revocation reasons, API errors) as table
    text: rich markup escaped, control characters shown as ``\\x1b``, never obeyed."""
    from rich.markup import escape

    from sam_ext.output import visible

    return escape(visible(value))


def _signer(function: FunctionAudit) -> str:
    code = next((a for a in function.artifacts if a.kind.value == "code"), None)
    if code is None or code.signing_profile_version_arn is None:
        return "unsigned" if code is not None else "-"
    name = code.signing_profile_version_arn.rsplit("/signing-profiles/", 1)[-1].split("/")[0]
    layers = len(function.artifacts) - 1
    return name + (f" (+{layers} layer{'s' if layers > 1 else ''})" if layers else "")


def _expires(function: FunctionAudit) -> str:
    found = [a.signature_expires_at for a in function.artifacts if a.signature_expires_at]
    return min(found).strftime("%Y-%m-%d") if found else "-"


def print_report(report: AuditReport, stream: TextIO | None = None) -> None:
    """Print ``report`` on ``stream`` (stdout)."""
    from rich.console import Console
    from rich.table import Table

    out = stream or sys.stdout
    terminal = out.isatty()
    # Off a terminal: COLUMNS when set, else wide enough not to fold every message.
    wide = terminal or "COLUMNS" in os.environ
    console = Console(file=out, width=None if wide else PIPE_WIDTH, soft_wrap=False)
    several = len(report.regions) > 1
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in WORST_FIRST if report.count(s))
    title = (
        f"{len(report.functions)} function(s) in {', '.join(report.regions)} "
        f"({report.backend}) at {format_instant(report.audited_at)}"
        + (
            f"; → the standing at {format_instant(report.horizon)} (in {report.within})"
            if report.horizon
            else ""
        )
    )
    table = Table(title=title, caption=counts or None, show_lines=False, expand=False)
    table.add_column("Standing", max_width=17)
    table.add_column("Function", overflow="fold", max_width=24)
    if several:
        table.add_column("Region", no_wrap=True)
    table.add_column("Policy", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("Signed by", overflow="fold", max_width=20)
    table.add_column("Expires", no_wrap=True)
    table.add_column("Why / remedy", overflow="fold")
    for standing in WORST_FIRST:
        group = sorted(
            (f for f in report.functions if f.standing is standing),
            key=lambda f: (f.region, f.function_name),
        )
        if not group:
            continue
        for function in group:
            said = function.reason or function.message
            if function.remedy:
                said += f"\nremedy: {function.remedy}"
            if function.signature_validation_errors:
                said += f"\nSignatureValidationErrors: {function.signature_validation_errors}"
            style = STYLES[standing]
            row = [f"[{style}]{standing.value}[/]"]
            later = function.standing_at_horizon
            if later is not None and later is not standing:
                row[0] += f" → [{STYLES[later]}]{later.value}[/]"
            # what the account says (names, revocation reasons) is text, never rich markup
            row.append(_text(function.function_name))
            if several:
                row.append(function.region)
            row += [
                function.policy or "-",
                function.check or "-",
                _text(_signer(function)),
                _expires(function),
                _text(said),
            ]
            table.add_row(*row)
        table.add_section()
    console.print(table)
    if report.code_signing_configs:
        configs = Table(title="Code signing configs")
        for column in ("Config", "Region", "Policy", "Functions", "Notes"):
            configs.add_column(column, overflow="fold")
        for config in report.code_signing_configs:
            configs.add_row(
                _text(config.arn.rsplit(":", 1)[-1]),
                config.region,
                config.policy,
                _text(", ".join(config.functions)) or "(unused)",
                _text("\n".join(config.notes)) or "-",
            )
        console.print(configs)
    upcoming = report.expiries
    if upcoming:
        expiries = Table(title="Upcoming signature expiries")
        for column in ("Expires", "Function", "Artifact", f"Within {report.within or '-'}"):
            expiries.add_column(column, no_wrap=True)
        for expiry in upcoming:
            expiries.add_row(
                format_instant(expiry.expires_at),
                _text(expiry.function_name),
                expiry.artifact.value if expiry.artifact.value == "code" else _text(expiry.arn),
                "yes" if expiry.within_window else "no",
            )
        console.print(expiries)
    for error in report.region_errors:
        console.print(
            f"[bold magenta]region {_text(error.region)}: not audited[/] ({_text(error.error)})"
        )
