"""The audit's HTML report (``sam-ext audit --html FILE``): one self-contained page an
administrator can open, share and print.

:func:`render_html` turns the audit's JSON document (``AuditReport.to_document()``, schema
``schemas/audit-report.schema.json``, already validated) into a page holding everything it
shows: inline CSS, one small inline script (sorting only) and an inline SVG plot. It fetches
nothing (its Content-Security-Policy forbids it), every value taken from the document is
HTML-escaped, and it reads the same with JavaScript off: the table is in the HTML, worst
first; JavaScript only re-sorts it.

Sorting: click a column's header, or open the page with ``#sort=<column>`` (``-<column>``:
descending), a column being one of :data:`COLUMNS`' keys. Equal keys keep the default order
(standing, worst first; then the soonest expiry; then the name).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from provider.verdict import POLICIES

#: The page's Content-Security-Policy: nothing may be fetched, inline style/script only.
CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
)

#: Standings, worst first: the default order of the table and of the summary.
STANDINGS: Final = ("REJECT", "ERROR", "UNKNOWN", "WARN", "NO_CONFIG", "ALLOW")

#: What each standing means for the function's next code deploy.
MEANINGS: Final[Mapping[str, str]] = {
    "REJECT": "next deploy rejected",
    "ERROR": "could not be read",
    "UNKNOWN": "cannot be decided",
    "WARN": "deploys with a warning",
    "NO_CONFIG": "no code signing config",
    "ALLOW": "next deploy allowed",
}

#: The function table's columns: (key for ``#sort=``, header).
COLUMNS: Final = (
    ("standing", "Standing"),
    ("name", "Function"),
    ("region", "Region"),
    ("config", "Config / policy"),
    ("check", "Check"),
    ("message", "Message"),
    ("remedy", "Remedy"),
    ("signer", "Signer"),
    ("expiry", "Expiry"),
)

#: The most expiries the plot draws (the soonest); the table under it lists them all.
PLOT_ROWS: Final = 40


def render_html(document: Mapping[str, Any]) -> str:
    """The page for an audit document (INTERFACES §C / ``schemas/audit-report.schema.json``)."""
    audited_at = _time(document.get("audited_at"))
    horizon = _time(document.get("horizon"))
    functions: Sequence[Mapping[str, Any]] = document.get("functions") or ()
    configs: Sequence[Mapping[str, Any]] = document.get("code_signing_configs") or ()
    expiries: Sequence[Mapping[str, Any]] = document.get("expiries") or ()
    title = f"Lambda code signing audit, {_when(audited_at)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Lambda code signing audit</h1>",
        _meta(document, audited_at, horizon),
        "</header>",
        "<main>",
        _summary(document),
        _timeline(expiries, audited_at, horizon, document.get("within")),
        _function_table(functions, audited_at, horizon),
        _config_table(configs),
        "</main>",
        f"<script>{_SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


# --- values ----------------------------------------------------------------------------


_DASH: Final = '<span class="none">\u2013</span>'
_NONE_USED: Final = '<span class="none">none</span>'


def _e(value: object) -> str:
    """``value`` as HTML text or attribute value (quotes escaped too); None is empty."""
    return "" if value is None else html.escape(str(value), quote=True)


def _time(value: object) -> datetime | None:
    """An ISO-8601 time of the document (``...Z``), in UTC; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown time"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _sort_time(moment: datetime | None) -> str:
    """A sort key that orders times as strings (empty: none, sorted last)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else ""


def _rank(standing: object) -> int:
    return STANDINGS.index(standing) if standing in STANDINGS else len(STANDINGS)


def _short_arn(arn: object) -> str:
    """The part of an ARN a person reads: ``csc-…``, ``profile/version``, a job id,
    ``layer:N``."""
    text = "" if arn is None else str(arn)
    markers = (":/signing-profiles/", ":/signing-jobs/", ":code-signing-config:", ":layer:")
    for marker in (*markers, ":function:"):
        if marker in text:
            return text.split(marker, 1)[1]
    return text.rsplit(":", 1)[-1] if text.startswith("arn:") else text


def _until(moment: datetime, audited_at: datetime | None) -> str:
    """``in 3 d`` / ``expired 2 d ago``, from the audit instant."""
    if audited_at is None:
        return ""
    delta = moment - audited_at
    seconds = abs(delta.total_seconds())
    amount = f"{int(seconds // 86400)} d" if seconds >= 86400 else f"{int(seconds // 3600)} h"
    return f"in {amount}" if delta.total_seconds() >= 0 else f"expired {amount} ago"


def _badge(standing: object) -> str:
    text = _e(standing) or "?"
    return f'<span class="badge s-{text}">{text}</span>'


def _policy_badge(policy: object) -> str:
    if policy in POLICIES:
        return f'<span class="policy p-{_e(policy)}">{_e(policy)}</span>'
    return '<span class="policy p-none">no config</span>'


def _code(text: object) -> str:
    return f"<code>{_e(text)}</code>" if text else ""


# --- sections --------------------------------------------------------------------------


def _meta(document: Mapping[str, Any], audited_at: datetime | None, h: datetime | None) -> str:
    regions = ", ".join(str(region) for region in document.get("regions") or ()) or "none"
    items = [
        f"Audited <time>{_e(_when(audited_at))}</time>",
        f"backend <b>{_e(document.get('backend'))}</b>",
        f"regions <b>{_e(regions)}</b>",
    ]
    within = document.get("within")
    if within:
        items.append(f"window <b>{_e(within)}</b> (to <time>{_e(_when(h))}</time>)")
    lines = [f'<p class="meta">{" · ".join(items)}</p>']
    if document.get("complete") is False:
        lines.append(
            '<p class="incomplete" role="alert">Incomplete audit: some functions or regions '
            "could not be read (see the ERROR rows).</p>"
        )
    # Regions that could not be read at all (``region_errors``, beyond INTERFACES §C).
    unread = [entry for entry in document.get("region_errors") or () if entry]
    if unread:
        listed = "".join(
            f"<li><b>{_e(entry.get('region'))}</b>: {_e(entry.get('error'))}</li>"
            for entry in unread
        )
        lines.append(f'<ul class="incomplete region-errors">{listed}</ul>')
    return "\n".join(lines)


def _summary(document: Mapping[str, Any]) -> str:
    summary: Mapping[str, Any] = document.get("summary") or {}
    by_standing: Mapping[str, Any] = summary.get("by_standing") or {}
    cards = [
        f'<li class="count s-{_e(standing)}" id="count-{_e(standing)}">'
        f'<span class="n">{_e(by_standing.get(standing, 0))}</span>'
        f'<span class="label">{_e(standing)}</span>'
        f'<span class="hint">{_e(MEANINGS[standing])}</span></li>'
        for standing in STANDINGS
    ]
    within = document.get("within")
    totals = [
        ("functions", "functions", summary.get("functions", 0), "audited"),
        (
            "expiring",
            f"expiring within {within}" if within else "expiring",
            summary.get("expiring_within", 0) if within else "\u2013",
            "worse at the horizon" if within else "no window given (--within)",
        ),
        ("configs", "code signing configs", summary.get("code_signing_configs", 0), "reported"),
    ]
    cards += [
        f'<li class="count total" id="count-{key}"><span class="n">{_e(number)}</span>'
        f'<span class="label">{_e(label)}</span><span class="hint">{_e(hint)}</span></li>'
        for key, label, number, hint in totals
    ]
    return (
        '<section id="summary" aria-labelledby="summary-title">'
        '<h2 id="summary-title">Summary</h2>'
        f'<ul class="counts">{"".join(cards)}</ul></section>'
    )


def _artifacts(function: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [artifact for artifact in function.get("artifacts") or () if artifact]


def _soonest_expiry(function: Mapping[str, Any]) -> datetime | None:
    times = [
        moment
        for artifact in _artifacts(function)
        if (moment := _time(artifact.get("signature_expires_at"))) is not None
    ]
    return min(times) if times else None


def _default_key(function: Mapping[str, Any]) -> tuple[int, int, str, str, str]:
    """Worst first; within a standing, what worsens by the horizon first, then the soonest
    expiry, then the name."""
    standing = function.get("standing")
    later = function.get("standing_at_horizon")
    worsens = 0 if later is not None and _rank(later) < _rank(standing) else 1
    expiry = _sort_time(_soonest_expiry(function)) or "~"
    name = str(function.get("function_name") or "")
    return (_rank(standing), worsens, expiry, name.lower(), str(function.get("region") or ""))


def _function_table(
    functions: Sequence[Mapping[str, Any]], audited_at: datetime | None, horizon: datetime | None
) -> str:
    ordered = sorted(functions, key=_default_key)
    heads = []
    for key, label in COLUMNS:
        first = key == "standing"
        heads.append(
            f'<th scope="col" data-key="{key}" aria-sort="{"ascending" if first else "none"}">'
            f'<a href="#sort={"-" if first else ""}{key}">{_e(label)}</a></th>'
        )
    rows = [
        _function_row(index, function, audited_at, horizon)
        for index, function in enumerate(ordered)
    ]
    if not rows:
        rows = [f'<tr class="empty"><td colspan="{len(COLUMNS)}">No functions.</td></tr>']
    return (
        '<section id="functions-section" aria-labelledby="functions-title">'
        f'<h2 id="functions-title">Functions ({len(functions)})</h2>'
        '<p class="hint no-print">Worst first. Click a column header to sort by it.</p>'
        '<div class="scroll"><table id="functions" data-sorted="standing">'
        f"<thead><tr>{''.join(heads)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _function_row(
    index: int,
    function: Mapping[str, Any],
    audited_at: datetime | None,
    horizon: datetime | None,
) -> str:
    standing = function.get("standing")
    later = function.get("standing_at_horizon")
    name = function.get("function_name")
    region = function.get("region")
    worsens = later is not None and later != standing
    standing_cell = _badge(standing)
    if worsens:
        standing_cell += (
            f'<span class="later" title="at the horizon, {_e(_when(horizon))}">'
            f"→ {_badge(later)} by {_e(_day(horizon)) if horizon else 'the horizon'}</span>"
        )
    rank = f"{_rank(standing)}{0 if worsens and _rank(later) < _rank(standing) else 1}"

    csc = function.get("code_signing_config_arn")
    policy = function.get("policy")
    config_cell = _policy_badge(policy)
    if csc:
        config_cell += f'<span class="arn csc" title="{_e(csc)}">{_e(_short_arn(csc))}</span>'
    errors = function.get("signature_validation_errors")
    if errors is not None:
        config_cell += (
            f'<span class="metric">{_e(errors)} SignatureValidationErrors data points</span>'
        )
    config_key = f"{policy or ''} {_short_arn(csc)}".strip() if csc or policy else ""

    check = function.get("check")
    check_cell = _e(check) if check else _DASH

    message = function.get("message")
    exception = function.get("exception")
    error = function.get("error")
    message_cell = _e(message)
    if exception:
        message_cell += f'<span class="exception">Lambda: {_code(exception)}</span>'
    if error:
        message_cell += f'<span class="error">{_e(error)}</span>'

    remedy = function.get("remedy")
    artifacts = _artifacts(function)
    code = next((a for a in artifacts if a.get("kind") == "code"), None)
    signer = code.get("signing_profile_version_arn") if code else None
    if code is None:
        signer_cell = _DASH
    elif signer:
        signer_cell = f'<span class="arn" title="{_e(signer)}">{_e(_short_arn(signer))}</span>'
    else:
        signer_cell = '<span class="unsigned">unsigned</span>'
    if artifacts:
        signer_cell += _artifact_details(artifacts, audited_at)

    expiry = _soonest_expiry(function)
    if expiry is None:
        expiry_cell = _DASH
        expiry_class = ""
    else:
        expired = audited_at is not None and expiry < audited_at
        soon = not expired and horizon is not None and expiry <= horizon
        expiry_class = " expired" if expired else " soon" if soon else ""
        expiry_cell = (
            f'<time datetime="{_e(_sort_time(expiry))}Z" title="{_e(_when(expiry))}">'
            f"{_e(_day(expiry))}</time>"
            f'<span class="until">{_e(_until(expiry, audited_at))}</span>'
        )

    cells = [
        (rank, standing_cell, "standing"),
        (str(name or "").lower(), f'<span class="name">{_e(name)}</span>', "name"),
        (str(region or ""), _e(region), "region"),
        (config_key, config_cell, "config"),
        (str(check or ""), check_cell, "check"),
        (str(message or error or "").lower(), message_cell, "message"),
        (str(remedy or ""), _code(remedy) or _DASH, "remedy"),
        (_short_arn(signer).lower() if signer else "", signer_cell, "signer"),
        (_sort_time(expiry), expiry_cell, "expiry" + expiry_class),
    ]
    tds = "".join(
        f'<td class="c-{css}" data-sort="{_e(key)}">{content}</td>' for key, content, css in cells
    )
    return (
        f'<tr class="s-{_e(standing)}" data-order="{index}" '
        f'data-function="{_e(name)}" data-region="{_e(region)}">{tds}</tr>'
    )


def _artifact_details(artifacts: Sequence[Mapping[str, Any]], audited_at: datetime | None) -> str:
    items = []
    for artifact in artifacts:
        kind = artifact.get("kind")
        signer = artifact.get("signing_profile_version_arn")
        job = artifact.get("signing_job_arn")
        signed = _time(artifact.get("signed_at"))
        expires = _time(artifact.get("signature_expires_at"))
        matches = artifact.get("matches_signed_object")
        facts = [
            f"signer {_e(_short_arn(signer))}" if signer else "unsigned",
            f"job {_e(_short_arn(job))}" if job else "",
            f"signed {_e(_day(signed))}" if signed else "",
            f"expires {_e(_day(expires))} ({_e(_until(expires, audited_at))})" if expires else "",
            {True: "code is the signed object", False: "code changed since signing"}.get(
                matches, ""
            )
            if isinstance(matches, bool)
            else "",
            f"CodeSha256 {_code(artifact.get('code_sha256'))}"
            if artifact.get("code_sha256")
            else "",
        ]
        check = artifact.get("check")
        items.append(
            f'<li><b>{_e(kind)}</b> <span class="arn">{_e(artifact.get("arn"))}</span> '
            f"{_badge(artifact.get('standing'))}"
            f"{f' ({_e(check)})' if check else ''}"
            f"<br>{'; '.join(fact for fact in facts if fact)}"
            f'<br><span class="artifact-message">{_e(artifact.get("message"))}</span></li>'
        )
    layers = sum(1 for artifact in artifacts if artifact.get("kind") == "layer")
    summary = f"code + {layers} layer{'s' if layers != 1 else ''}" if layers else "details"
    return f"<details><summary>{_e(summary)}</summary><ul>{''.join(items)}</ul></details>"


def _config_table(configs: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for config in configs:
        arn = config.get("arn")
        publishers = "".join(
            f'<li><span class="arn" title="{_e(p.get("profile_version_arn"))}">'
            f"{_e(_short_arn(p.get('profile_version_arn')))}</span> "
            f'<span class="status st-{_e(p.get("status"))}">{_e(p.get("status"))}</span></li>'
            for p in config.get("publishers") or ()
        )
        used = ", ".join(str(name) for name in config.get("functions") or ())
        blocked = ", ".join(str(name) for name in config.get("blocked_if_enforced") or ())
        notes = "".join(f"<li>{_e(note)}</li>" for note in config.get("notes") or ())
        unused = ' <span class="unused">unused</span>' if config.get("unused") else ""
        rows.append(
            f'<tr data-config="{_e(arn)}">'
            f'<td><span class="arn" title="{_e(arn)}">{_e(_short_arn(arn))}</span>{unused}'
            f'<span class="where">{_policy_badge(config.get("policy"))} '
            f"{_e(config.get('region'))}</span></td>"
            f'<td><ul class="plain">{publishers}</ul></td>'
            f"<td>{_e(used) or _NONE_USED}</td>"
            f"<td>{_e(blocked) or _DASH}</td>"
            f'<td><ul class="notes">{notes}</ul></td></tr>'
        )
    if not rows:
        rows = ['<tr class="empty"><td colspan="5">No code signing configs.</td></tr>']
    return (
        '<section id="configs-section" aria-labelledby="configs-title">'
        f'<h2 id="configs-title">Code signing configs ({len(configs)})</h2>'
        '<div class="scroll"><table id="configs"><thead><tr>'
        '<th scope="col">Config</th><th scope="col">Publishers</th><th scope="col">Functions</th>'
        '<th scope="col">Blocked if enforced</th><th scope="col">Notes</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


# --- the timeline ----------------------------------------------------------------------

_WIDTH: Final = 960
_LABELS: Final = 250  # the left column of labels
_LATER: Final = 90  # the right gutter for expiries past the plotted span
_TOP: Final = 44
_ROW: Final = 18
_TICK_STEPS_DAYS: Final = (1, 2, 7, 14, 30, 61, 91, 182, 365, 730, 1826)


def _span(
    moments: Iterable[datetime], audited_at: datetime, horizon: datetime | None
) -> tuple[datetime, datetime]:
    """The plotted time span: from (a little before) the audit to the last expiry, at most a
    few windows (or a year) ahead so the window stays readable; later ones go to a gutter."""
    window = horizon - audited_at if horizon is not None and horizon > audited_at else None
    limit = audited_at + (max(window * 3, timedelta(days=90)) if window else timedelta(days=365))
    times = list(moments)
    natural = max([*times, horizon or audited_at, audited_at + timedelta(days=7)])
    end = min(natural, limit)
    earliest = min([*times, audited_at])
    start = max(earliest, audited_at - (end - audited_at) / 4)
    start = min(start, audited_at - (end - audited_at) / 40)
    return start, end


def _ticks(start: datetime, end: datetime) -> list[datetime]:
    days = max((end - start).total_seconds() / 86400, 1)
    step = next((s for s in _TICK_STEPS_DAYS if days / s <= 8), _TICK_STEPS_DAYS[-1])
    first = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return [
        moment
        for n in range(0, int(days // step) + 2)
        if start <= (moment := first + timedelta(days=n * step)) <= end
    ]


def _timeline(
    expiries: Sequence[Mapping[str, Any]],
    audited_at: datetime | None,
    horizon: datetime | None,
    within: object,
) -> str:
    heading = (
        '<section id="timeline-section" aria-labelledby="timeline-title">'
        '<h2 id="timeline-title">Upcoming signature expiries</h2>'
    )
    dated = [(e, moment) for e in expiries if (moment := _time(e.get("expires_at"))) is not None]
    if not dated or audited_at is None:
        return heading + '<p class="none">No signature expiries.</p></section>'
    drawn = dated[:PLOT_ROWS]
    start, end = _span((moment for _, moment in drawn), audited_at, horizon)
    plot_right = _WIDTH - _LATER
    scale = (plot_right - _LABELS) / max((end - start).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return _LABELS + (min(max(moment, start), end) - start).total_seconds() * scale

    height = _TOP + _ROW * len(drawn) + 12
    bottom = height - 6
    svg = [
        f'<svg id="timeline" viewBox="0 0 {_WIDTH} {height}"'
        f' width="{_WIDTH}" height="{height}" role="img" aria-labelledby="timeline-desc">',
        f'<desc id="timeline-desc">Signature expiries from {_e(_when(start))} to '
        f"{_e(_when(end))}; the audit window is shaded.</desc>",
    ]
    if horizon is not None and horizon > audited_at:
        svg.append(
            f'<rect class="window" x="{x(audited_at):.1f}" y="{_TOP - 14}" '
            f'width="{x(horizon) - x(audited_at):.1f}" height="{bottom - _TOP + 14}">'
            f"<title>window {_e(within)}: {_e(_when(audited_at))} to {_e(_when(horizon))}"
            "</title></rect>",
        )
        svg.append(
            f'<text class="window-label" x="{(x(audited_at) + x(horizon)) / 2:.1f}" '
            f'y="{_TOP - 18}" text-anchor="middle">window {_e(within)}</text>'
        )
        svg.append(
            f'<line class="horizon" x1="{x(horizon):.1f}" y1="{_TOP - 14}" '
            f'x2="{x(horizon):.1f}" y2="{bottom}"/>'
        )
    for tick in _ticks(start, end):
        svg.append(
            f'<line class="tick" x1="{x(tick):.1f}" y1="{_TOP - 6}" x2="{x(tick):.1f}" '
            f'y2="{bottom}"/><text class="tick-label" x="{x(tick):.1f}" y="{_TOP - 30}" '
            f'text-anchor="middle">{_e(_day(tick))}</text>'
        )
    svg.append(
        f'<line class="now" x1="{x(audited_at):.1f}" y1="{_TOP - 14}" x2="{x(audited_at):.1f}" '
        f'y2="{bottom}"><title>audit: {_e(_when(audited_at))}</title></line>'
    )
    if any(moment > end for _, moment in drawn):
        svg.append(
            f'<text class="tick-label" x="{plot_right + _LATER / 2:.1f}" y="{_TOP - 30}" '
            'text-anchor="middle">later</text>'
        )
    for row, (expiry, moment) in enumerate(drawn):
        y = _TOP + _ROW * row + _ROW / 2
        label = f"{expiry.get('function_name')} · {expiry.get('artifact')}"
        full = f"{label} ({expiry.get('region')}): expires {_when(moment)}"
        short = label if len(label) <= 34 else label[:33] + "…"
        where = (
            "expired"
            if moment < audited_at
            else "inside"
            if expiry.get("within_window")
            else "outside"
        )
        if moment > end:
            cx: float = plot_right + 12
            marker = (
                f'<path class="mark {where}" d="M{cx - 5:.1f},{y - 5:.1f} L{cx + 4:.1f},{y:.1f} '
                f'L{cx - 5:.1f},{y + 5:.1f} Z"/>'
            )
            text_x = cx + 8
        else:
            cx = x(moment)
            marker = f'<circle class="mark {where}" cx="{cx:.1f}" cy="{y:.1f}" r="5"/>'
            text_x = cx + 9
        anchor = "start"
        if text_x > _WIDTH - 72:
            text_x, anchor = cx - 9, "end"
        svg.append(
            f'<g class="expiry {where}"><title>{_e(full)}</title>'
            f'<line class="lane" x1="{_LABELS}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}"/>'
            f'<text class="row-label" x="{_LABELS - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_e(short)}</text>{marker}"
            f'<text class="date" x="{text_x:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">'
            f"{_e(_day(moment))}</text></g>"
        )
    svg.append("</svg>")
    more = len(dated) - len(drawn)
    note = (
        f'<p class="hint">The plot shows the {len(drawn)} soonest; {more} more in the table.</p>'
        if more > 0
        else ""
    )
    legend = (
        '<p class="legend"><span class="key inside">●</span> inside the window '
        '<span class="key outside">●</span> after it <span class="key expired">●</span> '
        "already expired</p>"
    )
    rows = "".join(
        f'<tr class="{"inside" if e.get("within_window") else "outside"}">'
        f'<td><time datetime="{_e(_sort_time(moment))}Z">{_e(_when(moment))}</time></td>'
        f"<td>{_e(_until(moment, audited_at))}</td>"
        f"<td>{_e(e.get('function_name'))}</td><td>{_e(e.get('region'))}</td>"
        f"<td>{_e(e.get('artifact'))}</td>"
        f'<td><span class="arn">{_e(e.get("arn"))}</span></td>'
        f"<td>{'yes' if e.get('within_window') else 'no'}</td></tr>"
        for e, moment in dated
    )
    table = (
        f"<details data-print-open><summary>All {len(dated)} expiries as a table</summary>"
        '<div class="scroll"><table id="expiries"><thead><tr>'
        '<th scope="col">Expires</th><th scope="col">When</th><th scope="col">Function</th>'
        '<th scope="col">Region</th><th scope="col">Artifact</th><th scope="col">ARN</th>'
        '<th scope="col">In window</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div></details>"
    )
    figure = f'<div class="plot">{"".join(svg)}</div>'
    return heading + figure + legend + note + table + "</section>"


# --- inline style and script -----------------------------------------------------------

_STYLE: Final = """
:root { color-scheme: light; --fg: #1d2433; --muted: #5b6474; --line: #d9dee7;
  --reject: #b42318; --error: #6941c6; --unknown: #7a5a00; --warn: #b54708;
  --noconfig: #475467; --allow: #067647; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI",
  "DejaVu Sans", "Liberation Sans", sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0; }
