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


def cloud_membership_markdown() -> str:
    """The service-event rules of every section: the cloud half of "why is this row here?"."""
    from .reports.audit_trail import PIPELINE_RULES
    from .reports.selections import CLOUD_RULES

    lines = [
        "## Why is this row here? (service events) {#why-cloud}",
        "",
        (
            "A service (cloud control-plane) event is in a section when one of the section's "
            "rows below holds (`CLOUD_RULES` in `auditlens/reports/selections.py`): its `action` "
            "matches the pattern (any case: Azure logs operation names in either), and, where the "
            "row says so, its outcome and reason code. Actions are the providers' own: IBM Cloud "
            "Activity Tracker `service.object.verb` (the `containers-kubernetes.*` actions of "
            "Red Hat OpenShift on IBM Cloud / IKS), CloudTrail `eventSource:eventName`, GCP "
            "`methodName`, Azure `operationName`. The row's actor is the person behind the "
            "caller when the event names one (`acting_for`), the caller then `acting_as`. An "
            "attempt counts like a success, as a refused `kubectl delete` does: its outcome says."
        ),
        "",
        "| section | provider | what | action pattern | outcome / reason code |",
        "|---|---|---|---|---|",
    ]
    for name, rules in CLOUD_RULES.items():
        for i, rule in enumerate(rules):
            cells = [f"[`{name}`](#{name})" if i == 0 else "", rule.provider, _cell(rule.doc),
                     f"`{_cell(rule.actions)}`" if rule.actions else "any",
                     _cell(" / ".join(", ".join(v) for v in (rule.outcomes, rule.codes) if v))
                     or "any"]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        (
            "[`audit-trail`](#audit-trail) takes the service events that change the audit "
            "pipeline (`pipeline-change`); each removal that succeeded is linked to the hole it "
            "opened in the cluster's API audit log (`pipeline-gap`: from the removal to the next "
            "restoring event of the same pipeline and cluster, else the end of what was read; "
            "`events_in_gap` counts the API audit events logged inside, 0 confirms the hole). "
            "The cluster is matched by the name or id the provider gives against the API log's "
            "`cluster`; an API log with no cluster name, read with service events of one "
            "cluster only, is taken to be that cluster's, and the finding says so."
        ),
        "",
        "| pipeline | changes | removals | restores | and the raw event matches |",
        "|---|---|---|---|---|",
    ]
    for p in PIPELINE_RULES:
        cells = [p.name, *(f"`{_cell(v)}`" if v else "-" for v in (p.changes, p.removals,
                                                                       p.restores, p.also))]
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
            "Every report reads auditd, Kubernetes audit logs and service (cloud control-plane) "
            "events together (directories, globs, rotated and compressed files), takes `--since`, `--until`, `--user`, `--node` and "
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
    return ("\n".join(head) + body + "\n" + membership_markdown() + "\n"
            + cloud_membership_markdown())


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
