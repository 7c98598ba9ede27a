"""Scores meet accuracies anywhere: a score table keyed by ``index`` (or ``arch_index``) or by
``arch`` joined to a benchmark's accuracies, for `correlate` and `plot scatter` (and the API's
``correlate``).

Where the accuracies come from (``AccuracySource``):

- ``space`` (with ``data_dir``): the space's own table, as every command finds it: the converted
  table ``<data_dir>/<space>/ground_truth.csv``, else the table embedded in the package (NB201 and
  NATS-TSS);
- ``ground_truth``: a ground-truth CSV file (``arch_index``, ``arch`` and accuracy columns, the
  format ``nasbench data convert`` writes); with ``space`` too, its architecture strings must be
  the space's at the same indices.

``dataset`` keeps the accuracy columns of that dataset (``cifar10`` keeps ``cifar10/...`` and
``cifar10-valid/...``); without it every accuracy column of the table is joined, as a score CSV
written by `nasbench score` holds them.

Keys: a row's ``index`` (or ``arch_index``) is the architecture's index in the space (its ``arch``,
when present, must be the space's string there); without an index column the ``arch`` strings are
looked up. A key that is no architecture of the space, or an ``arch`` that disagrees with the
index, is a one-line error naming the file and line; an index the table has no accuracy for gets
empty accuracies (and a note). Accuracy columns the score table already has are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from nasbench_cli.errors import DataCorruptError, DataMissingError, UsageError

INDEX_KEYS = ("index", "arch_index")
ARCH_KEY = "arch"


@dataclass(frozen=True)
class AccuracySource:
    """Which benchmark's accuracies to join: a space's table, or a ground-truth file."""

    space: Optional[str] = None
    dataset: Optional[str] = None
    ground_truth: Optional[Path] = None
    data_dir: Optional[Path] = None

    @property
    def given(self) -> bool:
        return bool(self.space) or self.ground_truth is not None

    def check(self) -> None:
        """--dataset alone names no table: a usage error before anything is read."""
        if self.dataset and not self.given:
            raise UsageError("--dataset chooses the accuracies joined from --space or --ground-truth; give one")


@dataclass
class JoinResult:
    """The joined score table, its notes and what provenance records of the join."""

    table: Any  # ScoreTable
    record: Dict[str, Any]


def load_truth(source: AccuracySource):
    """(ground truth, space or None) of ``source``; one-line errors for a missing or foreign table."""
    from nasbench_cli.groundtruth import GroundTruth
    from nasbench_cli.paths import resolve_data_dir
    from nasbench_cli.search.base import check_alignment
    from nasbench_cli.spaces import SPACES, create_space

    space = None
    if source.space:
        SPACES.get(source.space)  # an unknown space lists the known ones
        space = create_space(source.space, resolve_data_dir(source.data_dir))
    if source.ground_truth is not None:
        truth = GroundTruth.read(source.ground_truth)
    else:
        truth = space.ground_truth()
        if truth is None:
            where = space.benchmark.ground_truth_path(Path(space.data_dir)) if space.data_dir else None
            how = space.benchmark.ground_truth_source or "the benchmark's release"
            raise DataMissingError(f"no {space.name} accuracies to join: expected a table at {where}; make it "
                                   f"with {how}, or give --ground-truth FILE")
    if space is not None:
        check_alignment(space, truth)  # another space's table must not be joined by index
    return truth, space


def dataset_columns(columns: Sequence[str], dataset: Optional[str]) -> List[str]:
    """The accuracy columns of ``dataset`` (its own and its ``-valid`` variant), all without one."""
    if not dataset:
        return list(columns)
    wanted = dataset.lower()
    chosen = [c for c in columns if c.split("/", 1)[0].lower() in (wanted, f"{wanted}-valid")]
    if not chosen:
        datasets = sorted({c.split("/", 1)[0] for c in columns})
        raise UsageError(f"--dataset {dataset}: the ground truth has no accuracy of it; its datasets: "
                         f"{', '.join(datasets)}")
    return chosen


def _where(path: str, row: int) -> str:
    return f"{path}, line {row + 2}" if path != "<DataFrame>" else f"{path}, row {row}"


def frame_indices(frame, path: str, truth, space) -> Tuple[List[int], str]:
    """Each row's architecture index and the key it came from ("index", "arch_index" or "arch")."""
    key = next((c for c in INDEX_KEYS if c in frame.columns), None)
    size = len(space) if space is not None else None
    if key is not None:
        indices = []
        for row, cell in enumerate(frame[key].tolist()):
            try:
                value = float(cell)
            except (TypeError, ValueError):
                value = float("nan")
            if not value.is_integer() or value < 0 or (size is not None and value >= size):
                span = f" (0..{size - 1})" if size is not None else ""
                name = space.name if space is not None else "the ground truth"
                raise DataCorruptError(f"{_where(path, row)}: {key} {cell!r} is not an architecture index of "
                                       f"{name}{span}")
            indices.append(int(value))
        if ARCH_KEY in frame.columns:
            _check_arch_strings(frame[ARCH_KEY].tolist(), indices, path, truth, space)
        return indices, key
    if ARCH_KEY not in frame.columns:
        raise UsageError(f"{path}: no 'index', 'arch_index' or 'arch' column to join the accuracies by; "
                         f"columns: {', '.join(map(str, frame.columns))}")
    return _arch_indices(frame[ARCH_KEY].tolist(), path, truth, space), ARCH_KEY


