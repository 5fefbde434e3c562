"""Charts of an ACTIVITY-shaped table for the HTML report: who acted when, what failed, on what.

matplotlib (the optional extra ``auditlens[plots]``) draws them as SVG through its SVG backend
(no pyplot, no GUI, no global state): text becomes glyph paths of the bundled DejaVu font, so a
viewer needs no font and fetches nothing. Output is byte-for-byte repeatable (fixed
``svg.hashsalt``, no date in the metadata), so the same logs give the same report.

Labels come from the logs and are attacker-controlled. They are shown literally: mathtext is off
(an actor named ``$\\frac{`` would otherwise be parsed as TeX, and a malformed one would crash the
report), hidden characters are made visible, long ones are shortened in the middle, and
matplotlib escapes what it writes into the SVG. The writer embeds the SVG as a ``data:`` image,
where a browser runs no script.

Without matplotlib :func:`activity_figures` returns no figures and :func:`plots_available` says
why, so the page can tell its reader instead of leaving the charts out silently.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._base import Figure, resolve_tz
from .cells import show_hidden, timestamp_formatter

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

TOP_ACTORS = 8
"""Actors drawn by name; the rest are summed as "others"."""
TOP_OBJECTS = 12
MAX_BINS = 48
"""At most this many time buckets, so bars stay wide enough to see."""
MAX_LABEL = 40

MISSING_NOTE = "Charts are left out: matplotlib is not installed (pip install 'auditlens[plots]')."

OUTCOMES = ("success", "failure", "denied", "other")
"""The ACTIVITY outcomes in drawing order; anything else (and null) counts as ``other``."""
OUTCOME_COLOURS = {
    "success": "#009E73",
    "failure": "#E69F00",
    "denied": "#D55E00",
    "other": "#A0A0A0",
}
_OUTCOME_ALIASES = {
    "success": "success",
    "failure": "failure",
    "failed": "failure",
    "denied": "denied",
}

# Okabe–Ito, colour-blind safe, then two more distinct hues; "others" is grey
ACTOR_COLOURS = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#332288",
    "#882255", "#44AA99",
)  # fmt: skip
OTHERS_COLOUR = "#B8B8B8"
NONE_LABEL = "(none)"

RC: dict[str, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "auditlens",
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a93a3",
    "axes.labelcolor": "#1d2330",
    "axes.titlesize": 10,
    "xtick.color": "#3a4150",
    "ytick.color": "#3a4150",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e3e6ec",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}
"""matplotlib settings for every chart, applied in a context so the caller's rcParams stay as is."""

# (seconds, words) — the first step that gives at most MAX_BINS buckets is used
_STEPS = (
    (1, "second"), (2, "2 seconds"), (5, "5 seconds"), (10, "10 seconds"), (15, "15 seconds"),
    (30, "30 seconds"), (60, "minute"), (120, "2 minutes"), (300, "5 minutes"),
    (600, "10 minutes"), (900, "15 minutes"), (1800, "30 minutes"), (3600, "hour"),
    (7200, "2 hours"), (10800, "3 hours"), (21600, "6 hours"), (43200, "12 hours"),
    (86400, "day"), (2 * 86400, "2 days"), (7 * 86400, "week"), (14 * 86400, "2 weeks"),
    (30 * 86400, "30 days"), (91 * 86400, "91 days"), (365 * 86400, "365 days"),
)  # fmt: skip
_US = 1_000_000


