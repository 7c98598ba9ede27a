"""Official NB101 tfrecord files -> one compact table row per module hash.

Each record's payload is the JSON list ``[module_hash, epochs, raw_adjacency, raw_operations,
raw_metrics]`` (metrics: base64 of a ModelMetrics proto). Records are streamed and folded into
per-(module, epochs) sums and maxima as they are read, so memory holds the aggregated table and
one read chunk, never the records.

Table layout (as ``ground-truth.md``): index and column ``arch_index`` = module hash, ``arch`` =
``<adjacency bits>|<operations>`` (see nasbench_cli.nb101.spec), then for every epoch budget E in
the file: ``cifar10/test@E`` and ``cifar10/valid@E`` (mean over the repeats, in %),
``cifar10/test-max@E`` and ``cifar10/valid-max@E`` (max over the repeats, in %),
``train_time@E`` (mean final training time, s); and ``params`` (trainable parameters). The
values are those of ``evaluation_data[2]`` (end of training), as in the benchmark's API. Rows
are sorted by hash whatever the record order: the official files list their modules in hash
order (the benchmark's run_evaluation.py trains them in sorted-hash order), so row i is the i-th
module of the official file and of the official API's ``hash_iterator()``, and the nb101 space's
index i (nasbench_cli.spaces.nb101).
"""

from __future__ import annotations

import binascii
import re
from array import array
from pathlib import Path
from typing import Dict, List, Tuple, Union

import numpy as np
import pandas as pd

from nasbench_cli.errors import DataCorruptError, DataMissingError
from nasbench_cli.nb101.metrics import ProtoError, final_metrics
from nasbench_cli.nb101.spec import INPUT, OPS, OUTPUT
from nasbench_cli.nb101.tfrecord import iter_records
from nasbench_cli.output import write_text
from nasbench_cli.untrusted import parse_json, read_csv_frame

#: where to download the official files
DOWNLOAD_URL = "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"
FLUSH_EVERY = 1 << 16
_OP_NAMES = {op.encode() for op in (INPUT, OUTPUT, *OPS)}
DATASET = "cifar10"

# The benchmark wrote payloads with json.dumps (", " separators); such a payload is decoded by
# this pattern, about 1.5x faster than json.loads (measured). Anything else (other spacing,
# escapes) falls back to json.loads, and a match never differs from what json.loads would give.
_PAYLOAD = re.compile(
    rb'\["([0-9a-f]{32})", (\d{1,6}), "([01]*)", "([a-z0-9,\-]*)", "([A-Za-z0-9+/=]*)"\]'
)


