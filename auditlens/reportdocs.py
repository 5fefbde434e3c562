"""Render the report registry as Markdown, so ``docs/reports.md`` is derived, never hand-kept.

Regenerate with ``python -m auditlens.reportdocs > docs/reports.md``; a test fails when the
committed file and the registry disagree.
"""

from __future__ import annotations

from typing import Any


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def report_markdown(report: Any) -> str:
    """One report: what it answers, the requirement it serves, how to run it."""
    return "\n".join(
        [
            f"## `{report.name}`: {report.title} {{#{report.name}}}",
            "",
            f"**Requirement:** {_cell(report.requirement)}",
            "",
            " ".join((report.description or "").split()),
            "",
            "```sh",
            f"auditlens report {report.name} LOGS... -f xlsx -o {report.name}.xlsx",
            "```",
            "",
            "```python",
            f'out = auditlens.run_report("{report.name}", "LOGS/")  # .sections, .write(path, fmt)',
            "```",
            "",
        ]
    )


def render() -> str:
    from .export.html_writer import PAGE_ROWS
    from .reports import list_reports

    reports = list_reports()  # registry order: the order of the compliance export
    head = [
        "# Reports",
        "",
        (
            "Generated from the report registry in `auditlens/reports/` "
            "(`python -m auditlens.reportdocs > docs/reports.md`); do not edit by hand."
        ),
        "",
        (
            "Every report reads auditd and Kubernetes audit logs together (directories, globs, "
            "rotated and compressed files), takes `--since`, `--until`, `--user`, `--node` and "
            "`--namespace`, and writes any format of `-f` (csv, jsonl, json, parquet, md, xlsx, "
            "html). `auditlens report --list` lists them. Mistakes in the options and the "
            "output (unknown format, xlsx without openpyxl, a missing output directory, a bad "
            "`--tz` or period) are refused before the sources are read; on a terminal a bar "
            "shows the bytes read and the node being read."
        ),
        "",
        (
            "No format drops rows: a section longer than an XLSX sheet holds continues in further "
            f"sheets, and an HTML page shows the first {PAGE_ROWS:,} rows of a longer section and links "
            "the whole section as a CSV file beside the page "
            "([Reports with millions of rows](scale.md#large-reports))."
        ),
        "",
        "| report | answers | requirement |",
        "|---|---|---|",
        *(f"| [`{r.name}`](#{r.name}) | {_cell(r.title)} | {_cell(r.requirement)} |" for r in reports),
        "",
    ]
    return "\n".join(head) + "".join("\n" + report_markdown(r) for r in reports)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
