"""The compact ground-truth table: one CSV row per architecture, read and written by one code path.

Layout (see ``docs/ground-truth.md`` in the shared material):

* ``arch_index`` -- the benchmark's own index; ``arch`` -- its architecture string.
* Accuracy columns ``<dataset>/<split>@<hp>``: the final-epoch top-1 accuracy in percent, averaged
  over the seeds the benchmark trained, with the benchmark's own names. ``<hp>`` is the benchmark's
  training-schedule label, kept verbatim: ``200``/``12`` (NAS-Bench-201, NATS tss), ``01``/``12``/
  ``90`` (NATS sss). Examples: ``cifar10-valid/x-valid@200``, ``cifar10/ori-test@200``,
  ``cifar100/x-test@12``, ``ImageNet16-120/x-valid@90``.
* Cost columns (optional):

  - ``params`` (millions of parameters) and ``flops`` (millions of FLOPs) of the 10-class network
    (cifar10 / cifar10-valid, the values papers quote); ``cifar100/params``, ``cifar100/flops``,
    ``ImageNet16-120/params``, ``ImageNet16-120/flops`` for the datasets whose classifier (and, for
    ImageNet16-120, input size) differ.
  - ``<dataset>/train_time@<hp>``: seconds spent training the whole ``<hp>``-epoch schedule on
    ``<dataset>`` (benchmark's record, mean over seeds), e.g. ``cifar10-valid/train_time@12``.

Empty cells mean "not in this benchmark file". Writing is deterministic: columns come in a fixed
order (identity; accuracies by schedule, longest first, then dataset, then split; ``params``,
``flops``; per-dataset params/flops; training times; any other column alphabetically), rows by
``arch_index``, floats as Python's shortest round-trip ``repr`` and
integers without a decimal point, so the same data always gives the same bytes. Floats are written
rounded to 12 significant digits (far below any benchmark's measurement precision) so that
averaging noise such as ``0.8082759999999999`` is not written out.

Where tables live: ``<data_dir>/<space>/ground_truth.csv`` (``nb201``, ``nats-tss``, ``nats-sss``,
...), which is where ``nasbench data convert`` writes by default and where
:func:`find_ground_truth` looks first (each space's ``benchmark.ground_truth_file`` says so); for
``nb201`` and ``nats-tss`` it then falls back to the NB201 table shipped in the package
(:mod:`nasbench_cli.groundtruth.embedded`, read once per process by :func:`embedded_ground_truth`). Which
column is a benchmark's final test accuracy is a fact of the benchmark:
``space.benchmark.final_test_column(dataset)`` (:mod:`nasbench_cli.spaces.benchmark`).
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from nasbench_cli.errors import DataCorruptError, DataMissingError, InvalidArchError
from nasbench_cli.groundtruth import embedded
from nasbench_cli.output import format_float, write_text

INDEX_COLUMN = "arch_index"
ARCH_COLUMN = "arch"
#: file name of a space's table inside ``<data_dir>/<space>/``
TABLE_NAME = "ground_truth.csv"

#: per-dataset cost metrics; any other ``<dataset>/<name>@<hp>`` is an accuracy column
COST_METRICS = ("params", "flops", "train_time")
#: the benchmark's dataset and split order, used to order columns
DATASET_ORDER = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
SPLIT_ORDER = ("x-valid", "x-test", "ori-test", "valid", "test")
#: datasets whose networks are the 10-class ones: their params/flops go in the plain columns
TEN_CLASS_DATASETS = ("cifar10", "cifar10-valid")

_SCHEDULED = re.compile(r"^(?P<dataset>[^/@]+)/(?P<name>[^/@]+)@(?P<hp>[0-9]+)$")
_PER_DATASET = re.compile(r"^(?P<dataset>[^/@]+)/(?P<name>[^/@]+)$")
#: any column naming a dataset or a schedule: [<dataset>/]<name>[@<epochs>] (NB101's train_time@108 too)
_WELL_FORMED = re.compile(r"^(?:[^/@]+/)?[^/@]+(?:@[0-9]+)?$")


class ArchRecord(NamedTuple):
    """One architecture as read from an official archive: its results per training schedule."""

    index: int
    arch: str
    results: Mapping[str, Any]  # hp label -> the benchmark API's ArchResults
    source: str  # the file it came from, for error messages


def accuracy_column(dataset: str, split: str, hp: str) -> str:
    """The column name of an accuracy, e.g. ``cifar10/ori-test@200``."""
    return f"{dataset}/{split}@{hp}"


def parse_accuracy_column(name: str) -> Optional[Tuple[str, str, str]]:
    """``(dataset, split, hp)`` for an accuracy column name, None for any other column."""
    match = _SCHEDULED.match(name)
    if not match or match["name"] in COST_METRICS:
        return None
    return match["dataset"], match["name"], match["hp"]


def cost_column(metric: str, dataset: str, hp: Optional[str] = None) -> str:
    """The column of a cost metric: ``params``, ``cifar100/flops``, ``cifar10/train_time@12``."""
    if metric == "train_time":
        return f"{dataset}/train_time@{hp}"
    if dataset in TEN_CLASS_DATASETS:
        return metric
    return f"{dataset}/{metric}"


def _rank(value: str, order: Sequence[str]) -> Tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), value)


def _column_key(name: str) -> tuple:
    """Sort key giving the fixed column order documented in the module docstring."""
    if name == INDEX_COLUMN:
        return (0,)
    if name == ARCH_COLUMN:
        return (1,)
    acc = parse_accuracy_column(name)
    if acc:
        dataset, split, hp = acc
        return (2, -int(hp), hp, _rank(dataset, DATASET_ORDER), _rank(split, SPLIT_ORDER))
    if name in COST_METRICS[:2]:
        return (3, COST_METRICS.index(name))
    match = _PER_DATASET.match(name)
    if match and match["name"] in COST_METRICS[:2]:
        return (4, _rank(match["dataset"], DATASET_ORDER), COST_METRICS.index(match["name"]))
    match = _SCHEDULED.match(name)
    if match and match["name"] == "train_time":
        return (5, -int(match["hp"]), match["hp"], _rank(match["dataset"], DATASET_ORDER))
    return (6, name)


def order_columns(columns: Iterable[str]) -> List[str]:
    """Columns in the table's fixed order."""
    return sorted(columns, key=_column_key)