class _Aggregate:
    """Per-module first-seen fields and per-(module, epochs) count, sums and maxima.

    Records are buffered in flat arrays and folded into the 2-D (module x epoch budget) arrays
    with numpy every FLUSH_EVERY records, so the per-record cost is a few appends.
    """

    def __init__(self) -> None:
        self.rows: Dict[bytes, int] = {}  # module hash -> row
        self.adjacencies: List[bytes] = []
        self.operations: List[bytes] = []
        self.params = array("q")
        self._interned: Dict[bytes, bytes] = {}  # few distinct adjacency/ops strings: keep one copy
        self.slots: Dict[int, int] = {}  # epochs -> column
        self.count = np.zeros((0, 0), dtype=np.int32)
        self.sums = np.zeros((3, 0, 0))  # training time, validation, test
        self.maxs = np.zeros((2, 0, 0))  # validation, test
        self._clear()

    def _clear(self) -> None:
        self._row, self._col = array("q"), array("q")
        self._values = (array("d"), array("d"), array("d"))

    def is_new(self, module_hash: bytes) -> bool:
        return module_hash not in self.rows

    def add(self, module_hash: bytes, epochs: int, adjacency: bytes, ops: bytes, params: int,
            time: float, valid: float, test: float) -> None:
        """Fold in one record (adjacency, ops and params are kept from a module's first record)."""
        row = self.rows.get(module_hash)
        if row is None:
            row = self.rows[module_hash] = len(self.rows)
            self.adjacencies.append(self._interned.setdefault(adjacency, adjacency))
            self.operations.append(self._interned.setdefault(ops, ops))
            self.params.append(params)
        col = self.slots.get(epochs)
        if col is None:
            col = self.slots[epochs] = len(self.slots)
        self._row.append(row)
        self._col.append(col)
        values = self._values
        values[0].append(time)
        values[1].append(valid)
        values[2].append(test)
        if len(self._row) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Fold the buffered records into the arrays."""
        if not self._row:
            return
        self._grow(len(self.rows), len(self.slots))
        index = (np.frombuffer(self._row, dtype=np.int64), np.frombuffer(self._col, dtype=np.int64))
        time, valid, test = (np.frombuffer(v, dtype=np.float64) for v in self._values)
        np.add.at(self.count, index, 1)
        for k, values in enumerate((time, valid, test)):
            np.add.at(self.sums[k], index, values)
        np.maximum.at(self.maxs[0], index, valid)
        np.maximum.at(self.maxs[1], index, test)
        del index, time, valid, test  # release the buffer exports before the arrays are replaced
        self._clear()

    def _grow(self, num_rows: int, num_cols: int) -> None:
        rows, cols = self.count.shape
        if num_rows <= rows and num_cols <= cols:
            return
        new_rows = max(num_rows, 2 * rows, 1024) if num_rows > rows else rows  # geometric growth
        pad = ((0, new_rows - rows), (0, max(num_cols, cols) - cols))
        self.count = np.pad(self.count, pad)
        self.sums = np.pad(self.sums, ((0, 0),) + pad)
        self.maxs = np.pad(self.maxs, ((0, 0),) + pad, constant_values=-np.inf)

    def table(self) -> pd.DataFrame:
        """The compact table (see the module docstring), sorted by hash."""
        n = len(self.rows)
        hashes = np.empty(n, dtype=object)
        for module_hash, row in self.rows.items():
            hashes[row] = module_hash.decode("ascii")
        columns: Dict[str, object] = {
            "arch_index": hashes,
            "arch": [a.decode("ascii") + "|" + o.decode("ascii") for a, o in zip(self.adjacencies, self.operations)],
        }
        for epochs, col in sorted(self.slots.items()):
            count = self.count[:n, col]
            seen = count > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_time, mean_valid, mean_test = (np.where(seen, s[:n, col] / count, np.nan) for s in self.sums)
            max_valid, max_test = (np.where(seen, m[:n, col], np.nan) for m in self.maxs)
            columns[f"{DATASET}/test@{epochs}"] = 100.0 * mean_test
            columns[f"{DATASET}/test-max@{epochs}"] = 100.0 * max_test
            columns[f"{DATASET}/valid@{epochs}"] = 100.0 * mean_valid
            columns[f"{DATASET}/valid-max@{epochs}"] = 100.0 * max_valid
            columns[f"train_time@{epochs}"] = mean_time
        columns["params"] = np.frombuffer(self.params, dtype=np.int64).copy()
        return pd.DataFrame(columns, index=pd.Index(hashes, name="module_hash")).sort_index()


def _parse_slow(payload: memoryview, where: str) -> Tuple[bytes, int, bytes, bytes, bytes]:
    """json.loads path for payloads the fast pattern does not match; checks the structure."""
    try:
        item = parse_json(bytes(payload).decode("utf-8"), "payload")
    except UnicodeDecodeError as err:
        raise DataCorruptError(f"{where}: payload is not valid JSON ({err})") from None
    except DataCorruptError as err:  # the checked parser: bad JSON, or nested past its limit
        detail = "nested too deeply" if "nested too deeply" in str(err) else str(err).split(": ", 1)[-1]
        raise DataCorruptError(f"{where}: payload is not valid JSON ({detail})") from None
    if not (isinstance(item, list) and len(item) == 5):
        raise DataCorruptError(
            f"{where}: payload must be a JSON list [hash, epochs, adjacency, operations, metrics], "
            f"got {str(item)[:80]}"
        )
    module_hash, epochs, adjacency, operations, metrics = item
    if not (isinstance(epochs, int) and not isinstance(epochs, bool)) or not 0 < epochs <= 10**6:
        raise DataCorruptError(f"{where}: epochs must be an integer in 1..1000000, got {str(epochs)[:40]}")
    for name, value in (("hash", module_hash), ("adjacency", adjacency), ("operations", operations), ("metrics", metrics)):
        if not isinstance(value, str):
            raise DataCorruptError(f"{where}: {name} must be a string, got {value!r}"[:200])
    if set(adjacency) - {"0", "1"}:
        raise DataCorruptError(f"{where}: adjacency must be a '0'/'1' string, got '{adjacency[:60]}'")
    try:
        return (module_hash.encode("utf-8"), epochs, adjacency.encode("ascii"), operations.encode("utf-8"),
                metrics.encode("ascii"))
    except UnicodeEncodeError:
        raise DataCorruptError(f"{where}: metrics field is not base64 text") from None


def read_nb101_tfrecord(path: Union[str, Path], progress: bool = True) -> pd.DataFrame:
    """The compact table of an official NB101 tfrecord (see the module docstring).

    DataMissingError when the file is absent; DataCorruptError (naming the file and the byte
    offset of the bad record) on a bad CRC, truncated record, bad JSON, bad base64 or proto.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(
            f"NB101 archive not found at {path}; download nasbench_only108.tfrecord (~499 MB) "
            f"from {DOWNLOAD_URL} (or nasbench_full.tfrecord for all epoch budgets)"
        )
    from nasbench_cli.logs import progress_bar

    agg = _Aggregate()
    with progress_bar(total=path.stat().st_size, unit="B", unit_scale=True, enabled=progress,
                      desc=f"reading {path.name}") as bar:
        for offset, payload in iter_records(path, progress=bar.update):
            record = _decode_record(payload, path, offset)
            if agg.is_new(record[0]):
                _check_spec_fields(record[0], record[2], record[3], path, offset)
            agg.add(*record)
        agg.flush()
    if not agg.rows:
        raise DataCorruptError(f"{path}: no records (empty file?)")
    return agg.table()


