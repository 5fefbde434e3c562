"""What a report run checks before it reads: every mistake that does not need the input.

Reading a fleet takes minutes; a run that then fails on ``-o evidence.xlsx`` without openpyxl,
a misspelt ``--tz`` or an output directory that does not exist has wasted them. So
:func:`auditlens.run_report` (and through it the CLI) asks here first, and nothing is read or
written until every answer is yes. The checks are the writers' and readers' own
(:func:`auditlens.export.check_output`, the time range, the ``jobs`` and line limit
validators), so their messages are the ones a later failure would have given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auditlens.errors import AuditlensError
from auditlens.export import Format, check_output, get_format
from auditlens.export._base import Dest, resolve_tz
from auditlens.formats import SOURCE_TYPES
from auditlens.scheduler import requested_jobs
from auditlens.sources.lines import check_max_line
from auditlens.timerange import TimeBound, time_range


@dataclass(frozen=True)
class Checked:
    """The run's options as the reading and writing will use them."""

    since: datetime | None
    until: datetime | None
    fmt: str | None
    """The output format (None: no output asked for)."""


def preflight(
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    source_type: str = "auto",
    output: Dest | None = None,
    fmt: str | None = None,
    sections: bool = False,
    tz: str | None = None,
    jobs: int | None = 1,
    max_line_bytes: int | None = None,
) -> Checked:
    """Check a run's options; raise the first mistake (an :class:`AuditlensError`, or the
    ValueError the readers give for ``jobs`` and ``max_line_bytes``). Creates nothing on disk.

    ``sections``: the output holds several sections (``compliance``): csv and parquet then
    write a directory."""
    lo, hi = time_range(since, until)
    if source_type not in ("auto", *SOURCE_TYPES):
        raise AuditlensError(f"unknown source type {source_type!r}; known: auto, "
                             + ", ".join(SOURCE_TYPES))
    requested_jobs(jobs)
    if max_line_bytes is not None:
        check_max_line(max_line_bytes, max_line_bytes)
    writer: Format | None = None
    if output is not None:
        writer = check_output(output, fmt, sections=sections, tz=tz)
    else:  # the caller writes later (ReportOutput.write): what can be checked now is
        writer = None if fmt is None else get_format(fmt)
        resolve_tz(tz)
    return Checked(lo, hi, None if writer is None else writer.name)
