"""The public surface: a small sorted __all__, a cheap import, one schema vocabulary."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa

import auditlens
from auditlens.schema import TABLES, TIME


def test_all_is_sorted_and_resolvable() -> None:
    assert auditlens.__all__ == sorted(auditlens.__all__)
    for name in auditlens.__all__:
        assert getattr(auditlens, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        auditlens.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_does_not_pull_click_or_pandas() -> None:
    code = (
        "import sys, auditlens; "
        "bad = [m for m in ('click', 'pandas') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import auditlens imported: {out.stdout.strip()}"


def test_same_column_name_has_same_type_in_every_table() -> None:
    seen: dict[str, tuple[str, pa.DataType]] = {}
    for table in TABLES.values():
        for col in (*table, *table.optional):
            if col.name in seen:
                other, typ = seen[col.name]
                assert typ == col.type, f"{col.name}: {table.name} has {col.type}, {other} has {typ}"
            else:
                seen[col.name] = (table.name, col.type)


def test_time_columns_are_utc_microseconds() -> None:
    for table in TABLES.values():
        for col in table:
            if col.name == "time":
                assert col.type == TIME, table.name


def test_every_column_is_documented() -> None:
    for table in TABLES.values():
        assert table.doc
        for col in (*table, *table.optional):
            assert col.doc.strip(), f"{table.name}.{col.name} has no doc"


def test_docs_tables_match_the_schema_declarations() -> None:
    from pathlib import Path

    from auditlens.schema.docs import render

    committed = (Path(__file__).resolve().parents[1] / "docs" / "tables.md").read_text()
    assert committed == render(), "docs/tables.md is stale: python -m auditlens.schema.docs > docs/tables.md"
