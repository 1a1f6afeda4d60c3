"""Instants and durations, in one place.

Time is always passed in (``now`` parameters, ``--at`` options); only :func:`utcnow` reads
the system clock, and only callers at the edge (CLI, provider lifecycle) call it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from provider.errors import ValidationError


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC, at whole-millisecond precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_instant(text: str, *, field: str) -> datetime:
    """Parse an ISO-8601 instant; a value without offset is taken as UTC.

    Raises :class:`ValidationError` naming ``field`` when the text is not an instant.
    """
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValidationError(
            f"{field}: {text!r} is not an ISO-8601 instant (e.g. 2026-01-31T12:00:00Z)", field=field
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_instant(instant: datetime) -> str:
    """Format an instant as ISO-8601 UTC with milliseconds and a ``Z`` suffix."""
    utc = instant.astimezone(UTC)
    # the year padded to four digits by hand: strftime's %Y gives "999" for year 999 on glibc
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def days_in_month(year: int, month: int) -> int:
    """``calendar.monthrange(year, month)[1]``, without calendar's import (and its locale's):
    start-up time."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def add_months(instant: datetime, months: int) -> datetime:
    """Calendar-month addition; the day is clamped to the target month's last day."""
    month_index = instant.month - 1 + months
    year = instant.year + month_index // 12
    month = month_index % 12 + 1
    day = min(instant.day, days_in_month(year, month))
    return instant.replace(year=year, month=month, day=day)


def add_days(instant: datetime, days: int) -> datetime:
    """Add whole days."""
    return instant + timedelta(days=days)


#: A duration as the CLI takes one: whole numbers of weeks, days, hours, minutes, seconds.
_DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str, *, field: str) -> timedelta:
    """A duration such as ``7d``, ``12h``, ``30m`` or ``1d12h`` (whole numbers, each with
    ``w``, ``d``, ``h``, ``m`` or ``s``), longer than zero.

    Raises :class:`ValidationError` naming ``field`` for anything else.
    """
    import re  # only when a duration is given: start-up time

    parts = re.findall(r"([0-9]{1,6})([wdhms])", text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValidationError(
            f"{field}: {text!r} is not a duration such as 7d, 12h or 30m (whole numbers, "
            "each followed by w, d, h, m or s: weeks, days, hours, minutes, seconds)",
            field=field,
        )
    total = sum(
        (timedelta(**{_DURATION_UNITS[unit]: int(number)}) for number, unit in parts),
        timedelta(0),
    )
    if total <= timedelta(0):
        raise ValidationError(f"{field}: {text!r} must be longer than zero", field=field)
    return total


def format_age(age: timedelta) -> str:
    """A length of time for people, in at most its two largest units: ``4 days 23 hours``,
    ``12 minutes``, ``1 hour`` (rounded down; a negative age is shown by its size)."""
    remaining = int(abs(age).total_seconds())
    counts: list[tuple[str, int]] = []
    for name, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, remaining = divmod(remaining, size)
        counts.append((name, count))
    first = next((index for index, (_, count) in enumerate(counts) if count), None)
    if first is None:
        return "0 seconds"
    shown = [pair for pair in counts[first : first + 2] if pair[1]]
    return " ".join(f"{count} {name}{'' if count == 1 else 's'}" for name, count in shown)
