"""Official benchmark archive -> compact ground-truth table (done once; the table is read after).

Formats recognised: the NAS-Bench-201 ``.pth`` file, the NATS-Bench fast-mode directory and the
NATS-Bench single-file ``.pickle.pbz2``. Each architecture's results are taken from the official
API's ``ArchResults`` objects: final-epoch accuracy averaged over seeds for every evaluated split,
parameters and FLOPs, and training time per schedule (column names in :mod:`.table`). The
NAS-Bench-101 ``.tfrecord`` is recognised too and converted by :mod:`nasbench_cli.nb101.reader`.

The converters here share one signature, ``(src, out=..., space=..., progress=...)``: each space's
``benchmark.converter`` names one (:mod:`nasbench_cli.spaces.benchmark`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from nasbench_cli.errors import DataCorruptError, DataMissingError, UsageError
from nasbench_cli.groundtruth.table import (
    ARCH_COLUMN,
    INDEX_COLUMN,
    ArchRecord,
    GroundTruth,
    accuracy_column,
    cost_column,
    ground_truth_path,
)

NB201_PTH, NATS_DIR, NATS_FILE = "nb201-pth", "nats-dir", "nats-file"
NB101_TFRECORD = "nb101-tfrecord"
#: toolkit spaces a converted table may be filed under, per benchmark family (NATS tss shares the
#: NAS-Bench-201 architectures and index order)
_SPACES = {"tss": ("nats-tss", "nb201"), "sss": ("nats-sss",), "nb201": ("nb201", "nats-tss"),
           "nb101": ("nb101",)}
_DESCRIPTIONS = {
    NB201_PTH: "NAS-Bench-201 .pth archive",
    NATS_DIR: "NATS-Bench fast-mode directory",
    NATS_FILE: "NATS-Bench single-file archive",
    NB101_TFRECORD: "NAS-Bench-101 tfrecord",
}
# what a malformed (but unpicklable) record raises when its results are read
_RECORD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, AssertionError, IndexError,
                  ArithmeticError, RecursionError)  # ArithmeticError: OverflowError of int(inf) too


@dataclass(frozen=True)
class ArchiveFormat:
    """A recognised archive: its kind, its path and the benchmark family ('nb201', 'tss', 'sss')."""

    kind: str
    path: Path
    family: Optional[str]

    @property
    def description(self) -> str:
        """What the file is, for messages (a kind not known here is its own description)."""
        return _DESCRIPTIONS.get(self.kind, self.kind)

    def spaces(self) -> Tuple[str, ...]:
        """The toolkit spaces this archive's table can be filed under (first: the default)."""
        return _SPACES[self.family] if self.family else ("nats-tss", "nats-sss")


@dataclass(frozen=True)
class ConversionReport:
    """What ``convert_archive`` wrote."""

    path: Path
    space: str
    format: ArchiveFormat
    rows: int
    columns: List[str]


def detect_archive(src: Union[str, Path]) -> ArchiveFormat:
    """The format of ``src``; DataMissingError if absent, DataCorruptError if unrecognised."""
    from nasbench_cli.groundtruth.nats_archive import detect_nats_space

    path = Path(src)
    if path.is_dir():
        return ArchiveFormat(NATS_DIR, path, detect_nats_space(path))
    if not path.is_file():
        raise DataMissingError(f"{path}: no such file or directory")
    if path.suffix == ".tfrecord":  # a headerless record stream: only its name tells
        return ArchiveFormat(NB101_TFRECORD, path, "nb101")
    from nasbench_cli.untrusted import open_regular

    with open_regular(path, "benchmark archive") as handle:
        magic = handle.read(4)
    if path.name.endswith(".pbz2") or magic.startswith(b"BZh"):
        return ArchiveFormat(NATS_FILE, path, detect_nats_space(path))
    if path.suffix == ".pth" or magic.startswith(b"PK\x03\x04") or magic[:1] == b"\x80":
        return ArchiveFormat(NB201_PTH, path, "nb201")
    raise DataCorruptError(
        f"{path}: unrecognised format (expected a NAS-Bench-201 .pth file, a NATS-Bench "
        f".pickle.pbz2 file, a NATS-Bench fast-mode directory or a NAS-Bench-101 .tfrecord)")


