"""Reader for the NDS release's ``<Space>.json`` files (Radosavovic et al., ICCV 2019).

A file is a JSON list of job dicts, or ``{"top": [...], "mid": [...]}`` for the ``*_reruns`` files
(read as top followed by mid). Architecture ``i`` is the i-th job in that order. Per job the reader
keeps only what the toolkit uses: the ``net`` dict (as compact, key-sorted JSON), the final test
accuracy ``100 - test_ep_top1[-1]``, ``optim.max_ep``, ``params`` and ``flops``.

Real files are large (DARTS.json is over 100 MB): jobs are decoded one at a time from the file's text,
so the per-epoch curves of one job at a time are held, never the whole decoded file; the compact
result is cached per process, keyed by the file's path, size and modification time.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union

import pandas as pd

from nasbench_cli.errors import DataCorruptError, DataMissingError

DOWNLOAD_URL = "https://dl.fbaipublicfiles.com/nds/data.zip"
#: folder of the NDS files inside the data directory
NDS_DIR = "nds"
#: other places the official zip's ``nds_data/`` folder may have been unpacked to
_ALTERNATIVE_DIRS = ("nds/nds_data", "nds_data")

#: every file of the official release (data.zip)
NDS_FILES: Tuple[str, ...] = (
    "Amoeba", "Amoeba_in",
    "DARTS", "DARTS_fix-w-d", "DARTS_in", "DARTS_lr-wd", "DARTS_lr-wd_in",
    "ENAS", "ENAS_fix-w-d", "ENAS_in",
    "NASNet", "NASNet_in",
    "PNAS", "PNAS_fix-w-d", "PNAS_in",
    "ResNeXt-A", "ResNeXt-A_in", "ResNeXt-B", "ResNeXt-B_in",
    "ResNet-B", "ResNet", "ResNet_lr-wd", "ResNet_lr-wd_in", "ResNet_reruns",
    "ResNet_rng1", "ResNet_rng2", "ResNet_rng3",
    "Vanilla", "Vanilla_lr-wd", "Vanilla_lr-wd_in", "Vanilla_reruns",
    "Vanilla_rng1", "Vanilla_rng2", "Vanilla_rng3",
)

_REQUIRED = ("net", "optim", "test_ep_top1", "params", "flops")


class NDSEntry(NamedTuple):
    """One trained network of an NDS file."""

    arch: str  # the job's ``net`` dict as compact, key-sorted JSON
    accuracy: float  # final top-1 test accuracy in percent: 100 - test_ep_top1[-1] (NaN if that is NaN)
    epochs: int  # optim.max_ep
    params: int
    flops: int


def is_imagenet(stem: str) -> bool:
    """Whether an NDS file holds ImageNet networks (the ``_in`` files)."""
    return stem.endswith("_in")


def dataset_of(stem: str) -> str:
    """The dataset an NDS file's networks were trained on: ``imagenet`` or ``cifar10``."""
    return "imagenet" if is_imagenet(stem) else "cifar10"


def accuracy_column(stem: str, epochs: int) -> str:
    """Ground-truth column of an NDS accuracy, e.g. ``cifar10/test@100``."""
    return f"{dataset_of(stem)}/test@{epochs}"


def arch_json(net: Mapping[str, Any]) -> str:
    """The canonical text of a ``net`` dict: compact JSON with sorted keys."""
    return json.dumps(net, sort_keys=True, separators=(",", ":"))


def nds_path(data_dir: Union[str, Path], stem: str) -> Path:
    """Where ``<stem>.json`` is: ``<data_dir>/nds/``, or where the official zip unpacks (``nds_data/``).

    Returns the expected ``<data_dir>/nds/<stem>.json`` when it is nowhere.
    """
    data_dir = Path(data_dir)
    expected = data_dir / NDS_DIR / f"{stem}.json"
    for path in (expected, *(data_dir / d / f"{stem}.json" for d in _ALTERNATIVE_DIRS)):
        if path.is_file():
            return path
    return expected


