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


def membership_markdown() -> str:
    """The auditd rules of every section as one table: the answer to "why is this row here?"."""
    from .reports.selections import AUDITD_RULES

    lines = [
        "## Why is this row here? (auditd) {#why}",
        "",
        (
            "An auditd event is in a section when every condition of one of the section's rows "
            "below holds (`auditlens/reports/selections.py`). A system call counts by what it "
            "asks to do to its file, the events' `access` column: `read`, `write`, `create`, "
            "`truncate`, `attr` (mode, owner, extended attributes) or `exec`, from the syscall "
            "(`rename`, `unlink` and `creat` write, `chmod` and `chown` change attributes, as the "
            "kernel classes them for `-w … -p rwxa` watches) and, for `open`/`openat`/`openat2`/"
            "`open_by_handle_at`, from its flags (`a1`, `a2` or the OPENAT2 record): `O_RDONLY` "
            "reads, `O_WRONLY` writes, `O_RDWR` does both, `O_CREAT` creates and `O_TRUNC` "
            "truncates (flag values per arch). So a denied `cat /etc/shadow` (`openat`, "
            "`O_RDONLY`, EACCES) is failed access to sensitive data, not an identity change; "
            "`echo >> /etc/passwd` (`O_WRONLY|O_CREAT|O_APPEND`) is a change even when denied. "
            "Kubernetes requests are selected by resource and verb (each report's text above)."
        ),
        "",
        "| section | record types | syscalls | access (syscall and flags) | and also |",
        "|---|---|---|---|---|",
    ]
    for name, rules in AUDITD_RULES.items():
        for i, rule in enumerate(rules):
            cells = [f"[`{name}`](#{name})" if i == 0 else ""]
            cells += [_cell(rule.doc(col)) or "any" for col in ("records", "syscalls", "access", "also")]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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
    body = "".join("\n" + report_markdown(r) for r in reports)
    return "\n".join(head) + body + "\n" + membership_markdown()


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