.incomplete { background: #fef3f2; border: 1px solid #fda29b; padding: 6px 10px;
  border-radius: 6px; color: var(--reject); font-weight: 600; }
ul.region-errors { list-style: none; font-weight: 400; margin-top: -6px; }
.hint { color: var(--muted); font-size: 12px; margin: 2px 0 8px; }
ul.counts { display: flex; flex-wrap: wrap; gap: 10px; list-style: none; padding: 0; margin: 0; }
.count { flex: 1 1 0; min-width: 100px; padding: 6px 10px; border-radius: 8px;
  border: 1px solid var(--line); border-left-width: 6px; display: flex; flex-direction: column; }
.count .n { font-size: 26px; font-weight: 700; line-height: 1.1; }
.count .label { font-weight: 600; font-size: 12px; letter-spacing: .02em; }
.count .hint { margin: 0; }
.count.s-REJECT { border-left-color: var(--reject); }
.count.s-ERROR { border-left-color: var(--error); }
.count.s-UNKNOWN { border-left-color: var(--unknown); }
.count.s-WARN { border-left-color: var(--warn); }
.count.s-NO_CONFIG { border-left-color: var(--noconfig); }
.count.s-ALLOW { border-left-color: var(--allow); } .count.total { border-left-color: #98a2b3; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px;
  border-bottom: 1px solid var(--line); }
