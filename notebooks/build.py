"""Write the notebooks (``*.ipynb``, without outputs) from their sources (``*.py``, percent format).

The ``.py`` files are what people review and edit: cells start with ``# %%`` (code) or
``# %% [markdown]`` (Markdown, every line a ``# `` comment). Run ``python notebooks/build.py``
after editing one; a test fails when a committed notebook and its source disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
_CELL = re.compile(r"^# %%(?P<markdown> \[markdown\])?[^\n]*\n", re.MULTILINE)


def cells(source: str) -> list[nbformat.NotebookNode]:
    """Split a percent-format script into notebook cells (text before the first marker is dropped)."""
    marks = list(_CELL.finditer(source))
    out = []
    for mark, nxt in zip(marks, [*marks[1:], None]):
        body = source[mark.end() : nxt.start() if nxt else len(source)].strip("\n")
        if mark.group("markdown"):
            text = "\n".join(re.sub(r"^# ?", "", line) for line in body.splitlines())
            out.append(nbformat.v4.new_markdown_cell(text))
        else:
            out.append(nbformat.v4.new_code_cell(body))
    return out


def notebook(source: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells(source.read_text())
    for i, cell in enumerate(nb.cells):  # stable ids, so a rebuild gives the same file
        cell.id = f"{source.stem[:2]}-{i:02d}"
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def render(source: Path) -> str:
    return nbformat.writes(notebook(source)) + "\n"


def sources() -> list[Path]:
    return sorted(p for p in HERE.glob("[0-9]*.py"))


def main() -> None:
    for src in sources():
        dest = src.with_suffix(".ipynb")
        dest.write_text(render(src))
        print(f"{src.name} -> {dest.name}", file=sys.stderr)


if __name__ == "__main__":
    main()