def _known_arch(index: int, truth, space) -> Optional[str]:
    if space is not None:
        return space.arch_str(index)
    return truth.arch(index) if index in truth and "arch" in truth.columns else None


def _check_arch_strings(archs: Sequence[object], indices: Sequence[int], path: str, truth, space) -> None:
    name = space.name if space is not None else str(truth.source)
    for row, (arch, index) in enumerate(zip(archs, indices)):
        known = _known_arch(index, truth, space)
        if isinstance(arch, str) and known is not None and arch != known:
            raise DataCorruptError(f"{_where(path, row)}: architecture {index} is '{arch}' but {name} lists "
                                   f"'{known}' there (scores of another space or index order)")


def _arch_indices(archs: Sequence[object], path: str, truth, space) -> List[int]:
    """Indices of architecture strings: the space parses them (any spelling it accepts), else the
    ground truth's ``arch`` column is searched."""
    from nasbench_cli.errors import InvalidArchError

    lookup: Dict[str, int] = {}
    if space is None:
        frame = truth.frame
        if "arch" not in frame.columns:
            raise UsageError(f"{path} names architectures by 'arch' but {truth.source} has no arch column; "
                             "give --space to parse them")
        lookup = {str(a): int(i) for i, a in zip(frame.index.tolist(), frame["arch"].tolist())}
    indices = []
    for row, arch in enumerate(archs):
        text = str(arch)
        try:
            index = space.index_of(text) if space is not None else lookup[text]
        except (InvalidArchError, KeyError, ValueError):
            name = space.name if space is not None else str(truth.source)
            raise DataCorruptError(f"{_where(path, row)}: '{text}' is not an architecture of {name} "
                                   "(scores of another space?)") from None
        indices.append(int(index))
    return indices


def join_frame(frame, path: str, truth, space, columns: Sequence[str]):
    """``frame`` with ``columns`` of the ground truth joined by its key, the key, and the rows the
    table has no accuracy for (frame column names already there are left as they are)."""
    import numpy as np

    indices, key = frame_indices(frame, path, truth, space)
    table = truth.frame
    added = [c for c in columns if c not in frame.columns]
    joined = frame.copy()
    if key == ARCH_KEY:  # the join names each row by its index too, for duplicates and figures
        joined.insert(0, "index", indices)
    present = np.array([i in table.index for i in indices], dtype=bool)
    for column in added:
        values = np.full(len(indices), np.nan)
        if present.any():
            values[present] = table.loc[[i for i, p in zip(indices, present) if p], column].to_numpy(dtype=np.float64)
        joined[column] = values
    return joined, key, int((~present).sum())