class NDSData(NamedTuple):
    """The compact contents of one NDS file."""

    source: Path
    stem: str  # file name without .json, e.g. "DARTS_in"
    entries: Tuple[NDSEntry, ...]

    @property
    def dataset(self) -> str:
        return dataset_of(self.stem)

    def frame(self) -> pd.DataFrame:
        """Ground-truth table: ``arch_index``, ``arch``, ``<dataset>/test@<max_ep>`` (percent), and
        ``params`` / ``flops`` in millions (the units of the toolkit's ground-truth tables)."""
        rows: List[Dict[str, Any]] = [
            {"arch_index": i, "arch": e.arch, accuracy_column(self.stem, e.epochs): e.accuracy,
             "params": e.params / 1e6, "flops": e.flops / 1e6}
            for i, e in enumerate(self.entries)
        ]
        accuracy = sorted({accuracy_column(self.stem, e.epochs) for e in self.entries},
                          key=lambda c: -int(c.rsplit("@", 1)[1]))
        return pd.DataFrame.from_records(rows, columns=["arch_index", "arch", *accuracy, "params", "flops"])

    def ground_truth(self):
        """The table as a :class:`nasbench_cli.groundtruth.GroundTruth` (source: this file)."""
        from nasbench_cli.groundtruth.table import GroundTruth

        return GroundTruth(self.frame(), source=self.source)


