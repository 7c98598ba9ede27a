"""Score CSVs read for analysis: which columns are scores (with their direction) and which accuracies.

Each column's role is taken, in this order of precedence, from:

1. the ``columns`` record of the CSV's provenance sidecar (``<csv>.provenance.json``), written by
   ``nasbench score``: ``{name: {"role": "id" | "score" | "accuracy" | "metadata" | "timing"}}``,
   a score with ``"direction": "max" | "min"``;
2. an older sidecar's ``proxies`` (``{name: direction}`` or a list of names): those columns are the
   scores, the accuracy columns are found by the rule below;
3. without a sidecar, the **column rule**: an accuracy column is named ``<dataset>/<split>@<hp>``
   (``cifar10/ori-test@200``; per-dataset cost columns such as ``cifar10/train_time@12`` are not
   accuracies); the id columns ``index``, ``arch_index``, ``arch`` and the timing columns
   ``seconds`` and ``<proxy>:seconds`` are skipped; every other column holding numbers is a score, so ``params``, ``flops`` or
   ``benchmark_params`` are kept and correlated. A column holding some numbers and some other text
   is a damaged score column and is an error; a column with no number at all (text, booleans) is
   not a score.

A score's direction ("max": higher is better) comes from the sidecar, else from the proxy registry
when the column is a registered proxy's name, else "max".

Several CSVs are concatenated (duplicate architecture indices keep their first row); a column's
role is the first one any of them gives it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import pandas as pd

from nasbench_cli.errors import DataCorruptError, DataMissingError, UsageError
from nasbench_cli.groundtruth.table import parse_accuracy_column
from nasbench_cli.output import DIRECTIONS, ROLE_ACCURACY, ROLE_SCORE, ROLES, SECONDS_SUFFIX, TIMING_COLUMN
from nasbench_cli.provenance import load_sidecar, sidecar_path

ID_COLUMNS = ("index", "arch_index", "arch")
DUPLICATE_KEYS = ("index", "arch_index")  # the first present one identifies an architecture's rows
SKIPPED_COLUMNS = frozenset((*ID_COLUMNS, TIMING_COLUMN))


@dataclass
class ScoreTable:
    """Score CSVs concatenated: the frame, its score columns (with direction) and accuracy columns."""

    frame: pd.DataFrame
    directions: Dict[str, str]  # score column -> "max" (higher is better) or "min", in column order
    accuracies: List[str]
    sources: List[Path]
    notes: List[str] = field(default_factory=list)

    @property
    def scores(self) -> List[str]:
        return list(self.directions)


@dataclass
class ColumnRoles:
    """The score columns (name -> direction, "" when the registry decides) and accuracy columns of one CSV."""

    scores: Dict[str, str]
    accuracies: List[str]


def is_accuracy_column(name: str) -> bool:
    """Accuracy columns are named ``<dataset>/<split>@<hp>`` (cost metrics excluded)."""
    return parse_accuracy_column(name) is not None


def load_score_table(paths: Sequence[Path]) -> ScoreTable:
    """Read and concatenate score CSVs; duplicate architecture indices keep their first row."""
    if not paths:
        raise UsageError("give at least one score CSV")
    paths = [Path(p) for p in paths]
    frames = [read_csv(path) for path in paths]
    roles = merged_roles(paths, frames)
    for path, frame in zip(paths, frames):  # each file checked on its own: errors name file and row
        for name in [c for c in frame.columns if c in roles.scores or c in roles.accuracies]:
            frame[name] = numeric_column(frame[name], str(name), path)
    frame, notes = _concatenate(frames, paths)
    columns = [str(c) for c in frame.columns]
    accuracy_columns = [c for c in columns if c in roles.accuracies and c not in roles.scores]
    if not accuracy_columns:
        raise UsageError(
            f"no accuracy column (named '<dataset>/<split>@<epochs>') found in "
            f"{', '.join(map(str, paths))}; columns: {', '.join(columns)}"
        )
    names = [c for c in columns if c in roles.scores]
    if not names:
        raise UsageError(f"no score columns found; columns: {', '.join(columns)}")
    directions = {name: roles.scores[name] or registered_direction(name) for name in names}
    return ScoreTable(frame, directions, accuracy_columns, paths, notes)


def merged_roles(paths: Sequence[Path], frames: Sequence[pd.DataFrame]) -> ColumnRoles:
    """The roles of every file's columns together; a column keeps the first role given to it."""
    scores: Dict[str, str] = {}
    accuracies: Dict[str, None] = {}
    for path, frame in zip(paths, frames):
        roles = column_roles(path, frame)
        for name, direction in roles.scores.items():
            scores.setdefault(name, direction)
        accuracies.update(dict.fromkeys(roles.accuracies))
    return ColumnRoles(scores, list(accuracies))