def _is_numeric_column(name: str) -> bool:
    if parse_accuracy_column(name) or name in ("params", "flops"):
        return True
    match = _PER_DATASET.match(name) or _SCHEDULED.match(name)
    return bool(match and match["name"] in COST_METRICS)


def _format_cell(value: Any) -> str:
    """One cell, formatted the same way on every platform."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        # 12 significant digits drop summation noise (0.8082759999999999 -> 0.808276)
        return format_float(value, digits=12, nan="")
    return str(value)


def _plain(value: Any) -> Any:
    """A pandas cell as a plain Python value (NaN -> None)."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


class GroundTruth:
    """A ground-truth table indexed by ``arch_index``.

    ``source`` is the file it came from (a Path), or a description where it came from no file of
    the user's (the embedded table: ``embedded NB201 table (sha256 ...)``); provenance records it.
    """

    def __init__(self, frame: pd.DataFrame, source: Optional[Union[str, Path]] = None):
        self.source: Optional[Union[Path, str]] = source
        self._frame = _validated(frame, self._name())

    def _name(self) -> str:
        return str(self.source) if self.source is not None else "ground-truth table"

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def read(cls, path: Union[str, Path]) -> "GroundTruth":
        """Read a table; DataCorruptError names the file and what is wrong with it."""
        from nasbench_cli.untrusted import CSV_BYTES, read_regular_file

        path = Path(path)
        try:  # the checked layer: regular file (a FIFO or device would block or never end), bounded
            data = read_regular_file(path, "ground-truth table (a CSV file)", CSV_BYTES)
        except DataMissingError:
            raise DataMissingError(f"{path}: no such ground-truth table") from None
        return cls(_parse_csv(io.BytesIO(data), str(path)), source=path)

    @classmethod
    def from_csv_bytes(cls, data: bytes, source: Union[str, Path]) -> "GroundTruth":
        """A table from CSV text in memory (the embedded table); errors name ``source``."""
        return cls(_parse_csv(io.BytesIO(data), str(source)), source=source)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]],
                  source: Optional[Union[str, Path]] = None) -> "GroundTruth":
        """A table from dicts (one per architecture); missing cells become empty."""
        rows = list(rows)
        columns = order_columns({key for row in rows for key in row} | {INDEX_COLUMN, ARCH_COLUMN})
        frame = pd.DataFrame.from_records(rows, columns=columns)
        return cls(frame, source=source)

    # --- access -------------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame indexed by ``arch_index`` (a copy: the table is read-only)."""
        return self._frame.copy()

    @property
    def columns(self) -> List[str]:
        """All columns except ``arch_index`` (the index), in table order."""
        return list(self._frame.columns)

    @property
    def accuracy_columns(self) -> List[str]:
        """The ``<dataset>/<split>@<hp>`` columns, in table order."""
        return [c for c in self._frame.columns if parse_accuracy_column(c)]

    @property
    def indices(self) -> List[int]:
        """The architecture indices in the table, ascending."""
        return [int(i) for i in self._frame.index]

    @property
    def evaluated_indices(self) -> List[int]:
        """The indices with at least one accuracy (a partial archive lists the others empty)."""
        columns = self.accuracy_columns
        if not columns:
            return []
        return [int(i) for i in self._frame.index[self._frame[columns].notna().any(axis=1)]]

    def __len__(self) -> int:
        return len(self._frame)

    def __contains__(self, index: object) -> bool:
        try:
            return int(index) in self._frame.index  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def _loc(self, index: int) -> pd.Series:
        try:
            return self._frame.loc[int(index)]
        except KeyError:
            raise InvalidArchError(
                f"architecture {index} is not in the ground-truth table {self._name()}") from None

    def arch(self, index: int) -> str:
        """The architecture string of ``index``."""
        return str(self._loc(index)[ARCH_COLUMN])

    def row(self, index: int) -> Dict[str, Any]:
        """Every column of ``index`` (with ``arch_index``) as plain values; empty cells are None."""
        series = self._loc(index)
        out: Dict[str, Any] = {INDEX_COLUMN: int(index)}
        out.update({col: _plain(series[col]) for col in self._frame.columns})
        return out

    def lookup(self, index: int) -> Optional[Dict[str, Any]]:
        """``row(index)``, or None when the table has no row for ``index``."""
        return self.row(index) if index in self else None

    def accuracies(self, index: int) -> Dict[str, Optional[float]]:
        """The accuracy columns of ``index``; empty cells are None."""
        series = self._loc(index)
        return {col: _plain(series[col]) for col in self.accuracy_columns}

    def accuracy(self, index: int, column: str) -> Optional[float]:
        """One accuracy (None when the cell is empty); InvalidArchError for an unknown column."""
        if column not in self._frame.columns:
            raise InvalidArchError(
                f"{self._name()} has no column '{column}'; accuracy columns: "
                f"{', '.join(self.accuracy_columns)}")
        return _plain(self._loc(index)[column])

    # --- writing ------------------------------------------------------------------------------
    def to_csv_text(self) -> str:
        """The table as CSV text, byte-identical for identical data."""
        columns = order_columns([INDEX_COLUMN, *self._frame.columns])
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        frame = self._frame.reset_index()[columns]
        for values in frame.itertuples(index=False, name=None):
            writer.writerow([_format_cell(v) for v in values])
        return buffer.getvalue()

    def write(self, path: Union[str, Path]) -> Path:
        """Write the table (atomically: a reader never sees half a file); returns the path."""
        return write_text(path, self.to_csv_text())


