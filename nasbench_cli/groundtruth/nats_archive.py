"""NATS-Bench archives (topology ``tss``, size ``sss``), read through the official ``nats_bench``.

Two official layouts:

* the fast-mode directory (``NATS-tss-v1_0-3ffb9-simple/``): ``meta.pickle.pbz2`` plus one
  ``NNNNNN.pickle.pbz2`` per architecture; only architectures whose file is present are read;
* the single bz2 pickle (``NATS-tss-v1_0-3ffb9.pickle.pbz2``) holding every architecture.

Training schedules (hp labels): tss ``12`` and ``200``; sss ``01``, ``12`` and ``90``.
"""

from __future__ import annotations

import bz2
import pickle
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Union

from nasbench_cli.errors import DataCorruptError, DataMissingError, NasbenchError, UsageError
from nasbench_cli.groundtruth.table import ArchRecord

META_NAME = "meta.pickle.pbz2"
RECORD_SUFFIX = ".pickle.pbz2"
#: toolkit space name -> nats_bench search-space name
NATS_SPACES = {"nats-tss": "tss", "nats-sss": "sss"}
NATS_HPS = {"tss": ("12", "200"), "sss": ("01", "12", "90")}
#: the official archive names, per search space
NATS_NAMES = {"tss": "NATS-tss-v1_0-3ffb9", "sss": "NATS-sss-v1_0-50262"}
NATS_SOURCE = "https://github.com/D-X-Y/NATS-Bench (README: NATS-*-simple.tar / *.pickle.pbz2)"

# the names the official API looks for: zero-padded to 6 digits, or unpadded
_RECORD_NAME = re.compile(r"^(\d{6}|0|[1-9]\d*)\.pickle\.pbz2$")
# a damaged or foreign file can make the unpickler raise almost anything; all mean "unreadable"
_READ_ERRORS = (Exception,)


def _reason(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _corrupt(path: Union[str, Path], err: BaseException) -> NasbenchError:
    if isinstance(err, MemoryError):
        return NasbenchError(f"{path}: not enough memory to load it; use the fast-mode "
                             "directory (*-simple) instead of the single-file archive")
    return DataCorruptError(f"{path}: not a readable NATS-Bench file ({_reason(err)})")


def nats_space_name(space: str) -> str:
    """'tss' or 'sss' for a toolkit space name ('nats-tss', 'nats-sss') or a NATS name."""
    if space in NATS_SPACES:
        return NATS_SPACES[space]
    if space in ("tss", "topology", "nb201"):
        return "tss"
    if space in ("sss", "size"):
        return "sss"
    raise UsageError(f"'{space}' is not a NATS-Bench search space; use nats-tss or nats-sss")


def record_files(directory: Union[str, Path]) -> Dict[int, Path]:
    """Architecture index -> record file, for the ``NNNNNN.pickle.pbz2`` files of a directory."""
    found: Dict[int, Path] = {}
    for entry in Path(directory).iterdir():
        match = _RECORD_NAME.match(entry.name)
        if match and entry.is_file():
            found[int(match.group(1))] = entry
    return dict(sorted(found.items()))


def read_meta(directory: Union[str, Path]) -> Dict[str, Any]:
    """The ``meta.pickle.pbz2`` dict of a fast-mode directory (checked for ``meta_archs``)."""
    meta_path = Path(directory) / META_NAME
    if not meta_path.is_file():
        raise DataCorruptError(
            f"{meta_path}: missing, so {Path(directory)} is not a NATS-Bench fast-mode directory "
            f"(get the archive from {NATS_SOURCE})")
    try:
        with bz2.open(meta_path, "rb") as handle:
            meta = pickle.load(handle)
    except _READ_ERRORS as err:
        raise _corrupt(meta_path, err) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("meta_archs"), list):
        raise DataCorruptError(f"{meta_path}: no 'meta_archs' list (not a NATS-Bench meta file)")
    return meta


def detect_nats_space(path: Union[str, Path]) -> Optional[str]:
    """'tss' or 'sss' for an archive, from its name or (directories) its meta file; else None."""
    path = Path(path)
    for space in ("tss", "sss"):
        if f"NATS-{space}" in path.name:
            return space
    if path.is_dir():
        archs = read_meta(path)["meta_archs"]
        first = str(archs[0]) if archs else ""
        if first.startswith("|"):
            return "tss"
        if re.fullmatch(r"\d+(:\d+)+", first):
            return "sss"
    return None


def open_nats_api(path: Union[str, Path], space: str) -> Any:
    """The official API for a fast-mode directory or a single-file archive."""
    import nats_bench

    path = Path(path)
    nats = nats_space_name(space)
    if path.is_dir():
        read_meta(path)  # a clear message for a missing or damaged meta before the API asserts
        try:
            return nats_bench.create(str(path), nats, fast_mode=True, verbose=False)
        except _READ_ERRORS as err:
            raise _corrupt(path / META_NAME, err) from None
    if not path.is_file():
        raise DataMissingError(f"NATS-Bench archive not found: {path} (get it from {NATS_SOURCE})")
    try:
        return nats_bench.create(str(path), nats, fast_mode=False, verbose=False)
    except _READ_ERRORS as err:
        raise _corrupt(path, err) from None


def iter_nats_records(path: Union[str, Path], space: str) -> Iterator[ArchRecord]:
    """Each architecture of the archive that has results, ascending by index.

    Records are dropped from the API once handed out, so a full archive's memory shrinks as a
    table is built and a fast-mode directory never holds more than one record.
    """
    path = Path(path)
    api = open_nats_api(path, space)
    if path.is_dir():
        for index, file in record_files(path).items():
            if index >= len(api.meta_archs):
                raise DataCorruptError(
                    f"{file}: index {index} is beyond the {len(api.meta_archs)} architectures "
                    f"of {path / META_NAME}")
            try:
                api.reload(str(path), index)
            except _READ_ERRORS as err:
                raise _corrupt(file, err) from None
            yield _take(api, index, str(file))
        return
    for index in sorted(api.arch2infos_dict):
        yield _take(api, index, str(path))


def _take(api: Any, index: int, source: str) -> ArchRecord:
    """Remove architecture ``index`` from the API and return it as a record."""
    results = api.arch2infos_dict.pop(index)
    api.evaluated_indexes.discard(index)
    try:
        arch = api.meta_archs[index]
    except (IndexError, TypeError):
        raise DataCorruptError(f"{source}: architecture {index} is not in meta_archs") from None
    if not isinstance(results, dict):
        raise DataCorruptError(f"{source}: the record of architecture {index} is not a dict")
    return ArchRecord(int(index), str(arch), dict(results), source)