def _concatenate(frames: Sequence[pd.DataFrame], paths: Sequence[Path]) -> Tuple[pd.DataFrame, List[str]]:
    if len(frames) > 1:
        _check_same_numbering(frames, paths)
    frame, dropped = _drop_duplicate_ids(pd.concat(frames, ignore_index=True, sort=False))
    if not dropped:
        return frame, []
    shown = ", ".join(map(str, dropped[:10])) + (", ..." if len(dropped) > 10 else "")
    return frame, [f"{len(dropped)} duplicate architecture indices dropped (first row kept): {shown}"]


def _check_same_numbering(frames: Sequence[pd.DataFrame], paths: Sequence[Path]) -> None:
    """Several CSVs are parts of one table: each must number its rows with the same id column, and
    an index found in two files must name the same architecture there."""
    id_column = next((c for c in DUPLICATE_KEYS if c in frames[0].columns), None)
    arch_of: Dict[object, Tuple[object, Path]] = {}
    for frame, path in zip(frames, paths):
        if id_column is None or id_column not in frame.columns:
            raise DataCorruptError(f"{path}: no '{id_column or DUPLICATE_KEYS[0]}' column like {paths[0]}; "
                                   "CSVs correlated together must be parts of one score table")
        if "arch" not in frame.columns:
            continue
        for index, arch in zip(frame[id_column].tolist(), frame["arch"].tolist()):
            known = arch_of.setdefault(index, (arch, path))
            if known[0] != arch:
                raise DataCorruptError(f"{path}: {id_column} {index} is '{arch}' but '{known[0]}' in {known[1]} "
                                       "(scores of different spaces or index orders)")


def registered_direction(name: str) -> str:
    """The registered proxy's direction, or "max" for a column that is no registered proxy."""
    # imported here: the registry loads torch and every proxy module, which only this needs
    from nasbench_cli.proxies import PROXIES

    return PROXIES.get(name).direction if name in PROXIES else "max"


def read_csv(path: Path) -> pd.DataFrame:
    """A score CSV as a frame, through the checked input layer (``untrusted.read_csv_frame``:
    regular file, bounded, UTF-8 without NUL, distinct column names, rows as long as the header);
    one-line errors for a missing, special, unreadable or empty file."""
    from nasbench_cli.untrusted import read_csv_frame

    path = Path(path)
    if not os.path.lexists(path):
        raise DataMissingError(
            f"score CSV not found: {path} (write it with `nasbench score ... --out {path}`)"
        )
    try:
        frame = read_csv_frame(path, "score CSV")
    except DataMissingError:  # a link to nothing
        raise DataMissingError(f"score CSV not found: {path} (a link to a missing file)") from None
    if frame.empty:
        raise DataCorruptError(f"{path} has a header but no rows")
    return frame


