"""The HTML report: charts of activity tables, summary cards, contents, and hostile log text.

Charts need matplotlib (``auditlens[plots]``, part of the test extra); the tests that draw skip
without it, and one test checks that the page then says why its charts are missing.
"""

from __future__ import annotations

import base64
import re
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.export import Figure, Section, write_sections, write_table
from auditlens.export.html_assets import CSP
from auditlens.export.plots import (
    MISSING_NOTE,
    activity_figures,
    duration_words,
    is_activity_shaped,
    label,
    plots_available,
)
from auditlens.schema import ACTIVITY, TIME

UTC = timezone.utc
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
HOSTILE = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "$\\frac{",  # mathtext would parse this as TeX and fail on the missing brace
    "_hidden",  # matplotlib leaves labels starting with "_" out of automatic legends
    "a-->b<!--",
    "\u202eevil\x00",
]

needs_plots = pytest.mark.skipif(
    not plots_available(), reason="matplotlib not installed (pip install 'auditlens[plots]')"
)


def activity_table(actors: list[str], *, minutes: int = 1, start: datetime = T0) -> pa.Table:
    """An ACTIVITY table: actor i acts at minute i*minutes; outcomes cycle through all three."""
    n = len(actors)
    outcomes = ["success", "failure", "denied"]
    columns = {
        "time": pa.array([start + timedelta(minutes=i * minutes) for i in range(n)], TIME),
        "actor": pa.array(actors, pa.string()),
        "outcome": pa.array([outcomes[i % 3] for i in range(n)], pa.string()),
        "object": pa.array([f"/etc/{a}" for a in actors], pa.string()),
    }
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in ACTIVITY.arrow})


@pytest.fixture(scope="module")
def sample_activity() -> pa.Table:
    return auditlens.activity(str(SAMPLE_LOGS))


def svg_texts(svg: bytes) -> list[str]:
    """The text matplotlib drew: with glyphs as paths, each text is kept in an XML comment."""
    return [m.strip() for m in re.findall(r"<!--(.*?)-->", svg.decode("utf-8"), re.DOTALL)]


def check_inert_svg(svg: bytes) -> None:
    root = ET.fromstring(svg)  # well-formed: nothing broke out of a text node or comment
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert not tags & {"script", "foreignObject", "iframe", "a", "image"}, tags
    attrs = [name for el in root.iter() for name in el.attrib]
    assert not [a for a in attrs if a.lower().startswith("on")]
    assert b"<script" not in svg and b"<svg onload" not in svg


# --- charts -----------------------------------------------------------------------------------


@needs_plots
def test_sample_logs_give_four_charts(sample_activity: pa.Table) -> None:
    figures = activity_figures(sample_activity)
    assert [f.title for f in figures] == [
        "Activity over time by actor",
        "Outcomes over time",
        "Actions by actor",
        "Top objects",
    ]
    for fig in figures:
        assert fig.mime == "image/svg+xml" and fig.alt
        check_inert_svg(fig.data)
    # the busiest actor of the sample logs is named in the legend and in the alt text
    assert "alice" in svg_texts(figures[0].data) and "alice" in figures[0].alt
    assert {"success", "failure", "denied"} <= set(svg_texts(figures[1].data))


@needs_plots
def test_far_apart_periods_get_a_panel_each() -> None:
    # logs two years apart: two panels instead of two hairlines on one long axis
    early = activity_table(["alice", "bob"] * 3)
    late = activity_table(["carol"] * 4, start=T0 + timedelta(days=730))
    figures = activity_figures(pa.concat_tables([early, late]))
    assert "2 periods" in figures[0].alt
    assert "period" not in activity_figures(early)[0].alt


@needs_plots
def test_charts_are_repeatable_byte_for_byte() -> None:
    table = activity_table(["alice", "bob", "carol"] * 5)
    assert [f.data for f in activity_figures(table)] == [f.data for f in activity_figures(table)]
    assert b"Date" not in activity_figures(table)[0].data  # no creation time in the metadata


@needs_plots
def test_time_zone_is_named_on_the_axis() -> None:
    table = activity_table(["alice"] * 30).select(["time", "actor"])  # one chart: quicker
    assert "time (UTC)" in svg_texts(activity_figures(table)[0].data)
    berlin = svg_texts(activity_figures(table, tz="Europe/Berlin")[0].data)
    assert "time (Europe/Berlin)" in berlin
    assert "10:00" in berlin and "09:00" not in berlin  # 09:00 UTC is 10:00 in Berlin in March


@needs_plots
def test_top_actors_by_name_and_the_rest_grouped() -> None:
    actors = [f"user{i:02d}" for i in range(12) for _ in range(12 - i)]  # user00 busiest
    table = activity_table(actors).select(["time", "actor"])
    texts = svg_texts(activity_figures(table, top=5)[0].data)
    assert [t for t in texts if t.startswith("user")] == [f"user{i:02d}" for i in range(5)]
    assert "7 others" in texts


def test_empty_or_unrelated_tables_give_no_charts() -> None:
    assert activity_figures(activity_table([])) == ()
    assert activity_figures(pa.table({"time": pa.array([T0], TIME)})) == ()
    assert activity_figures(pa.table({"v": ["a"]})) == ()
    assert not is_activity_shaped(pa.table({"actor": ["a"]}))  # no time: no charts on the page
    assert is_activity_shaped(activity_table(["a"]))


