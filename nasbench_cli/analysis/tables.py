"""Tables as text for people and papers: aligned text, markdown, LaTeX or CSV, from rows of cells.

Markdown and LaTeX come from ``tabulate`` (GitHub-flavoured pipes; booktabs rules), so no table
syntax is hand-made here; CSV uses the same writer conventions as every CSV of this project.
"""

from __future__ import annotations

import csv
import io
from typing import Sequence

#: --format choices of the commands that print tables
TABLE_FORMATS = ("text", "markdown", "latex", "csv")
_TABULATE_FORMATS = {"text": "plain", "markdown": "github", "latex": "latex_booktabs"}


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

    return tabulate([[str(cell) for cell in row] for row in rows], headers=list(headers),
                    tablefmt=_TABULATE_FORMATS[fmt], disable_numparse=True)