def _parse_csv(handle: io.BytesIO, name: str) -> pd.DataFrame:
    """The raw frame of a CSV table (a buffer the checked layer read); DataCorruptError names ``name``."""
    try:
        _check_header(_first_line(handle), name)
        return pd.read_csv(handle, dtype={ARCH_COLUMN: str}, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error,
            ValueError) as err:
        raise DataCorruptError(f"{name}: not a readable CSV table ({_one_line(err)})") from None


def _first_line(handle: io.BytesIO) -> str:
    """The header line of a CSV buffer (the buffer is rewound); NUL bytes are damage."""
    line = handle.readline()
    handle.seek(0)
    if b"\0" in line:
        raise ValueError("a NUL byte in the header (a binary or damaged file)")
    return line.decode("utf-8")


def _check_header(line: str, name: str) -> None:
    """Refuse what pandas would silently change or drop: a repeated column (read as 'x.1') and a
    column that looks like an accuracy or cost but is misspelt (``cifar10/ori-test@2OO``)."""
    header = next(csv.reader([line]), [])
    seen = set()
    for column in header:
        if column in seen:
            raise DataCorruptError(f"{name}: column '{column}' appears twice in the header")
        seen.add(column)
        if ("/" in column or "@" in column) and not _WELL_FORMED.match(column):
            raise DataCorruptError(f"{name}: column '{column}' is neither an accuracy "
                                   "(<dataset>/<split>@<epochs>, e.g. cifar10/ori-test@200) nor a cost column "
                                   "(<dataset>/params, <dataset>/train_time@<epochs>)")