def plots_available() -> bool:
    """Whether matplotlib can be imported (``auditlens[plots]``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


COLUMNS = ("time", "actor", "outcome", "object")
"""The columns the charts read."""


def is_activity_shaped(table: pa.Table) -> bool:
    """A table worth charting: a ``time`` timestamp column plus ``actor`` or ``outcome``."""
    names = table.schema.names
    if "time" not in names or not pa.types.is_timestamp(table.schema.field("time").type):
        return False
    return "actor" in names or "outcome" in names


def label(text: str, limit: int = MAX_LABEL) -> str:
    """Log text as a one-line chart label: hidden characters visible, long text cut in the middle."""
    text = show_hidden(text).replace("\n", "\\n").replace("\t", "\\t")
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 5
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


# --- data: arrays out of the Arrow table -------------------------------------------------------


@dataclass(frozen=True)
class _Codes:
    """A text column as integer codes into ``names`` (null shown as ``(none)``)."""

    codes: np.ndarray
    names: list[str]

    def counts(self, mask: np.ndarray | None = None) -> np.ndarray:
        codes = self.codes if mask is None else self.codes[mask]
        return np.bincount(codes, minlength=len(self.names))


def _codes(table: pa.Table, name: str) -> _Codes | None:
    if name not in table.schema.names:
        return None
    col: pa.ChunkedArray | pa.Array = table.column(name)
    typ = col.type
    if pa.types.is_dictionary(typ):
        col = col.cast(typ.value_type)
        typ = typ.value_type
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        try:
            col = pc.cast(col, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # nested values: nothing sensible to count by
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    names = [NONE_LABEL if v is None else str(v) for v in enc.dictionary.to_pylist()]
    codes = enc.indices.fill_null(len(names)).to_numpy(zero_copy_only=False).astype(np.int64)
    if (codes == len(names)).any():  # a null that the encoding kept as a null index
        names.append(NONE_LABEL)
    return _Codes(codes, names)


def _outcomes(table: pa.Table) -> np.ndarray | None:
    """Each row's outcome as an index into OUTCOMES."""
    found = _codes(table, "outcome")
    if found is None:
        return None
    lookup = np.array(
        [OUTCOMES.index(_OUTCOME_ALIASES.get(n.lower(), "other")) for n in found.names] or [0],
        dtype=np.int64,
    )
    return lookup[found.codes]


def _micros(table: pa.Table) -> tuple[np.ndarray, np.ndarray] | None:
    """``time`` as UTC microseconds and a mask of the rows that have one."""
    if "time" not in table.schema.names:
        return None
    col = table.column("time")
    if not pa.types.is_timestamp(col.type):
        return None
    col = col.cast(pa.timestamp("us", tz=col.type.tz))
    ints = pc.cast(col, pa.int64()).combine_chunks()
    valid = ints.is_valid().to_numpy(zero_copy_only=False)
    return ints.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64), valid


def _ranked(counts: np.ndarray, names: Sequence[str], n: int) -> list[int]:
    """The codes of the ``n`` largest counts, largest first, ties by name (repeatable)."""
    order = sorted(
        (i for i in range(len(names)) if counts[i] > 0), key=lambda i: (-counts[i], names[i])
    )
    return order[:n]


@dataclass(frozen=True)
class _Bins:
    origin: int  # microseconds, UTC, start of bucket 0
    step: int  # seconds
    words: str
    count: int

    def index(self, micros: np.ndarray) -> np.ndarray:
        return (micros - self.origin) // (self.step * _US)

    def starts(self) -> list[datetime]:
        base = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=self.origin)
        return [base + timedelta(seconds=self.step * i) for i in range(self.count)]


def _bins(first: int, last: int, tz: tzinfo) -> _Bins:
    """Buckets of a round size over [first, last], aligned to the reader's clock in ``tz``."""
    span = max(last - first, 0) / _US
    step, words = next(((s, w) for s, w in _STEPS if span / s < MAX_BINS), _STEPS[-1])
    if span / step >= MAX_BINS:  # longer than decades: grow the last step
        step = math.ceil(span / (MAX_BINS - 1))
        words = f"{step // 86400} days"
    start = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=first)
    offset = int((start.astimezone(tz).utcoffset() or timedelta()).total_seconds()) * _US
    origin = ((first + offset) // (step * _US)) * (step * _US) - offset
    count = int((last - origin) // (step * _US)) + 1
    return _Bins(origin, step, words, count)


# --- drawing ----------------------------------------------------------------------------------


def _svg(draw: Callable[[Any], None], size: tuple[float, float], *, fit: bool = True) -> bytes:
    """Draw into a new matplotlib figure and return it as SVG.

    ``fit`` lets constrained layout make room for labels of unknown width; it lays the figure
    out several times, so charts whose margins are known set them themselves (half the time).
    """
    import matplotlib
    from matplotlib.figure import Figure as MplFigure

    with matplotlib.rc_context(RC), warnings.catch_warnings():  # type: ignore[arg-type]
        warnings.simplefilter("ignore")  # e.g. "Glyph missing from font": a box is drawn instead
        fig = MplFigure(figsize=size, dpi=100, layout="constrained" if fit else None)
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "auditlens"})
    return buf.getvalue()