def _decode_record(payload: memoryview, path: Path, offset: int) -> Tuple[bytes, int, bytes, bytes, int, float, float, float]:
    """(hash, epochs, adjacency, operations, params, final time, validation, test) of a payload."""
    match = _PAYLOAD.fullmatch(payload)
    if match is not None:
        module_hash, epochs, adjacency, ops, metrics = match.groups()
        epochs = int(epochs)
    else:
        module_hash, epochs, adjacency, ops, metrics = _parse_slow(payload, _where(path, offset))
    try:
        return (module_hash, epochs, adjacency, ops, *final_metrics(binascii.a2b_base64(metrics, strict_mode=True)))
    except binascii.Error as err:
        raise DataCorruptError(f"{_where(path, offset)}: metrics field is not valid base64 ({err})") from None
    except ProtoError as err:
        raise DataCorruptError(f"{_where(path, offset)}: metrics are not a ModelMetrics proto ({err})") from None


def _where(path: Path, offset: int) -> str:
    return f"{path}: record at byte offset {offset}"


def _check_spec_fields(module_hash: bytes, adjacency: bytes, ops: bytes, path: Path, offset: int) -> None:
    """Checks made once per module (its first record): hash form, adjacency size, op names."""
    where = _where(path, offset)
    if len(module_hash) != 32 or module_hash.strip(b"0123456789abcdef"):
        raise DataCorruptError(f"{where}: module hash {module_hash[:40]!r} is not 32 lowercase hex digits")
    names = ops.split(b",")
    if len(adjacency) != len(names) ** 2:
        raise DataCorruptError(
            f"{where}: adjacency has {len(adjacency)} bits but {len(names)} operations need {len(names) ** 2}"
        )
    unknown = set(names) - _OP_NAMES
    if unknown:
        raise DataCorruptError(f"{where}: unknown operation(s) {b', '.join(sorted(unknown)).decode(errors='replace')}")


def convert_nb101_tfrecord(source: Union[str, Path], dest: Union[str, Path], progress: bool = True) -> pd.DataFrame:
    """Read an official tfrecord and write its compact table as CSV (``dest``); returns it."""
    table = read_nb101_tfrecord(source, progress=progress)
    write_text(dest, table.to_csv(index=False))
    return table


def load_nb101_table(path: Union[str, Path]) -> pd.DataFrame:
    """A compact table written by ``convert_nb101_tfrecord``, indexed by module hash, sorted."""
    path = Path(path)
    if not path.exists():
        raise DataMissingError(
            f"NB101 table not found at {path}; convert the official archive ({DOWNLOAD_URL}) first"
        )
    try:
        table = read_csv_frame(path, "NB101 table", dtype={"arch_index": str, "arch": str})
    except DataMissingError:
        raise DataMissingError(f"NB101 table not found at {path} (a link to a missing file)") from None
    missing = {"arch_index", "arch"} - set(table.columns)
    if missing:
        raise DataCorruptError(f"{path}: NB101 table lacks column(s) {', '.join(sorted(missing))}")
    if table["arch_index"].duplicated().any():
        dup = table["arch_index"][table["arch_index"].duplicated()].iloc[0]
        raise DataCorruptError(f"{path}: module hash {dup} appears more than once")
    table.index = pd.Index(table["arch_index"], name="module_hash")
    return table.sort_index()