def _one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _validated(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The frame indexed by an integer, unique ``arch_index``, numeric columns checked."""
    if INDEX_COLUMN not in frame.columns:
        raise DataCorruptError(f"{name}: no '{INDEX_COLUMN}' column (columns: "
                               f"{', '.join(map(str, frame.columns[:8]))})")
    if ARCH_COLUMN not in frame.columns:
        raise DataCorruptError(f"{name}: no '{ARCH_COLUMN}' column")
    index = pd.to_numeric(frame[INDEX_COLUMN], errors="coerce")
    if index.isna().any() or (index % 1 != 0).any() or (index < 0).any():
        bad = frame[INDEX_COLUMN][index.isna() | (index % 1 != 0) | (index < 0)].iloc[0]
        raise DataCorruptError(f"{name}: '{INDEX_COLUMN}' holds a non-integer value {bad!r}")
    if index.duplicated().any():
        raise DataCorruptError(
            f"{name}: '{INDEX_COLUMN}' {int(index[index.duplicated()].iloc[0])} appears twice")
    out = frame.drop(columns=[INDEX_COLUMN]).copy()
    out.index = pd.Index(index.astype("int64"), name=INDEX_COLUMN)
    out[ARCH_COLUMN] = out[ARCH_COLUMN].astype(object).where(out[ARCH_COLUMN].notna(), None)
    for column in out.columns:
        if not _is_numeric_column(column):
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() & out[column].notna()
        if bad.any():
            raise DataCorruptError(
                f"{name}: column '{column}' holds a non-numeric value "
                f"{out[column][bad].iloc[0]!r} (arch_index {int(out.index[bad][0])})")
        out[column] = values.astype("float64")
        if "train_time" not in column:  # unusable times are refused where a seconds budget uses them
            _check_range(out[column], column, name)
    return out.sort_index()


def _check_range(values: pd.Series, column: str, name: str) -> None:
    """Accuracies are percentages in 0..100 and params/flops are finite and not negative (empty
    cells are missing results): anything else is a damaged or mis-scaled table, named with its
    first row."""
    high = 100.0 if parse_accuracy_column(column) else np.inf
    bad = values.notna() & ~((values >= 0) & (values <= high) & np.isfinite(values))
    if bad.any():
        what = "an accuracy in 0..100 (%)" if high == 100.0 else "a finite, non-negative cost"
        raise DataCorruptError(f"{name}: column '{column}' holds {float(values[bad].iloc[0]):g} at arch_index "
                               f"{int(values.index[bad][0])}, not {what}")


def ground_truth_path(space: str, data_dir: Union[str, Path]) -> Path:
    """Where a space's table lives: ``<data_dir>/<space>/ground_truth.csv``.

    ``nasbench data convert`` writes there by default, so converting an official archive once makes
    every later command find it.
    """
    return Path(data_dir) / space / TABLE_NAME


@functools.lru_cache(maxsize=2)
def _embedded_table(path: Path) -> GroundTruth:
    """The checked, parsed embedded table at ``path``; cached, so a process parses it once."""
    table = GroundTruth.from_csv_bytes(embedded.read_embedded_csv(path), embedded.embedded_source())
    if len(table) != embedded.EMBEDDED_ROWS:
        raise DataCorruptError(f"{path}: expected {embedded.EMBEDDED_ROWS} rows in the embedded "
                               f"NB201 table, found {len(table)}")
    return table


def embedded_ground_truth() -> GroundTruth:
    """The NB201 table shipped in the package (sha256-checked; DataCorruptError when damaged)."""
    return _embedded_table(embedded.embedded_table_path())


def find_ground_truth(space: str, data_dir: Optional[Union[str, Path]], *,
                      use_embedded: bool = True) -> Optional[GroundTruth]:
    """The table of ``space``: ``<data_dir>/<space>/ground_truth.csv`` (the user's own conversion)
    first, else the embedded NB201 table where it serves ``space`` (``nb201``, ``nats-tss``) and
    ``use_embedded`` allows, else None. ``source`` says which one was found.

    Raises DataCorruptError (naming the file) when the chosen table exists but cannot be read.
    """
    if data_dir is not None:
        path = ground_truth_path(space, data_dir)
        if path.is_file():
            return GroundTruth.read(path)
    if use_embedded and embedded.serves(space):
        return embedded_ground_truth()
    return None