def choose_space(fmt: ArchiveFormat, space: Optional[str]) -> str:
    """The space to file the table under: ``space`` if compatible, else the archive's default."""
    allowed = fmt.spaces()
    if space is None:
        if fmt.family is None:
            raise UsageError(f"{fmt.path}: cannot tell whether this is the topology or the size "
                             "space from its name; pass --space nats-tss or --space nats-sss")
        return allowed[0]
    if space not in allowed:
        raise UsageError(f"{fmt.path} is a {fmt.description} of the "
                         f"{fmt.family or 'NATS-Bench'} benchmark; it cannot give the '{space}' "
                         f"table (possible: {', '.join(allowed)})")
    return space


def default_space(src: Union[str, Path]) -> str:
    """The space an archive's table is filed under when none is asked for (``data convert``)."""
    return choose_space(detect_archive(src), None)


def iter_records(fmt: ArchiveFormat, space: str, listing: Optional[List[str]] = None) -> Iterator[ArchRecord]:
    """The archive's architecture records, ascending by index; ``listing`` (when given) receives
    every architecture the archive lists, with results or not."""
    if fmt.kind == NB201_PTH:
        from nasbench_cli.groundtruth.nb201_pth import iter_nb201_records

        return iter_nb201_records(fmt.path, listing)
    from nasbench_cli.groundtruth.nats_archive import iter_nats_records

    return iter_nats_records(fmt.path, space, listing)


def _epochs(hp: str, source: str) -> int:
    try:
        epochs = int(hp)
    except (TypeError, ValueError, OverflowError):
        raise DataCorruptError(f"{source}: unknown training schedule {str(hp)[:40]!r}") from None
    if epochs < 1:  # no final epoch to read an accuracy from
        raise DataCorruptError(f"{source}: training schedule {str(hp)[:40]!r} has no epoch (not a benchmark record)")
    return epochs


def _mean_final_accuracy(results: Any, dataset: str, split: str) -> Optional[float]:
    """Final-epoch accuracy on ``split`` averaged over seeds (the official getter when it works).

    Records with incomplete eval times make the official getter raise although the accuracies are
    there; those are averaged here directly from the same fields.
    """
    try:
        return float(results.get_metrics(dataset, split, is_random=False)["accuracy"])
    except _RECORD_ERRORS:
        pass
    values = []
    for seed in results.dataset_seed[dataset]:
        run = results.all_results[(dataset, seed)]
        if int(run.epochs) < 1:  # blank accuracies would hide it: the record is damaged
            raise ValueError(f"a run of {int(run.epochs)} epochs on {dataset} (seed {seed}) has no final epoch")
        key = f"{split}@{int(run.epochs) - 1}"
        if key not in run.eval_acc1es:
            return None
        values.append(float(run.eval_acc1es[key]))
    return sum(values) / len(values) if values else None


def _costs(results: Any, dataset: str) -> Dict[str, Optional[float]]:
    """params (M), flops (M) and total training seconds (None when not recorded)."""
    try:
        costs = results.get_compute_costs(dataset)
        train = costs.get("T-train@total")
        return {"params": float(costs["params"]), "flops": float(costs["flops"]),
                "train_time": None if train is None else float(train)}
    except _RECORD_ERRORS:
        # The official getter needs seed 888 when seeds disagree, and train times everywhere.
        run = results.all_results[(dataset, results.dataset_seed[dataset][0])]
        return {"params": float(run.params), "flops": float(run.flop), "train_time": None}


def record_row(record: ArchRecord) -> Dict[str, Any]:
    """One table row from an architecture's results under every schedule."""
    row: Dict[str, Any] = {INDEX_COLUMN: record.index, ARCH_COLUMN: record.arch}
    # longest schedule first, so params/flops come from the most-trained record
    for hp in sorted(record.results, key=lambda h: -_epochs(h, record.source)):
        results = record.results[hp]
        try:
            _add_schedule(row, results, hp)
        except _RECORD_ERRORS as err:
            raise DataCorruptError(
                f"{record.source}: malformed results for architecture {record.index} "
                f"(schedule {hp}: {type(err).__name__}: {err})") from None
    return row


