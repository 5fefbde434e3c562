"""Render the table declarations as Markdown, so ``docs/tables.md`` is derived, never hand-kept.

Regenerate with ``python -m auditlens.schema.docs > docs/tables.md``; a test fails when the
committed file and the declarations disagree.
"""

from __future__ import annotations

import pyarrow as pa

from . import TABLES, TableSchema


def _type_text(t: pa.DataType) -> str:
    return str(t).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def table_markdown(table: TableSchema) -> str:
    rows = [
        f"## `{table.name}`",
        "",
        table.doc,
        "",
        "| column | type | meaning | from |",
        "|---|---|---|---|",
    ]
    for c, note in [*((c, "") for c in table), *((c, " (optional)") for c in table.optional)]:
        doc = c.doc.replace("|", "\\|")
        src = c.source.replace("|", "\\|")
        rows.append(f"| `{c.name}`{note} | {_type_text(c.type)} | {doc} | {src} |")
    return "\n".join(rows) + "\n"


def render() -> str:
    head = (
        "# Tables and columns\n\n"
        "Generated from the declarations in `auditlens/schema/` "
        "(`python -m auditlens.schema.docs > docs/tables.md`); do not edit by hand.\n"
    )
    return head + "".join("\n" + table_markdown(TABLES[name]) for name in sorted(TABLES))


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
