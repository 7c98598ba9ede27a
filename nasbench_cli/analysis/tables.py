"""Tables as text for people and papers: aligned text, markdown, LaTeX or CSV, from rows of cells.

Markdown and LaTeX come from ``tabulate`` (GitHub-flavoured pipes; booktabs rules), so no table
syntax is hand-made here (the markdown rule line is only retouched, see ``_plain_left_rule``); CSV
uses the same writer conventions as every CSV of this project.
Columns of numbers (intervals such as ``[0.1, 0.2]`` included) are right-aligned, so that their
digits line up: ``---:`` in markdown, ``r`` in LaTeX; text columns stay left-aligned.
"""

from __future__ import annotations

import csv
import io
import re
from typing import List, Sequence

#: --format choices of the commands that print tables
TABLE_FORMATS = ("text", "markdown", "latex", "csv")
_TABULATE_FORMATS = {"text": "plain", "markdown": "pipe", "latex": "latex_booktabs"}
#: cells that do not make a column textual: blanks and the spellings of a missing number
_BLANKS = {"", "n/a", "na", "nan", "-", "--"}
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?|[-+]?inf"
_NUMERIC = re.compile(rf"^(?:{_NUMBER}|\[\s*(?:{_NUMBER})\s*,\s*(?:{_NUMBER})\s*\])$", re.IGNORECASE)


def is_numeric_column(cells: Sequence[object]) -> bool:
    """Whether a column holds numbers (or intervals of numbers), blanks aside, and one at least."""
    texts = [str(cell).strip() for cell in cells]
    values = [t for t in texts if t.lower() not in _BLANKS]
    return bool(values) and all(_NUMERIC.match(t) for t in values)


def column_alignment(rows: Sequence[Sequence[object]], width: int) -> List[str]:
    """'right' for each column of numbers, 'left' for the others."""
    return ["right" if is_numeric_column([row[i] for row in rows if i < len(row)]) else "left"
            for i in range(width)]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]], fmt: str = "text") -> str:
    """``rows`` under ``headers`` in ``fmt`` (one of TABLE_FORMATS); cells are shown as given
    (format numbers first: tabulate would otherwise re-round them)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    if fmt not in _TABULATE_FORMATS:
        raise ValueError(f"unknown table format {fmt!r}; choose from {', '.join(TABLE_FORMATS)}")
    from tabulate import tabulate

    alignment = column_alignment(rows, len(headers))
    text = tabulate([[str(cell) for cell in row] for row in rows], headers=list(headers),
                    tablefmt=_TABULATE_FORMATS[fmt], disable_numparse=True, colalign=alignment)
    return _plain_left_rule(text) if fmt == "markdown" else text


def _plain_left_rule(text: str) -> str:
    """tabulate's pipe format marks left columns ``:---``; left is markdown's default, so they get
    a plain ``----`` and only the numbers' ``---:`` stands out (``|---|---:|``)."""
    lines = text.split("\n")
    if len(lines) > 1:
        lines[1] = "|".join("-" + cell[1:] if cell.startswith(":") and not cell.endswith(":") else cell
                            for cell in lines[1].split("|"))
    return "\n".join(lines)