def _add_schedule(row: Dict[str, Any], results: Any, hp: str) -> None:
    for dataset in results.get_dataset_names():
        runs = [results.all_results[(dataset, s)] for s in results.dataset_seed[dataset]]
        if not runs:
            continue
        splits = set.intersection(*(set(run.eval_names) for run in runs))
        for split in sorted(splits):
            value = _mean_final_accuracy(results, dataset, split)
            if value is not None:
                row[accuracy_column(dataset, split, hp)] = value
        costs = _costs(results, dataset)
        for metric in ("params", "flops"):
            row.setdefault(cost_column(metric, dataset), costs[metric])
        if costs["train_time"] is not None:
            row[cost_column("train_time", dataset, hp)] = costs["train_time"]


def archive_table(src: Union[str, Path], space: Optional[str] = None,
                  progress: bool = False) -> GroundTruth:
    """The compact table of an official archive, in memory (``space``: see :func:`choose_space`).

    ``progress`` shows a bar on stderr (when it is a terminal): a full archive takes minutes.
    """
    fmt = detect_archive(src)
    return _build_table(fmt, choose_space(fmt, space), progress)


def _build_table(fmt: ArchiveFormat, space: str, progress: bool) -> GroundTruth:
    listing: List[str] = []
    records: Iterable[ArchRecord] = iter_records(fmt, space, listing)
    if progress:
        from nasbench_cli.logs import progress_bar

        total = None
        if fmt.kind == NATS_DIR:
            from nasbench_cli.groundtruth.nats_archive import record_files

            total = len(record_files(fmt.path))
        records = progress_bar(records, total=total, desc="architectures", unit="arch",
                               file=sys.stderr)
    rows = [record_row(record) for record in records]
    if not rows:
        raise DataMissingError(
            f"{fmt.path}: the {fmt.description} holds no architecture results "
            "(a fast-mode directory needs its NNNNNN.pickle.pbz2 files)")
    return GroundTruth.from_rows(complete_listing(rows, listing), source=fmt.path)


def complete_listing(rows: List[Dict[str, Any]], listing: Sequence[str]) -> List[Dict[str, Any]]:
    """``rows`` plus an accuracy-less row for every listed architecture without results, so that
    a partial archive still gives the space's whole index order (its meta lists every cell)."""
    have = {row[INDEX_COLUMN] for row in rows}
    missing = [{INDEX_COLUMN: index, ARCH_COLUMN: arch} for index, arch in enumerate(listing) if index not in have]
    return sorted(rows + missing, key=lambda row: row[INDEX_COLUMN]) if missing else rows


def convert_archive(src: Union[str, Path], out: Optional[Union[str, Path]] = None,
                    space: Optional[str] = None,
                    data_dir: Optional[Union[str, Path]] = None,
                    progress: bool = False) -> ConversionReport:
    """Convert ``src`` once into a table at ``out``.

    ``out`` defaults to ``<data_dir>/<space>/ground_truth.csv``, where :func:`find_ground_truth`
    looks.
    """
    fmt = detect_archive(src)
    space = choose_space(fmt, space)
    if out is None:
        if data_dir is None:
            raise UsageError("convert_archive needs an output path or a data directory")
        out = ground_truth_path(space, data_dir)
    if fmt.kind == NB101_TFRECORD:
        return convert_nb101(fmt.path, out, space=space, progress=progress)
    table = _build_table(fmt, space, progress)
    path = table.write(out)
    return ConversionReport(path=path, space=space, format=fmt, rows=len(table),
                            columns=[INDEX_COLUMN, *table.columns])


def convert_nb101(src: Union[str, Path], out: Union[str, Path], space: str = "nb101",
                  progress: bool = False) -> ConversionReport:
    """The NAS-Bench-101 tfrecord -> its table at ``out`` (streamed; no TensorFlow). The file is
    read as a tfrecord whatever its name."""
    from nasbench_cli.nb101.reader import convert_nb101_tfrecord

    if space != "nb101":
        raise UsageError(f"{src} is read as a NAS-Bench-101 tfrecord; it cannot give the '{space}' table")
    table = convert_nb101_tfrecord(src, out, progress=progress)
    return ConversionReport(path=Path(out), space=space,
                            format=ArchiveFormat(NB101_TFRECORD, Path(src), "nb101"),
                            rows=len(table), columns=list(table.columns))
