"""Screenshot of the compliance HTML report for the README (docs/img/report.png).

    python scripts/report_screenshot.py docs/img/report.png sample_logs/ [--section logins]

Builds ``auditlens report compliance SOURCES -f html``, opens it in headless Chromium scrolled
to one section (through a wrapper page with an iframe: ``--screenshot`` ignores a URL's
#fragment), and saves a 256-colour PNG, which keeps the picture small in the repository.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import auditlens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("sources", nargs="+", help="log files or directories")
    parser.add_argument("--section", default="logins", help="section to scroll to")
    parser.add_argument("--size", default="1280x900", help="window WIDTHxHEIGHT")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    from PIL import Image

    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        auditlens.run_report("compliance", args.sources).write(work / "report.html", "html")
        (work / "frame.html").write_text(
            "<!DOCTYPE html><html><head><style>html,body{margin:0;overflow:hidden}"
            f"iframe{{border:0;width:{width}px;height:{height}px;display:block}}</style></head>"
            f'<body><iframe src="report.html#s-{args.section}"></iframe></body></html>',
            "utf-8",
        )
        shot = work / "shot.png"
        subprocess.run(
            [
                chromium,
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--hide-scrollbars",
                f"--user-data-dir={work / 'profile'}",
                f"--window-size={width},{height}",
                f"--screenshot={shot}",
                (work / "frame.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        with Image.open(shot) as img:
            small = img.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
            small.save(args.out, optimize=True)
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
