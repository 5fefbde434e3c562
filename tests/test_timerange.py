"""--since/--until parsing and time filtering (auditlens.timerange)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from auditlens.errors import AuditlensError
from auditlens.schema import TIME
from auditlens.timerange import filter_time, parse_time, time_range

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=timezone.utc)
UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("now", False, NOW),
        ("today", False, datetime(2024, 5, 10, tzinfo=UTC)),
        ("today", True, datetime(2024, 5, 10, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("yesterday", False, datetime(2024, 5, 9, tzinfo=UTC)),
        ("yesterday", True, datetime(2024, 5, 9, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("24h", False, NOW - timedelta(hours=24)),
        ("7d", True, NOW - timedelta(days=7)),
        ("30m", False, NOW - timedelta(minutes=30)),
        ("2w", False, NOW - timedelta(weeks=2)),
        ("90s", False, NOW - timedelta(seconds=90)),
        ("-7d", False, NOW - timedelta(days=7)),
        ("7d ago", False, NOW - timedelta(days=7)),
        ("2024-05-01", False, datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01", True, datetime(2024, 5, 1, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", True, datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00+02:00", False, datetime(2024, 5, 1, 8, tzinfo=UTC)),
        ("2024-05-01 10:00", False, datetime(2024, 5, 1, 10, tzinfo=UTC)),  # naive → UTC
        ("1 May 2024 10:00", False, datetime(2024, 5, 1, 10, tzinfo=UTC)),  # dateutil
        ("May 3 2024", True, datetime(2024, 5, 3, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("Fri, 03 May 2024 10:00:00 -0400", False, datetime(2024, 5, 3, 14, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, end: bool, expected: datetime) -> None:
    got = parse_time(text, now=NOW, end=end)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", "  ", "garbage", "12x", "tomorrowish", "7 parsecs"])
def test_garbage_is_a_clear_error(text: str) -> None:
    with pytest.raises(AuditlensError, match="time"):
        parse_time(text, now=NOW)


def test_whole_of_yesterday_and_reversed_range() -> None:
    lo, hi = time_range("yesterday", "yesterday", now=NOW)
    assert lo is not None and hi is not None
    assert hi - lo == timedelta(days=1) - timedelta(microseconds=1)
    with pytest.raises(AuditlensError, match="before --since"):
        time_range("today", "yesterday", now=NOW)


def test_filter_time_is_inclusive_and_drops_null_times_only_when_bounded() -> None:
    times = [datetime(2024, 5, 9, 0, tzinfo=UTC), datetime(2024, 5, 9, 23, 59, 59, 999_999, tzinfo=UTC),
             datetime(2024, 5, 10, 0, tzinfo=UTC), None]
    table = pa.table({"time": pa.array(times, TIME), "n": [0, 1, 2, 3]})
    assert filter_time(table, None, None).num_rows == 4
    got = filter_time(table, "yesterday", "yesterday", now=NOW)
    assert got["n"].to_pylist() == [0, 1]
    assert filter_time(table, "2024-05-10", None)["n"].to_pylist() == [2]
    with pytest.raises(AuditlensError, match="no 'start' column"):
        filter_time(table, "today", None, column="start", now=NOW)