def load_nds(path: Union[str, Path], stem: Optional[str] = None) -> NDSData:
    """Read an NDS file (once per process); DataMissingError / DataCorruptError name the file."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataMissingError(
            f"{path}: NDS file not found; download {DOWNLOAD_URL}, unzip it and put the .json files in "
            f"{path.parent}"
        ) from None
    except OSError as err:
        raise DataMissingError(f"{path}: cannot read the NDS file ({err.strerror or err})") from None
    return _load_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns, stem or path.stem)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, size: int, mtime_ns: int, stem: str) -> NDSData:
    # size and mtime are part of the key so a replaced file is read again
    del size, mtime_ns
    from nasbench_cli.untrusted import CSV_BYTES, read_text

    source = Path(path)
    text = read_text(source, "NDS file", CSV_BYTES)  # the checked layer: regular, bounded, UTF-8
    entries = tuple(parse_job(job, source, i) for i, job in enumerate(iter_jobs(text, source)))
    if not entries:
        raise DataCorruptError(f"{source}: holds no jobs")
    return NDSData(source, stem, entries)


def parse_job(job: Any, source: Path, index: int) -> NDSEntry:
    """The kept fields of job ``index``; DataCorruptError names the file, job and what is wrong."""
    where = f"{source}: job {index}"
    if not isinstance(job, dict):
        raise DataCorruptError(f"{where} is a {type(job).__name__}, not a dict")
    missing = [k for k in _REQUIRED if k not in job]
    if missing:
        raise DataCorruptError(f"{where} lacks {', '.join(missing)}")
    net, optim, curve = job["net"], job["optim"], job["test_ep_top1"]
    if not isinstance(net, dict):
        raise DataCorruptError(f"{where}: 'net' is not a dict")
    if "genotype" not in net and "block_type" not in net:
        raise DataCorruptError(f"{where}: 'net' has neither 'genotype' (cell spaces) nor 'block_type' (AnyNet)")
    if not isinstance(optim, dict) or "max_ep" not in optim:
        raise DataCorruptError(f"{where}: 'optim' lacks max_ep")
    if not isinstance(curve, list) or not curve:
        raise DataCorruptError(f"{where}: 'test_ep_top1' is not a non-empty list")
    # a diverged run may end in NaN: keep it as a missing accuracy rather than reject the file
    error = _number(curve[-1], where, "test_ep_top1[-1]", allow_nan=True)
    epochs = _number(optim["max_ep"], where, "optim.max_ep")
    if not float(epochs).is_integer() or epochs < 1:
        raise DataCorruptError(f"{where}: optim.max_ep {optim['max_ep']!r} is not a positive integer")
    return NDSEntry(
        arch=arch_json(net),
        accuracy=100.0 - error,
        epochs=int(epochs),
        params=int(_number(job["params"], where, "params")),
        flops=int(_number(job["flops"], where, "flops")),
    )


def _number(value: Any, where: str, key: str, allow_nan: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataCorruptError(f"{where}: '{key}' is {value!r}, not a number")
    if not (math.isfinite(value) or (allow_nan and math.isnan(value))):
        raise DataCorruptError(f"{where}: '{key}' is {value!r}, not a finite number")
    return float(value)


# --- streaming JSON ---------------------------------------------------------------------------
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _corrupt(source: Path, text: str, pos: int, what: str) -> DataCorruptError:
    line = text.count("\n", 0, pos) + 1
    return DataCorruptError(f"{source}: not a valid NDS JSON file ({what} at line {line}, char {pos})")


def _decode(text: str, pos: int, source: Path) -> Tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as err:
        raise _corrupt(source, text, err.pos, err.msg) from None
    except RecursionError:
        raise _corrupt(source, text, pos, "nesting too deep") from None


class _ArrayReader:
    """Decode a JSON array starting at ``text[pos] == '['`` one element at a time.

    Iterating yields the elements; afterwards ``end`` is the position just past the closing ']'.
    """

    def __init__(self, text: str, pos: int, source: Path):
        self.text, self.start, self.source = text, pos, source
        self.end = -1

    def __iter__(self) -> Iterator[Any]:
        text, source = self.text, self.source
        pos = _skip(text, self.start + 1)
        if pos < len(text) and text[pos] == "]":
            self.end = pos + 1
            return
        while True:
            value, pos = _decode(text, pos, source)
            yield value
            pos = _skip(text, pos)
            if pos >= len(text):
                raise _corrupt(source, text, pos, "unterminated list")
            if text[pos] == "]":
                self.end = pos + 1
                return
            if text[pos] != ",":
                raise _corrupt(source, text, pos, "expected ',' or ']'")
            pos = _skip(text, pos + 1)


def _skip_array(text: str, pos: int, source: Path) -> int:
    """Position just past the array starting at ``pos`` (its elements are decoded and dropped)."""
    reader = _ArrayReader(text, pos, source)
    for _ in reader:
        pass
    return reader.end


def iter_jobs(text: str, source: Path) -> Iterator[Any]:
    """The jobs of an NDS file's text, in index order (``top`` then ``mid`` for reruns files).

    Jobs are decoded one at a time; a dict-shaped file is scanned once to find where its ``top`` and
    ``mid`` lists start, then each list is decoded in turn.
    """
    pos = _skip(text, 0)
    if pos >= len(text):
        raise _corrupt(source, text, pos, "empty file")
    if text[pos] == "[":
        reader = _ArrayReader(text, pos, source)
        yield from reader
        _expect_end(text, reader.end, source)
        return
    if text[pos] != "{":
        raise _corrupt(source, text, pos, "expected a list of jobs or a {'top': [...], 'mid': [...]} dict")
    starts: Dict[str, int] = {}
    keys: List[str] = []
    pos = _skip(text, pos + 1)
    while pos < len(text) and text[pos] != "}":
        key, pos = _decode(text, pos, source)
        pos = _skip(text, pos)
        if not isinstance(key, str) or pos >= len(text) or text[pos] != ":":
            raise _corrupt(source, text, pos, "expected a 'key': value pair")
        keys.append(key)
        pos = _skip(text, pos + 1)
        if pos < len(text) and text[pos] == "[":
            starts[key] = pos
            pos = _skip_array(text, pos, source)
        else:
            _, pos = _decode(text, pos, source)
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
        elif pos < len(text) and text[pos] != "}":
            raise _corrupt(source, text, pos, "expected ',' or '}'")
    if pos >= len(text):
        raise _corrupt(source, text, pos, "unterminated dict")
    _expect_end(text, pos + 1, source)
    missing = [k for k in ("top", "mid") if k not in starts]
    if missing:
        raise DataCorruptError(
            f"{source}: a dict-shaped NDS file must hold 'top' and 'mid' lists; missing or not a list: "
            f"{', '.join(missing)} (keys: {', '.join(keys) or 'none'})"
        )
    for key in ("top", "mid"):
        yield from _ArrayReader(text, starts[key], source)


def _expect_end(text: str, pos: int, source: Path) -> None:
    pos = _skip(text, pos)
    if pos != len(text):
        raise _corrupt(source, text, pos, "extra data after the JSON value")


def read_nds_table(path: Union[str, Path]) -> pd.DataFrame:
    """The ground-truth DataFrame of an NDS file (see :meth:`NDSData.frame`)."""
    return load_nds(path).frame()

