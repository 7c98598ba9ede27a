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
are sorted by hash.
"""

from __future__ import annotations

import binascii
import json
import re
from array import array
from pathlib import Path
from typing import Dict, List, Tuple, Union

import numpy as np
import pandas as pd

from nasbench_cli.errors import DataCorruptError, DataMissingError
from nasbench_cli.nb101.metrics import ProtoError, final_metrics
from nasbench_cli.nb101.tfrecord import iter_records

#: where to download the official files
DOWNLOAD_URL = "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"
FLUSH_EVERY = 1 << 16
DATASET = "cifar10"

# The benchmark wrote payloads with json.dumps, whose output for these fields matches this
# pattern; a match is decoded without json.loads (the reader's hottest step). Anything else
# (other spacing, escapes) falls back to json.loads, so a match never changes the meaning.
_PAYLOAD = re.compile(
    rb'\[\s*"([0-9a-f]{32})"\s*,\s*(\d{1,6})\s*,\s*"([01]*)"\s*,\s*"([a-z0-9,\-]*)"\s*,\s*"([A-Za-z0-9+/=]*)"\s*\]'
)


class _Aggregate:
    """Per-(row, epoch slot) count, sums and maxima, grown as rows appear; fed in batches."""

    def __init__(self) -> None:
        self.slots: Dict[int, int] = {}  # epochs -> column
        self.count = np.zeros((0, 0), dtype=np.int32)
        self.sums = np.zeros((3, 0, 0))  # training time, validation, test
        self.maxs = np.zeros((2, 0, 0))  # validation, test
        self._clear()

    def _clear(self) -> None:
        self.rows, self.cols = array("q"), array("q")
        self.values = (array("d"), array("d"), array("d"))

    def slot(self, epochs: int) -> int:
        col = self.slots.get(epochs)
        if col is None:
            col = self.slots[epochs] = len(self.slots)
        return col

    def flush(self, num_rows: int) -> None:
        """Fold the buffered records into the arrays (num_rows = rows known so far)."""
        if not self.rows:
            return
        self._grow(num_rows, len(self.slots))
        rows = np.frombuffer(self.rows, dtype=np.int64)
        cols = np.frombuffer(self.cols, dtype=np.int64)
        values = [np.frombuffer(v, dtype=np.float64) for v in self.values]
        np.add.at(self.count, (rows, cols), 1)
        for k in range(3):
            np.add.at(self.sums[k], (rows, cols), values[k])
        for k in range(2):
            np.maximum.at(self.maxs[k], (rows, cols), values[k + 1])
        del rows, cols, values  # release the buffer exports before the arrays are replaced
        self._clear()

    def _grow(self, num_rows: int, num_cols: int) -> None:
        rows, cols = self.count.shape
        if num_rows <= rows and num_cols <= cols:
            return
        new_rows = max(num_rows, 2 * rows, 1024)  # geometric growth: amortised copies
        new_cols = max(num_cols, cols)
        pad = ((0, new_rows - rows), (0, new_cols - cols))
        self.count = np.pad(self.count, pad)
        self.sums = np.pad(self.sums, ((0, 0),) + pad)
        self.maxs = np.pad(self.maxs, ((0, 0),) + pad, constant_values=-np.inf)


def _parse_slow(payload: memoryview, where: str) -> Tuple[bytes, int, bytes, bytes, bytes]:
    """json.loads path for payloads the fast pattern does not match; checks the structure."""
    try:
        item = json.loads(bytes(payload).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise DataCorruptError(f"{where}: payload is not valid JSON ({err})") from None
    if not (isinstance(item, list) and len(item) == 5):
        raise DataCorruptError(
            f"{where}: payload must be a JSON list [hash, epochs, adjacency, operations, metrics], "
            f"got {str(item)[:80]}"
        )
    module_hash, epochs, adjacency, operations, metrics = item
    if not (isinstance(epochs, int) and not isinstance(epochs, bool)) or epochs <= 0:
        raise DataCorruptError(f"{where}: epochs must be a positive integer, got {epochs!r}")
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
    from tqdm import tqdm

    rows: Dict[bytes, int] = {}
    adjacencies: List[bytes] = []
    operations: List[bytes] = []
    params = array("q")
    interned: Dict[bytes, bytes] = {}  # few distinct adjacency/ops strings: store each once
    agg = _Aggregate()
    fast = _PAYLOAD.fullmatch
    b64 = binascii.a2b_base64
    buffered = 0
    with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, disable=not progress,
              desc=f"reading {path.name}") as bar:
        for offset, payload in iter_records(path, progress=bar.update):
            match = fast(payload)
            if match is not None:
                module_hash, epochs_text, adjacency, ops, metrics = match.groups()
                epochs = int(epochs_text)
            else:
                module_hash, epochs, adjacency, ops, metrics = _parse_slow(payload, _where(path, offset))
            try:
                num_params, time, valid, test = final_metrics(b64(metrics, strict_mode=True))
            except binascii.Error as err:
                raise DataCorruptError(f"{_where(path, offset)}: metrics field is not valid base64 ({err})") from None
            except ProtoError as err:
                raise DataCorruptError(f"{_where(path, offset)}: metrics are not a ModelMetrics proto ({err})") from None
            row = rows.get(module_hash)
            if row is None:
                _check_spec_fields(adjacency, ops, path, offset)
                row = rows[module_hash] = len(rows)
                adjacencies.append(interned.setdefault(adjacency, adjacency))
                operations.append(interned.setdefault(ops, ops))
                params.append(num_params)
            agg.rows.append(row)
            agg.cols.append(agg.slot(epochs))
            agg.values[0].append(time)
            agg.values[1].append(valid)
            agg.values[2].append(test)
            buffered += 1
            if buffered == FLUSH_EVERY:
                agg.flush(len(rows))
                buffered = 0
        agg.flush(len(rows))
    if not rows:
        raise DataCorruptError(f"{path}: no records (empty file?)")
    return _table(rows, adjacencies, operations, params, agg)


def _where(path: Path, offset: int) -> str:
    return f"{path}: record at byte offset {offset}"


def _check_spec_fields(adjacency: bytes, ops: bytes, path: Path, offset: int) -> None:
    vertices = ops.count(b",") + 1
    if len(adjacency) != vertices * vertices:
        raise DataCorruptError(
            f"{_where(path, offset)}: adjacency has {len(adjacency)} bits but {vertices} operations "
            f"need {vertices * vertices}"
        )


def _table(rows: Dict[bytes, int], adjacencies: List[bytes], operations: List[bytes], params: array,
           agg: _Aggregate) -> pd.DataFrame:
    n = len(rows)
    hashes = np.empty(n, dtype=object)
    for module_hash, row in rows.items():
        hashes[row] = module_hash.decode("ascii", "replace")
    columns: Dict[str, object] = {
        "arch_index": hashes,
        "arch": [adj.decode("ascii") + "|" + ops.decode("utf-8", "replace") for adj, ops in zip(adjacencies, operations)],
    }
    for epochs, col in sorted(agg.slots.items()):
        count = agg.count[:n, col]
        seen = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_time, mean_valid, mean_test = (np.where(seen, s[:n, col] / count, np.nan) for s in agg.sums)
        max_valid, max_test = (np.where(seen, m[:n, col], np.nan) for m in agg.maxs)
        columns[f"{DATASET}/test@{epochs}"] = 100.0 * mean_test
        columns[f"{DATASET}/test-max@{epochs}"] = 100.0 * max_test
        columns[f"{DATASET}/valid@{epochs}"] = 100.0 * mean_valid
        columns[f"{DATASET}/valid-max@{epochs}"] = 100.0 * max_valid
        columns[f"train_time@{epochs}"] = mean_time
    columns["params"] = np.frombuffer(params, dtype=np.int64).copy()
    table = pd.DataFrame(columns, index=pd.Index(hashes, name="module_hash"))
    return table.sort_index()


def convert_nb101_tfrecord(source: Union[str, Path], dest: Union[str, Path], progress: bool = True) -> pd.DataFrame:
    """Read an official tfrecord and write its compact table as CSV (``dest``); returns it."""
    table = read_nb101_tfrecord(source, progress=progress)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(dest, index=False)
    return table


def load_nb101_table(path: Union[str, Path]) -> pd.DataFrame:
    """A compact table written by ``convert_nb101_tfrecord``, indexed by module hash, sorted."""
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(
            f"NB101 table not found at {path}; convert the official archive ({DOWNLOAD_URL}) first"
        )
    try:
        table = pd.read_csv(path, dtype={"arch_index": str, "arch": str})
    except (OSError, ValueError) as err:
        raise DataCorruptError(f"{path}: cannot read the NB101 table ({err})") from None
    missing = {"arch_index", "arch"} - set(table.columns)
    if missing:
        raise DataCorruptError(f"{path}: NB101 table lacks column(s) {', '.join(sorted(missing))}")
    if table["arch_index"].duplicated().any():
        dup = table["arch_index"][table["arch_index"].duplicated()].iloc[0]
        raise DataCorruptError(f"{path}: module hash {dup} appears more than once")
    table.index = pd.Index(table["arch_index"], name="module_hash")
    return table.sort_index()