def column_roles(csv_path: Path, frame: pd.DataFrame) -> ColumnRoles:
    """The roles of ``frame``'s columns: from the sidecar's ``columns``, its ``proxies``, or the rule."""
    record = load_sidecar(csv_path)
    present = [str(c) for c in frame.columns]
    sidecar = sidecar_path(csv_path)
    _refuse_search_output(csv_path, record, present)
    if record is not None and "columns" in record:
        roles = _declared_roles(record["columns"], sidecar)
        return ColumnRoles(
            {n: d for n, d in roles.scores.items() if n in present},
            [n for n in roles.accuracies if n in present],
        )
    accuracies = [c for c in present if is_accuracy_column(c)]
    if record is not None and record.get("proxies"):
        listed = _declared_proxies(record["proxies"], sidecar)
        return ColumnRoles({n: listed[n] for n in present if n in listed}, accuracies)
    return ColumnRoles({n: "" for n in rule_score_columns(frame, csv_path)}, accuracies)


#: columns only `nasbench search` writes (per-run CSV, and its summary): none of them is a score
_SEARCH_RUN_COLUMNS = frozenset({"run", "queries", "simulated_seconds"})
_SEARCH_SUMMARY_COLUMNS = frozenset({"column", "runs", "mean", "std"})


def _refuse_search_output(csv_path: Path, record: Optional[dict], present: Sequence[str]) -> None:
    """A search's per-run or summary CSV has run numbers, seeds and query counts, not scores:
    correlating them would report nonsense taus, so it is a usage error."""
    columns = set(present)
    if (record is not None and "algorithm" in record) or _SEARCH_RUN_COLUMNS <= columns \
            or _SEARCH_SUMMARY_COLUMNS <= columns:
        raise UsageError(f"{csv_path} is an output of `nasbench search` (runs, seeds, queries), not a score "
                         "CSV: correlate takes what `nasbench score` writes")


def _declared_roles(columns: object, sidecar: Path) -> ColumnRoles:
    if not isinstance(columns, dict):
        raise DataCorruptError(f"{sidecar}: 'columns' must map column names to {{\"role\": ...}}")
    scores, accuracies = {}, []
    for name, entry in columns.items():
        role = entry.get("role") if isinstance(entry, dict) else None
        if role not in ROLES:
            raise DataCorruptError(f"{sidecar}: role of column '{name}' is {role!r}, not one of {', '.join(ROLES)}")
        if role == ROLE_SCORE:
            scores[str(name)] = _direction(entry.get("direction"), name, sidecar)
        elif role == ROLE_ACCURACY:
            accuracies.append(str(name))
    return ColumnRoles(scores, accuracies)


def _declared_proxies(proxies: object, sidecar: Path) -> Dict[str, str]:
    """An older sidecar's ``proxies`` as {column: direction} ("" for bare names: registry decides)."""
    if isinstance(proxies, list):
        return {str(name): "" for name in proxies}
    if not isinstance(proxies, dict):
        raise DataCorruptError(f"{sidecar}: 'proxies' must map score columns to 'max' or 'min'")
    return {
        str(name): _direction(value.get("direction") if isinstance(value, dict) else value, name, sidecar)
        for name, value in proxies.items()
    }


def _direction(value: object, name: object, sidecar: Path) -> str:
    if value not in DIRECTIONS:
        raise DataCorruptError(f"{sidecar}: direction of '{name}' is {value!r}, not 'max' or 'min'")
    return str(value)


def rule_score_columns(frame: pd.DataFrame, path: Path) -> List[str]:
    """The score columns by the column rule (see the module docstring), in column order."""
    names = []
    for column in frame.columns:
        name = str(column)
        if (name in SKIPPED_COLUMNS or name.endswith(SECONDS_SUFFIX) or is_accuracy_column(name)
                or pd.api.types.is_bool_dtype(frame[column])):
            continue
        if pd.api.types.is_numeric_dtype(frame[column]):
            names.append(name)
        elif pd.to_numeric(frame[column], errors="coerce").notna().any():
            numeric_column(frame[column], name, path)  # some numbers, some text: say where
    return names


