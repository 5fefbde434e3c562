"""The HTML report in a real browser: Debian's headless Chromium renders it, as a reader would.

Why the command line and not Playwright or the DevTools protocol: ``chromium --headless`` with
``--dump-dom`` and ``--screenshot`` in one run gives the rendered DOM (after our script ran) and
a picture, and ``--enable-logging=stderr`` prints every console message, CSP violations
included, as a ``CONSOLE`` line. Playwright from PyPI would download its own browser build,
which CI cannot fetch; a DevTools client would be code to maintain for no extra check. Because
our page logs nothing, *any* console line is an error; a canary test proves the channel works,
so "no console lines" cannot pass just because logging broke.

Skips with a reason where Chromium is not installed (``scripts/test.sh`` installs it as root).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import SAMPLE_LOGS

import auditlens
from auditlens.export import Section, write_sections
from auditlens.export.plots import OUTCOME_COLOURS, plots_available
from auditlens.schema import ACTIVITY, TIME

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (scripts/test.sh installs it when root)"
)
Image = pytest.importorskip("PIL.Image", reason="Pillow (comes with matplotlib) reads screenshots")

WIDTH, HEIGHT = 1280, 900
CONSOLE = re.compile(r":CONSOLE[:(][^\]]*\] (.*)")
# payloads that would print to the console if the browser ever ran them
HOSTILE = [
    "<script>console.error('pwned-script')</script>",
    "\"><img src=x onerror=console.error('pwned-img')>",
    "<svg onload=console.error('pwned-svg')>",
]


@dataclass(frozen=True)
class Rendered:
    dom: str
    console: list[str]
    screenshot: Path
    height: int


def render(page: Path, tmp_path: Path, height: int = HEIGHT) -> Rendered:
    """Open ``page`` headless: the DOM after scripts ran, console messages, a screenshot."""
    assert CHROMIUM is not None
    shot = tmp_path / (page.stem + ".png")
    cmd = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={WIDTH},{height}",
        f"--screenshot={shot}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return Rendered(done.stdout, CONSOLE.findall(done.stderr), shot, height)


def check_screenshot(got: Rendered, *, charts: bool) -> None:
    """A real picture of the page: the window's size, many colours, the chart colours in it."""
    path = got.screenshot
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (WIDTH, got.height)
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "a blank or single-colour screenshot"
    if charts:  # the success green of the outcome bars: the SVG charts were drawn
        green = tuple(int(OUTCOME_COLOURS["success"][i : i + 2], 16) for i in (1, 3, 5))
        assert any(c == green for _, c in colours), "no chart colours on screen"


def check_page(got: Rendered, actor: str) -> None:
    assert got.console == [], "console messages (CSP violations count): " + "\n".join(got.console)
    assert f"<td>{actor}</td>" in got.dom, f"actor {actor!r} not in the rendered table"
    assert 'tabindex="0"' in got.dom, "our sorting script did not run (CSP hash mismatch?)"


def test_console_channel_reports_csp_violations(tmp_path: Path) -> None:
    """The canary: a page breaking its own policy must show up, or the checks below prove nothing."""
    page = tmp_path / "canary.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'\"></head><body><p>canary</p>"
        "<script>console.log('ran')</script></body></html>",
        "utf-8",
    )
    got = render(page, tmp_path)
    assert any("Content Security Policy" in line for line in got.console), got.console
    assert "<p>canary</p>" in got.dom


@pytest.fixture(scope="module")
def sample_activity() -> pa.Table:
    return auditlens.activity(str(SAMPLE_LOGS))


def test_activity_sections_render(sample_activity: pa.Table, tmp_path: Path) -> None:
    failed = sample_activity.filter(pc.not_equal(sample_activity["outcome"], "success"))
    sections = [
        Section("activity", "Who did what", "Every action", sample_activity, "PCI DSS 10.2.1"),
        Section("failed", "Failed and denied", "", failed, "PCI DSS 10.2.1.4"),
        Section("nothing", "Nothing here", "", sample_activity.slice(0, 0)),
    ]
    write_sections(sections, tmp_path / "activity.html", "html", title="Sample activity")
    got = render(tmp_path / "activity.html", tmp_path)
    check_page(got, "alice")
    assert got.dom.count("<img ") == (8 if plots_available() else 0)
    check_screenshot(got, charts=plots_available())


def test_hostile_names_do_not_run_in_the_browser(tmp_path: Path) -> None:
    n = len(HOSTILE) * 2
    start = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
    given = {
        "time": pa.array([start + timedelta(seconds=i) for i in range(n)], TIME),
        "outcome": pa.array(["failure"] * n),
        **{name: pa.array(HOSTILE * 2) for name in ("actor", "action", "object")},
    }
    table = pa.table({f.name: given.get(f.name, pa.nulls(n, f.type)) for f in ACTIVITY.arrow})
    write_sections(
        [Section(HOSTILE[0], HOSTILE[1], HOSTILE[2], table)], tmp_path / "x.html", "html"
    )
    got = render(tmp_path / "x.html", tmp_path)
    assert got.console == [], got.console
    assert "pwned" in got.dom  # there as text in cells and headings, never run
    assert "<script>console" not in got.dom and '<img src="x"' not in got.dom


def test_compliance_report_renders(tmp_path: Path) -> None:
    out = auditlens.run_report("compliance", [str(SAMPLE_LOGS)])
    out.write(tmp_path / "compliance.html", "html")
    # tall enough to show the first section's charts below the cover and the contents
    got = render(tmp_path / "compliance.html", tmp_path, height=3200)
    check_page(got, "alice")
    assert '<nav class="toc"' in got.dom and '<section class="data" id="s-logins">' in got.dom
    check_screenshot(got, charts=plots_available())