thead th { background: #f2f4f7; position: sticky; top: 0; white-space: nowrap; }
thead { display: table-header-group; }
th a { color: inherit; text-decoration: none; }
th a::after { content: " ↕"; color: #98a2b3; }
th[aria-sort="ascending"] a::after { content: " ▲"; color: var(--fg); }
th[aria-sort="descending"] a::after { content: " ▼"; color: var(--fg); }
tbody tr:nth-child(even) { background: #fafbfc; }
tr { break-inside: avoid; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; color: #fff;
  font-size: 11px; font-weight: 700; letter-spacing: .03em; white-space: nowrap; }
.badge.s-REJECT { background: var(--reject); } .badge.s-ERROR { background: var(--error); }
.badge.s-UNKNOWN { background: var(--unknown); } .badge.s-WARN { background: var(--warn); }
.badge.s-NO_CONFIG { background: var(--noconfig); } .badge.s-ALLOW { background: var(--allow); }
.later { display: block; margin-top: 3px; font-size: 11px; color: var(--muted); }
.arn.csc { display: block; font-size: 11px; }
.policy { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px;
  font-weight: 600; border: 1px solid var(--line); }
.policy.p-Enforce { border-color: var(--reject); color: var(--reject); }
.policy.p-Warn { border-color: var(--warn); color: var(--warn); }
.policy.p-none { color: var(--muted); }
.arn { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px;
  overflow-wrap: anywhere; }
.metric, .exception, .error, .until { display: block; font-size: 11px; color: var(--muted); }
.exception code { font-size: 11px; }
.error { color: var(--error); font-weight: 600; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px;
  background: #f2f4f7; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
.none { color: #98a2b3; } .unsigned { color: var(--warn); font-weight: 600; }
td.c-name .name { font-weight: 600; overflow-wrap: anywhere; }
td.c-message { min-width: 180px; }
#configs td { overflow-wrap: anywhere; }
td.c-expiry, td.c-region { white-space: nowrap; }
.where { display: block; margin-top: 2px; white-space: nowrap; font-size: 12px; }
ul.plain li { white-space: nowrap; }
td.expiry.soon time { color: var(--warn); font-weight: 700; }
td.expiry.expired time { color: var(--reject); font-weight: 700; }
details summary { cursor: pointer; color: var(--muted); font-size: 12px; }
details ul { margin: 4px 0; padding-left: 16px; font-size: 12px; }
ul.plain, ul.notes { margin: 0; padding-left: 16px; }
ul.plain { list-style: none; padding: 0; }
.status { font-size: 11px; font-weight: 600; }
.status.st-Revoked, .status.st-Canceled { color: var(--reject); }
.status.st-Active { color: var(--allow); } .status.st-Unknown { color: var(--unknown); }
.unused { font-size: 11px; color: var(--muted); border: 1px dashed #98a2b3; padding: 0 4px;
  border-radius: 4px; }
.plot { overflow-x: auto; }
#timeline { max-width: 100%; height: auto; font: 11px system-ui, "DejaVu Sans", sans-serif; }
#timeline .window { fill: #fef0c7; }
#timeline .window-label { fill: #93370d; font-weight: 600; }
#timeline .horizon { stroke: #b54708; stroke-dasharray: 4 3; }
#timeline .now { stroke: var(--fg); stroke-width: 1.5; }
#timeline .tick { stroke: #eaecf0; } #timeline .tick-label { fill: var(--muted); }
#timeline .lane { stroke: #f2f4f7; }
#timeline .row-label { fill: var(--fg); } #timeline .date { fill: var(--muted); }
#timeline .mark.inside { fill: var(--warn); } #timeline .mark.outside { fill: #667085; }
#timeline .mark.expired { fill: var(--reject); }
.legend { font-size: 12px; color: var(--muted); }
.key.inside { color: var(--warn); } .key.outside { color: #667085; }
.key.expired { color: var(--reject); }
@page { size: landscape; margin: 10mm; }
@media print {
  body { padding: 0; font-size: 10px; }
  table { font-size: 10px; }
  code, .arn, .arn.csc, .exception code { font-size: 9px; }
  td.c-signer details { display: none; }
  .no-print, th a::after { display: none; }
  thead th { position: static; }
  .scroll, .plot { overflow: visible; }
  section { break-inside: auto; }
  h2 { break-after: avoid; }
}
"""

# Sorting only: the rows are in the HTML. ``#sort=<key>`` / ``#sort=-<key>`` picks the
# column (the headers are links to it), empty keys sort last, ties keep the default order.
_SCRIPT: Final = """
(function () {
  "use strict";
  var table = document.getElementById("functions");
  if (!table || !table.tHead) { return; }
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function wanted() {
    var m = /(?:^#|&)sort=(-?)([a-z]+)/.exec(window.location.hash);
    var key = m ? m[2] : "standing";
    var known = heads.some(function (th) { return th.getAttribute("data-key") === key; });
    return known ? {key: key, desc: m ? m[1] === "-" : false} : {key: "standing", desc: false};
  }
  function apply() {
    var want = wanted();
    var col = 0;
    heads.forEach(function (th, i) { if (th.getAttribute("data-key") === want.key) { col = i; } });
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col] ? a.cells[col].getAttribute("data-sort") || "" : "";
      var y = b.cells[col] ? b.cells[col].getAttribute("data-sort") || "" : "";
      if (x !== y) {
        if (x === "") { return 1; }
        if (y === "") { return -1; }
        var c = x < y ? -1 : 1;
        return want.desc ? -c : c;
      }
      return Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    heads.forEach(function (th, i) {
      var on = i === col;
      th.setAttribute("aria-sort", on ? (want.desc ? "descending" : "ascending") : "none");
      var link = th.querySelector("a");
      var key = th.getAttribute("data-key");
      if (link) { link.setAttribute("href", "#sort=" + (on && !want.desc ? "-" : "") + key); }
    });
    table.setAttribute("data-sorted", (want.desc ? "-" : "") + want.key);
  }
  window.addEventListener("hashchange", apply);
  window.addEventListener("beforeprint", function () {
    var open = document.querySelectorAll("details[data-print-open]");
    Array.prototype.forEach.call(open, function (d) { d.open = true; });
  });
  apply();
})();
"""