def _time_axis(ax: Axes, tz: tzinfo, ticks: int = 8) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=tz, minticks=2, maxticks=max(ticks, 3))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))


def _segments(times: np.ndarray) -> list[tuple[int, int]]:
    """Split time at long silences (a fleet of logs from different days) into at most 4 panels.

    A gap longer than a quarter of the whole span (and at least an hour) starts a new panel, so
    two bursts two years apart are two readable panels, not two hairlines on an empty axis.
    """
    stamps = np.unique(times)
    first, last = int(stamps[0]), int(stamps[-1])
    if len(stamps) < 2:
        return [(first, last)]
    gaps = np.diff(stamps)
    cuts = np.nonzero((gaps > (last - first) // 4) & (gaps >= 3600 * _US))[0]
    starts = [first] + [int(stamps[i + 1]) for i in cuts]
    ends = [int(stamps[i]) for i in cuts] + [last]
    return list(zip(starts, ends))


@dataclass(frozen=True)
class _Panel:
    bins: _Bins
    matrix: np.ndarray  # groups × buckets


def _panels(group: np.ndarray, groups: int, times: np.ndarray, tz: tzinfo) -> list[_Panel]:
    """Counts per (group, time bucket), one panel per stretch of activity."""
    panels = []
    for first, last in _segments(times):
        inside = (times >= first) & (times <= last)
        bins = _bins(first, last, tz)
        matrix = np.zeros((groups, bins.count))
        np.add.at(matrix, (group[inside], bins.index(times[inside])), 1)
        panels.append(_Panel(bins, matrix))
    return panels


def _stacked_over_time(
    panels: list[_Panel],
    labels: list[str],
    colours: list[str],
    tz: tzinfo,
    tz_name: str,
    legend_title: str,
) -> Callable[[Any], None]:
    def draw(fig: Any) -> None:
        import matplotlib.dates as mdates
        from matplotlib.patches import Patch

        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, panel in zip(axes, panels):
            bins = panel.bins
            x = mdates.date2num(bins.starts())
            width = bins.step / 86400
            edges = np.append(x, x[-1] + width)
            bottom = np.zeros(bins.count)
            for row, colour in zip(panel.matrix, colours):
                # one filled step outline per group: as fast for 2 buckets as for 48
                top = bottom + row
                ax.stairs(top, edges, baseline=bottom, fill=True, color=colour, linewidth=0)
                bottom = top
            pad = width * 0.5
            ax.set_xlim(x[0] - pad, x[-1] + width + pad)
            ax.set_ylim(0, max(float(bottom.max()), 1.0) * 1.05)
            ax.yaxis.get_major_locator().set_params(integer=True)
            _time_axis(ax, tz, ticks=8 // len(panels) + 1)
            if len(panels) > 1:
                day = bins.starts()[0].astimezone(tz).strftime("%Y-%m-%d")
                ax.set_title(f"{day} · per {bins.words}", fontsize=8, loc="left")
        if len(panels) == 1:
            axes[0].set_ylabel(f"actions per {panels[0].bins.words}")
        else:
            axes[0].set_ylabel("actions")
        handles = [Patch(color=c) for c in colours]
        axes[-1].legend(
            handles,
            labels,
            title=legend_title,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            alignment="left",
        )
        # margins in points: y tick labels and label on the left, the legend on the right
        width, height = fig.get_size_inches() * 72
        legend = max(len(t) for t in [*labels, legend_title]) * 5.0 + 40
        top = 20 if len(panels) > 1 else 8
        fig.subplots_adjust(
            left=52 / width,
            right=1 - legend / width,
            bottom=48 / height,
            top=1 - top / height,
            wspace=0.18,
        )
        middle = 0.5 * (52 / width + 1 - legend / width)
        fig.text(middle, 4 / height, f"time ({tz_name})", ha="center", va="bottom")

    return draw


def _stacked_bars(
    matrix: np.ndarray, labels: list[str], colours: list[str], rows: list[str], xlabel: str
) -> Callable[[Any], None]:
    """Horizontal bars, one per entry of ``rows`` (top first), stacked by outcome."""

    def draw(fig: Any) -> None:
        from matplotlib.patches import Patch

        ax = fig.add_subplot()
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        for col, colour in zip(matrix, colours):
            ax.barh(y, col, left=left, color=colour, height=0.7, linewidth=0)
            left += col
        ax.set_yticks(y, rows)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(xlabel)
        if len(labels) > 1:
            handles = [Patch(color=c) for c in colours]
            ax.legend(handles, labels, loc="lower right")
        width, height = fig.get_size_inches() * 72
        names = max((len(r) for r in rows), default=1) * 5.4 + 14  # points, at 9 pt DejaVu Sans
        fig.subplots_adjust(
            left=min(names, width * 0.5) / width,
            right=1 - 14 / width,
            bottom=34 / height,
            top=1 - 8 / height,
        )

    return draw


def _summary(names: Sequence[str], counts: Sequence[int] | np.ndarray, limit: int = 5) -> str:
    return ", ".join(f"{label(n)} {int(c):,}" for n, c in list(zip(names, counts))[:limit])


def _periods(panels: list[_Panel]) -> str:
    if len(panels) == 1:
        return f"per {panels[0].bins.words}"
    return f"in {len(panels)} periods with long silences between them"


def _actor_over_time(
    actors: _Codes, micros: np.ndarray, valid: np.ndarray, tz: tzinfo, tz_name: str, top: int
) -> Figure | None:
    if not valid.any():
        return None
    times = micros[valid]
    codes = actors.codes[valid]
    counts = np.bincount(codes, minlength=len(actors.names))
    ranked = _ranked(counts, actors.names, top)
    group = np.full(len(actors.names), len(ranked), dtype=np.int64)
    group[ranked] = np.arange(len(ranked))
    panels = _panels(group[codes], len(ranked) + 1, times, tz)
    labels = [label(actors.names[i], 28) for i in ranked]
    colours = list(ACTOR_COLOURS[: len(ranked)])
    others = int((counts > 0).sum()) - len(ranked)
    if others:
        labels.append(f"{others:,} others")
        colours.append(OTHERS_COLOUR)
    else:
        panels = [_Panel(p.bins, p.matrix[:-1]) for p in panels]
    draw = _stacked_over_time(panels, labels, colours, tz, tz_name, "actor")
    alt = (
        f"Stacked bars of actions {_periods(panels)} by actor, the {len(ranked)} most active "
        f"by name: {_summary([actors.names[i] for i in ranked], counts[ranked])}."
    )
    return Figure("Activity over time by actor", _svg(draw, (8.0, 3.2), fit=False), alt=alt)


def _outcomes_over_time(
    outcome: np.ndarray, micros: np.ndarray, valid: np.ndarray, tz: tzinfo, tz_name: str
) -> Figure | None:
    if not valid.any():
        return None
    times, codes = micros[valid], outcome[valid]
    totals = np.bincount(codes, minlength=len(OUTCOMES))
    used = [i for i in range(len(OUTCOMES)) if totals[i]]
    group = np.zeros(len(OUTCOMES), dtype=np.int64)
    group[used] = np.arange(len(used))
    panels = _panels(group[codes], len(used), times, tz)
    draw = _stacked_over_time(
        panels,
        [OUTCOMES[i] for i in used],
        [OUTCOME_COLOURS[OUTCOMES[i]] for i in used],
        tz,
        tz_name,
        "outcome",
    )
    alt = f"Stacked bars of actions {_periods(panels)} by outcome: " + _summary(
        [OUTCOMES[i] for i in used], totals[used]
    )
    return Figure("Outcomes over time", _svg(draw, (8.0, 3.2), fit=False), alt=alt + ".")


def _top_bars(
    what: _Codes, outcome: np.ndarray | None, top: int, title: str, xlabel: str, skip_none: bool
) -> Figure | None:
    counts = what.counts()
    if skip_none:
        counts = counts.copy()
        counts[[i for i, n in enumerate(what.names) if n == NONE_LABEL]] = 0
    ranked = _ranked(counts, what.names, top)
    if not ranked:
        return None
    rank = np.full(len(what.names), -1, dtype=np.int64)
    rank[ranked] = np.arange(len(ranked))
    rows = rank[what.codes]
    keep = rows >= 0
    if outcome is None:
        matrix = np.bincount(rows[keep], minlength=len(ranked)).astype(float)[None, :]
        labels, colours = ["actions"], [ACTOR_COLOURS[0]]
    else:
        matrix = np.zeros((len(OUTCOMES), len(ranked)))
        np.add.at(matrix, (outcome[keep], rows[keep]), 1)
        used = [i for i in range(len(OUTCOMES)) if matrix[i].any()]
        matrix = matrix[used]
        labels = [OUTCOMES[i] for i in used]
        colours = [OUTCOME_COLOURS[OUTCOMES[i]] for i in used]
    names = [label(what.names[i]) for i in ranked]
    height = 1.0 + 0.26 * len(ranked)
    draw = _stacked_bars(matrix, labels, colours, names, xlabel)
    alt = f"{title}: " + _summary([what.names[i] for i in ranked], counts[ranked], 8) + "."
    return Figure(title, _svg(draw, (8.0, max(height, 2.0)), fit=False), alt=alt)


def activity_figures(
    table: pa.Table, *, tz: str | tzinfo | None = None, top: int = TOP_ACTORS
) -> tuple[Figure, ...]:
    """Charts for a table with ACTIVITY columns; each is drawn only when its columns are there.

    Activity over time by actor (``time``, ``actor``; the ``top`` most active by name, the rest
    as "others"), outcomes over time (``time``, ``outcome``), actions by actor and by object
    (``actor``/``object``, stacked by ``outcome`` when present). An empty table, or one without
    these columns, gives no figures; so does a missing matplotlib (see :func:`plots_available`).
    """
    if table.num_rows == 0 or not plots_available():
        return ()
    if isinstance(tz, tzinfo):
        zone, tz_name = tz, getattr(tz, "key", None) or str(tz)
    else:
        zone, tz_name = resolve_tz(tz)
    if zone is timezone.utc:
        tz_name = "UTC"
    actors = _codes(table, "actor")
    objects = _codes(table, "object")
    outcome = _outcomes(table)
    times = _micros(table)
    figures: list[Figure | None] = []
    if times is not None and actors is not None:
        figures.append(_actor_over_time(actors, *times, zone, tz_name, top))
    if times is not None and outcome is not None:
        figures.append(_outcomes_over_time(outcome, *times, zone, tz_name))
    if actors is not None and len(actors.names) > 1:
        figures.append(
            _top_bars(actors, outcome, TOP_OBJECTS, "Actions by actor", "actions", False)
        )
    if objects is not None:
        figures.append(_top_bars(objects, outcome, TOP_OBJECTS, "Top objects", "actions", True))
    return tuple(f for f in figures if f is not None)


def time_span(table: pa.Table, tz: tzinfo) -> tuple[str, str, str] | None:
    """First and last ``time`` as text in ``tz`` (to the second) and the length in words."""
    found = _micros(table)
    if found is None or not found[1].any():
        return None
    micros = found[0][found[1]]
    first, last = int(micros.min()), int(micros.max())
    fmt = timestamp_formatter("s", tz)
    return fmt(first // _US), fmt(last // _US), duration_words((last - first) / _US)


def duration_words(seconds: float) -> str:
    """A length of time as people say it: "25 s", "4 min 10 s", "3 h 5 min", "12 days"."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"
    days = s / 86400
    return f"{days:.1f} days" if days < 10 else f"{round(days):,} days"


__all__ = [
    "MISSING_NOTE",
    "OUTCOMES",
    "activity_figures",
    "duration_words",
    "is_activity_shaped",
    "label",
    "plots_available",
    "time_span",
]