@needs_plots
def test_missing_columns_are_tolerated() -> None:
    table = activity_table(["alice", "bob", "bob"])
    no_outcome = activity_figures(table.drop_columns(["outcome"]))
    assert [f.title for f in no_outcome] == [
        "Activity over time by actor",
        "Actions by actor",
        "Top objects",
    ]
    only_outcome = activity_figures(table.select(["time", "outcome"]))
    assert [f.title for f in only_outcome] == ["Outcomes over time"]
    no_time = activity_figures(table.drop_columns(["time"]))
    assert [f.title for f in no_time] == ["Actions by actor", "Top objects"]


@needs_plots
def test_hostile_actor_names_stay_text_in_the_svg() -> None:
    figures = activity_figures(activity_table(HOSTILE * 3))
    assert len(figures) == 4
    for fig in figures:
        check_inert_svg(fig.data)
    legend = svg_texts(figures[0].data)
    assert "$\\frac{" in legend  # shown literally, not parsed as TeX
    assert "_hidden" in legend  # not dropped from the legend
    assert "\\u202eevil\\x00" in legend  # bidi override and NUL made visible
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in legend


def test_labels_are_one_line_and_short() -> None:
    assert label("a\nb\tc") == "a\\nb\\tc"
    long = label("/var/lib/kubelet/pods/" + "x" * 80 + "/volumes/secret")
    assert len(long) == 40 and "…" in long and long.endswith("volumes/secret")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (25.4, "25 s"), (250, "4 min 10 s"), (3600, "1 h"), (11100, "3 h 5 min"),
     (86400 * 2.5, "2.5 days"), (86400 * 936.4, "936 days")],
)  # fmt: skip
def test_duration_words(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words


# --- the page -----------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text("utf-8"))
    page.close()
    return page


def images(page: _Page) -> list[bytes]:
    out = []
    for tag, attrs in page.tags:
        if tag == "img":
            src = attrs["src"] or ""
            assert src.startswith("data:image/svg+xml;base64,")
            out.append(base64.b64decode(src.split(",", 1)[1]))
    return out


def stat_cards(text: str, section: str) -> list[tuple[str, str]]:
    part = text.split(f'id="s-{section}"', 1)[1].split("</section>", 1)[0]
    found = re.findall(
        r'class="stat[^"]*"><span class="n">([^<]*)</span><span class="l">([^<]*)<', part
    )
    return [(v, c) for v, c in found]


@needs_plots
def test_sections_get_cards_contents_and_charts(tmp_path: Path) -> None:
    busy = activity_table(["alice", "bob", "alice", "carol"])  # outcomes s, f, d, s
    sections = [
        Section("logins", "Logins", "Who logged in", busy, requirement="PCI DSS 10.2.1.1"),
        Section("quiet", "Quiet", "", busy.slice(0, 0)),
        Section("own", "Own figure", "", busy, figures=(Figure("mine", b"<svg/>"),)),
    ]
    write_sections(sections, tmp_path / "r.html", "html", title="Evidence")
    text = (tmp_path / "r.html").read_text("utf-8")
    assert stat_cards(text, "logins") == [
        ("4", "rows"),
        ("3", "actors"),
        ("2", "failures or denials"),
        ("3 min", "2024-03-01T09:00:00Z to 2024-03-01T09:03:00Z"),
    ]
    assert stat_cards(text, "quiet") == [
        ("0", "rows"),
        ("0", "actors"),
        ("0", "failures or denials"),
    ]
    toc = text.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#(s-[^"]+)"', toc) == ["s-logins", "s-quiet", "s-own"]
    assert "PCI DSS 10.2.1.4" not in toc and "PCI DSS 10.2.1.1" in toc
    assert '<a class="card warn" href="#s-logins">' in text  # failures mark the section card
    svgs = images(parse(tmp_path / "r.html"))
    assert len(svgs) == 4 + 1  # charts for "logins", the section's own figure for "own"
    assert svgs[-1] == b"<svg/>"


def test_page_says_why_charts_are_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    write_table(activity_table(["alice", "bob"]), tmp_path / "r.html", "html")
    page = parse(tmp_path / "r.html")
    assert images(page) == []
    assert MISSING_NOTE in "".join(page.text)
    assert "pip install 'auditlens[plots]'" in MISSING_NOTE


@needs_plots
def test_hostile_names_in_a_page_with_charts(tmp_path: Path) -> None:
    write_table(activity_table(HOSTILE * 2), tmp_path / "r.html", "html", title=HOSTILE[0])
    page = parse(tmp_path / "r.html")
    assert [t for t, _ in page.tags].count("script") == 1
    assert not [n for _, a in page.tags for n in a if n.startswith("on")]
    svgs = images(page)
    assert len(svgs) == 4
    for svg in svgs:
        check_inert_svg(svg)
    # the page's policy is unchanged by the charts: no inline script or style beyond ours
    assert "img-src data:" in CSP and "unsafe-inline" not in CSP and "default-src 'none'" in CSP


def test_print_layout_drops_controls_and_scrolling() -> None:
    from auditlens.export.html_assets import CSS

    printed = CSS.split("@media print{", 1)[1]
    assert ".tools input{display:none}" in printed
    assert ".scroll{max-height:none;overflow:visible" in printed
    assert "thead{display:table-header-group}" in printed  # headers repeat on every page