def numeric_column(column: pd.Series, name: str, path: Path) -> pd.Series:
    """``column`` as float64 (empty cells NaN); a cell that is not a number is a one-line error."""
    values = pd.to_numeric(column, errors="coerce").astype("float64")
    bad = values.isna() & column.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataCorruptError(
            f"{path}: column '{name}', row {row + 1} (line {row + 2}) holds a non-number: {column.iloc[row]!r}"
        )
    return values


def _drop_duplicate_ids(frame: pd.DataFrame) -> Tuple[pd.DataFrame, List[object]]:
    id_column = next((c for c in DUPLICATE_KEYS if c in frame.columns), None)
    if id_column is None:
        return frame, []
    duplicated = frame[id_column].duplicated(keep="first")
    dropped = sorted(set(frame.loc[duplicated, id_column].tolist()), key=str)
    return frame.loc[~duplicated].reset_index(drop=True), dropped


def score_table_from_frame(frame) -> ScoreTable:
    """The ScoreTable `nasbench correlate` builds, from a DataFrame (roles from ``attrs['columns']``
    when ``score`` made it, else the CSV column rule)."""
    source = Path("<DataFrame>")
    declared = frame.attrs.get("columns") if isinstance(frame.attrs.get("columns"), Mapping) else None
    present = [str(c) for c in frame.columns]
    if declared:
        scores = {c: declared[c].get("direction") or registered_direction(c)
                  for c in present if declared.get(c, {}).get("role") == "score"}
        accuracies = [c for c in present if declared.get(c, {}).get("role") == "accuracy"]
    else:
        scores = {c: registered_direction(c) for c in rule_score_columns(frame, source)}
        accuracies = [c for c in present if is_accuracy_column(c) and c not in scores]
    if not accuracies:
        raise UsageError(f"no accuracy column (named '<dataset>/<split>@<epochs>') in the frame; columns: "
                         f"{', '.join(present)}")
    if not scores:
        raise UsageError(f"no score columns found; columns: {', '.join(present)}")
    table = frame.reset_index(drop=True).copy()
    for column in [*scores, *accuracies]:
        table[column] = numeric_column(table[column], column, source)
    return ScoreTable(table, scores, accuracies, [source])


def as_score_table(source) -> ScoreTable:
    """A ScoreTable from a ScoreTable, a DataFrame (``nasbench_cli.api.score``'s, or any with score
    and accuracy columns), a score CSV path or several."""
    if isinstance(source, ScoreTable):
        return source
    if isinstance(source, pd.DataFrame):
        return score_table_from_frame(source)
    if isinstance(source, (str, Path)):
        return load_score_table([Path(source)])
    if isinstance(source, (list, tuple)) and source and all(isinstance(p, (str, Path)) for p in source):
        return load_score_table([Path(p) for p in source])
    raise TypeError(f"expected a DataFrame, a ScoreTable or score CSV path(s), not {type(source).__name__}")


def with_scores(table: ScoreTable, columns: Sequence[str]) -> ScoreTable:
    """``table`` with ``columns`` also taken as scores (a column added to a CSV or a frame after
    scoring, e.g. a combination of proxies): each must be a numeric column that is not an accuracy;
    its direction is the registered proxy's, else higher-is-better."""
    if not columns:
        return table
    present = [str(c) for c in table.frame.columns]
    frame = table.frame.copy()
    directions = dict(table.directions)
    for name in columns:
        if name not in present:
            raise UsageError(f"--score {name}: no such column in {', '.join(map(str, table.sources))}; "
                             f"columns: {', '.join(present)}")
        if name in table.accuracies:
            raise UsageError(f"--score {name}: that is an accuracy column, the target of the correlation")
        if name in SKIPPED_COLUMNS or name.endswith(SECONDS_SUFFIX):
            raise UsageError(f"--score {name}: that is an id or timing column (architecture numbers or seconds), "
                             "not a score")
        frame[name] = numeric_column(frame[name], name, table.sources[0])
        directions.setdefault(name, registered_direction(name))
    return ScoreTable(frame, directions, table.accuracies, table.sources, table.notes)