def _source_frames(source):
    """(paths, frames, score name -> direction, the sources' own accuracy columns, display names)."""
    import pandas as pd

    from nasbench_cli.analysis.score_table import (
        is_accuracy_column, merged_roles, numeric_column, read_csv, registered_direction, rule_score_columns)

    if isinstance(source, pd.DataFrame):
        declared = source.attrs.get("columns") if isinstance(source.attrs.get("columns"), dict) else None
        if declared:
            scores = {c: declared[c].get("direction") or registered_direction(c)
                      for c in map(str, source.columns) if declared.get(c, {}).get("role") == "score"}
            own = [c for c in map(str, source.columns) if declared.get(c, {}).get("role") == "accuracy"]
        else:
            scores = {c: registered_direction(c) for c in rule_score_columns(source, Path("<DataFrame>"))}
            own = [c for c in map(str, source.columns) if is_accuracy_column(c) and c not in scores]
        return [], [source.reset_index(drop=True)], scores, own, ["<DataFrame>"]
    paths = [Path(p) for p in ([source] if isinstance(source, (str, Path)) else source)]
    if not paths:
        raise UsageError("give at least one score CSV")
    frames = [read_csv(path) for path in paths]
    roles = merged_roles(paths, frames)
    scores = {name: direction or registered_direction(name) for name, direction in roles.scores.items()}
    for path, frame in zip(paths, frames):  # checked per file: an error names file and row
        for name in [c for c in frame.columns if c in scores]:
            frame[name] = numeric_column(frame[name], str(name), path)
    return paths, frames, scores, list(roles.accuracies), [str(p) for p in paths]


def _joined_frame(frames, names, truth, space, columns):
    """The frames joined to the accuracies and concatenated, repeats dropped; (frame, keys, notes, missing)."""
    import pandas as pd

    joined_frames, keys, missing = [], [], 0
    for frame, name in zip(frames, names):
        joined, key, absent = join_frame(frame, name, truth, space, columns)
        joined_frames.append(joined)
        keys.append(key)
        missing += absent
    frame = pd.concat(joined_frames, ignore_index=True, sort=False)
    notes = []
    duplicated = frame["index"].duplicated(keep="first") if "index" in frame.columns else \
        frame["arch_index"].duplicated(keep="first")
    if duplicated.any():
        notes.append(f"{int(duplicated.sum())} repeated architectures dropped (first row kept)")
        frame = frame.loc[~duplicated].reset_index(drop=True)
    if missing:
        notes.append(f"{missing} architectures have no accuracy in {truth.source} (left out of the correlations)")
    return frame, keys, notes, missing


def joined_table(source, accuracies: AccuracySource, notify: Optional[Callable[[str], None]] = None) -> JoinResult:
    """The ScoreTable of ``source`` (score CSV path(s) or a DataFrame) with ``accuracies`` joined."""
    from nasbench_cli.analysis.score_table import ScoreTable, score_table_from_frame

    accuracies.check()
    truth, space = load_truth(accuracies)
    columns = dataset_columns(truth.accuracy_columns, accuracies.dataset)
    paths, frames, scores, own, names = _source_frames(source)
    frame, keys, notes, missing = _joined_frame(frames, names, truth, space, columns)
    kept = [c for c in own if c in frame.columns]
    if kept:
        notes.append(f"accuracy columns of the score table kept as they are: {', '.join(kept)}")
    accuracy_columns = [*kept, *[c for c in columns if c not in kept]]
    scores = {name: direction for name, direction in scores.items() if name in frame.columns}
    if not scores:
        raise UsageError(f"no score columns found; columns: {', '.join(map(str, frame.columns))}")
    frame.attrs = {"columns": {**{n: {"role": "score", "direction": d} for n, d in scores.items()},
                               **{c: {"role": "accuracy"} for c in accuracy_columns}}}
    table = score_table_from_frame(frame)
    table = ScoreTable(table.frame, table.directions, table.accuracies, paths or table.sources, notes)
    for text in notes:
        if notify is not None:
            notify(text)
    record = {
        "space": space.name if space is not None else None,
        "dataset": accuracies.dataset,
        "ground_truth": str(truth.source),
        "joined_by": sorted(set(keys)),
        "accuracy_columns": accuracy_columns,
        "rows_without_accuracy": missing,
    }
    return JoinResult(table, record)
