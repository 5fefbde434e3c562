"""``--since`` / ``--until`` values: parse what people type, filter a table by it.

Accepted (all results are timezone-aware UTC):

- ISO 8601 (``2024-05-01``, ``2024-05-01T10:00:00Z``, with or without an offset) and anything
  else python-dateutil understands (``1 May 2024 10:00``); a time without a zone is UTC;
- relative spans ``30s``, ``30m``, ``24h``, ``7d``, ``2w`` (also ``-7d`` or ``7d ago``):
  *now minus that span*;
- ``now``, ``today``, ``yesterday`` (UTC midnight of that day).

Day precision and ``end=True``: an ``--until`` that names a day without a time (``today``,
``yesterday``, ``2024-05-01``) means the *end* of that day (23:59:59.999999), so
``--since yesterday --until yesterday`` is the whole of yesterday. Bounds are inclusive at both
ends (:func:`filter_time`); times are kept to the microsecond, so the end of a day is exact.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc

from .errors import AuditlensError

TimeBound = datetime | str | None
"""What :func:`filter_time` accepts for a bound: a datetime, text for :func:`parse_time`, None."""

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RELATIVE = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*([smhdw])(?:\s+ago)?$", re.IGNORECASE)
_END_OF_DAY = time(23, 59, 59, 999_999)


class TimeRangeError(AuditlensError):
    """A --since/--until value that cannot be read as a time, or a range that ends before it starts."""


def _utc(value: datetime) -> datetime:
    """Naive → UTC (logs and users mean UTC unless they say otherwise); aware → converted."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _day(day: date, end: bool) -> datetime:
    return datetime.combine(day, _END_OF_DAY if end else time(0), tzinfo=timezone.utc)


def _absolute(text: str, end: bool) -> datetime:
    """ISO 8601 first (strict, fast), then dateutil; a date without a time honours ``end``."""
    try:
        got = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        got = None
    if got is not None:
        date_only = re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", text) is not None
        return _day(got.date(), end) if date_only else _utc(got)

    from dateutil import parser  # only needed for the non-ISO forms

    # Parse twice with defaults that differ in the time of day: if the results differ, the text
    # named no time, so it is a day (start or end of it); if they agree, a time was given.
    try:
        low = parser.parse(text, default=datetime(2000, 1, 1, 0, 0, 0, 0))
        high = parser.parse(text, default=datetime(2000, 1, 1, 23, 59, 59, 999_999))
    except (ValueError, OverflowError) as exc:
        raise TimeRangeError(
            f"cannot read {text!r} as a time: use ISO 8601 (2024-05-01T10:00:00Z), a date, "
            "a span back from now (30m, 24h, 7d, 2w), now, today or yesterday"
        ) from exc
    if low.hour != high.hour:
        return _day(low.date(), end)
    return _utc(low)


def parse_time(text: str, *, now: datetime | None = None, end: bool = False) -> datetime:
    """Read one ``--since``/``--until`` value as an aware UTC datetime.

    ``now`` is for tests and for reports that must use one clock for both bounds; ``end=True``
    is for ``--until``: a day without a time then means the end of that day (see module doc).
    """
    if not isinstance(text, str):
        raise TimeRangeError(f"a time must be given as text, not {type(text).__name__}")
    value = text.strip()
    if not value:
        raise TimeRangeError("empty time value")
    clock = _utc(now) if now is not None else datetime.now(timezone.utc)
    word = value.lower()
    if word == "now":
        return clock
    if word == "today":
        return _day(clock.date(), end)
    if word == "yesterday":
        return _day(clock.date() - timedelta(days=1), end)
    rel = _RELATIVE.match(value)
    if rel is not None:
        amount, unit = float(rel.group(1)), rel.group(2).lower()
        try:
            return clock - timedelta(**{_UNITS[unit]: amount})
        except OverflowError as exc:
            raise TimeRangeError(f"time span {text!r} reaches before year 1") from exc
    return _absolute(value, end)


def _bound(value: TimeBound, end: bool, now: datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return None if value is None else _utc(value)
    return parse_time(value, now=now, end=end)


def time_range(since: TimeBound, until: TimeBound, *,
               now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """Both bounds as aware UTC datetimes (one clock for both); error if until is before since."""
    clock = now if now is not None else datetime.now(timezone.utc)
    lo, hi = _bound(since, False, clock), _bound(until, True, clock)
    if lo is not None and hi is not None and hi < lo:
        raise TimeRangeError(
            f"--until ({hi.isoformat()}) is before --since ({lo.isoformat()}): nothing can match"
        )
    return lo, hi


def filter_time(table: pa.Table, since: TimeBound = None, until: TimeBound = None,
                column: str = "time", *, now: datetime | None = None) -> pa.Table:
    """Rows of ``table`` with ``since <= column <= until`` (either bound may be None).

    With a bound given, rows whose time is null are left out: they cannot be shown to fall in
    the period. With no bound the table is returned as it is.
    """
    lo, hi = time_range(since, until, now=now)
    if lo is None and hi is None:
        return table
    if column not in table.column_names:
        raise TimeRangeError(f"table has no {column!r} column to filter on")
    col = table.column(column)
    typ = col.type
    if not pa.types.is_timestamp(typ):
        raise TimeRangeError(f"column {column!r} is {typ}, not a timestamp")
    # Bounds are UTC; a naive column is taken to be UTC too (auditlens columns always are).
    def scalar(v: datetime) -> pa.Scalar:
        return pa.scalar(v if typ.tz else v.replace(tzinfo=None), type=typ)

    mask = None
    if lo is not None:
        mask = pc.greater_equal(col, scalar(lo))
    if hi is not None:
        upper = pc.less_equal(col, scalar(hi))
        mask = upper if mask is None else pc.and_(mask, upper)
    return table.filter(mask)
