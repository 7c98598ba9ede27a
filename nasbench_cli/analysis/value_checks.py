"""Values checked where they enter: a column a figure or table draws is checked against its range
before anything is drawn, and a bad cell is one line naming the file, the column and the row.

A training-set size of 0, -5 or 1e308, a tau of 1e308 or a trial of -1 is not a result of any run:
drawn, it would look like one. Row numbers are 1-based data rows, with the file's line beside them
(the header is line 1).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, List

from nasbench_cli.errors import DataCorruptError
from nasbench_cli.untrusted import quote

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: more architectures than any benchmark holds (NB101: 423,624): a larger training set is no run's
MAX_TRAIN_SIZE = 10**7
#: more trials than any run makes
MAX_TRIALS = 10**6


def _bad(where: str, name: str, row: int, value: object, expected: str) -> DataCorruptError:
    return DataCorruptError(f"{where}: column '{name}', row {row + 1} (line {row + 2}) holds {quote(value)}, "
                            f"not {expected}")


def _cells(frame: "pd.DataFrame", name: str) -> List[object]:
    return frame[name].tolist()


def _as_float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean")
    if isinstance(value, str) and not value.strip():
        return math.nan
    return float(value)  # type: ignore[arg-type]


def integer_column(frame: "pd.DataFrame", name: str, where: str, low: int, high: int) -> "pd.Series":
    """Column ``name`` as int64, each cell a whole number in ``low..high`` (no blank)."""
    import pandas as pd

    values = []
    for row, cell in enumerate(_cells(frame, name)):
        try:
            number = _as_float(cell)
        except (TypeError, ValueError, OverflowError):
            raise _bad(where, name, row, cell, f"a whole number in {low}..{high}") from None
        if not (math.isfinite(number) and number == int(number) and low <= number <= high):
            raise _bad(where, name, row, cell, f"a whole number in {low}..{high}")
        values.append(int(number))
    return pd.Series(values, index=frame.index, dtype="int64", name=name)


def bounded_column(frame: "pd.DataFrame", name: str, where: str, low: float, high: float,
                   blank: bool = True) -> "pd.Series":
    """Column ``name`` as float64, each cell in ``[low, high]`` (blank/NaN allowed when ``blank``:
    a statistic that could not be computed)."""
    import pandas as pd

    values = []
    for row, cell in enumerate(_cells(frame, name)):
        try:
            number = _as_float(cell)
        except (TypeError, ValueError, OverflowError):
            raise _bad(where, name, row, cell, f"a number in [{low}, {high}]") from None
        if math.isnan(number):
            if not blank:
                raise _bad(where, name, row, cell, f"a number in [{low}, {high}]")
        elif not low <= number <= high:
            raise _bad(where, name, row, cell, f"a number in [{low}, {high}]")
        values.append(number)
    return pd.Series(values, index=frame.index, dtype="float64", name=name)


def text_column(frame: "pd.DataFrame", name: str, where: str, limit: int = 200) -> "pd.Series":
    """Column ``name`` as non-empty text of at most ``limit`` characters (a legend label)."""
    import pandas as pd

    values = []
    for row, cell in enumerate(_cells(frame, name)):
        text = "" if cell is None or (isinstance(cell, float) and math.isnan(cell)) else str(cell)
        if not text.strip() or len(text) > limit:
            raise _bad(where, name, row, cell, f"a name of 1..{limit} characters")
        values.append(text)
    return pd.Series(values, index=frame.index, dtype="object", name=name)
