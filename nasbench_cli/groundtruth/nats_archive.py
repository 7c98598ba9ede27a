"""NATS-Bench archives (topology ``tss``, size ``sss``).

Every file is unpickled by the package's restricted loader (:func:`.safe_load.load_pickle`), never
by ``nats_bench``'s plain ``pickle.load``, so a tampered file cannot run code; each record's raw
dict then becomes the official ``ArchResults`` object (``create_from_state_dict``, no file access).

Two official layouts:

* the fast-mode directory (``NATS-tss-v1_0-3ffb9-simple/``): ``meta.pickle.pbz2`` plus one
  ``NNNNNN.pickle.pbz2`` per architecture; only architectures whose file is present are read;
* the single bz2 pickle (``NATS-tss-v1_0-3ffb9.pickle.pbz2``) holding every architecture.

Training schedules (hp labels): tss ``12`` and ``200``; sss ``01``, ``12`` and ``90``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from nasbench_cli.errors import DataCorruptError, DataMissingError, NasbenchError, UsageError
from nasbench_cli.groundtruth.safe_load import load_pickle
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
    if isinstance(err, NasbenchError):  # already says what is wrong (e.g. a refused global)
        return err
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
            index = int(match.group(1))
            # both names present: the zero-padded one wins, as in the official API
            if index not in found or len(entry.name) > len(found[index].name):
                found[index] = entry
    return dict(sorted(found.items()))


def _load(path: Path) -> Any:
    """The object of one NATS-Bench file, through the restricted unpickler."""
    try:
        return load_pickle(path, what="NATS-Bench file", bz2_compressed=True)
    except _READ_ERRORS as err:
        raise _corrupt(path, err) from None


def read_meta(directory: Union[str, Path]) -> Dict[str, Any]:
    """The ``meta.pickle.pbz2`` dict of a fast-mode directory (checked for ``meta_archs``)."""
    meta_path = Path(directory) / META_NAME
    if not meta_path.is_file():
        raise DataCorruptError(
            f"{meta_path}: missing, so {Path(directory)} is not a NATS-Bench fast-mode directory "
            f"(get the archive from {NATS_SOURCE})")
    meta = _load(meta_path)
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


def _meta_archs(meta: Dict[str, Any], source: Path) -> List[Any]:
    """The meta's architecture list, checked for duplicates (the official API refuses them)."""
    archs = list(meta["meta_archs"])
    seen: Dict[str, int] = {}
    for index, arch in enumerate(archs):
        if not isinstance(arch, str):  # an integer would become the arch string '0', '1', ...
            raise DataCorruptError(f"{source}: architecture {index} of meta_archs is {type(arch).__name__} "
                                   f"{str(arch)[:60]!r}, not an architecture string")
        key = arch
        if key in seen:
            raise DataCorruptError(f"{source}: architecture {index} ({key}) repeats "
                                   f"architecture {seen[key]}")
        seen[key] = index
    return archs


def _read_single_file(path: Path) -> Dict[str, Any]:
    """The dict of a single-file archive, checked for the keys the official API needs."""
    if not path.is_file():
        raise DataMissingError(f"NATS-Bench archive not found: {path} (get it from {NATS_SOURCE})")
    archive = _load(path)
    if not isinstance(archive, dict):
        raise DataCorruptError(
            f"{path}: not a NATS-Bench archive (holds a {type(archive).__name__})")
    for key in ("meta_archs", "arch2infos", "evaluated_indexes"):
        if key not in archive:
            raise DataCorruptError(f"{path}: no '{key}' entry (not a NATS-Bench archive)")
    if not isinstance(archive["meta_archs"], list) or not isinstance(archive["arch2infos"], dict):
        raise DataCorruptError(f"{path}: malformed 'meta_archs' or 'arch2infos' entry")
    return archive


def iter_nats_records(path: Union[str, Path], space: str,
                      listing: Optional[List[str]] = None) -> Iterator[ArchRecord]:
    """Each architecture of the archive that has results, ascending by index.

    ``listing``, when given, receives every architecture string of the archive's meta (with
    results or not) before the first record.

    A fast-mode directory never holds more than one record in memory; a single-file archive's
    raw records are dropped as they are handed out, so its memory shrinks as a table is built.
    """
    path = Path(path)
    nats_space_name(space)  # an unknown space is a usage error before any file is read
    if path.is_dir():
        meta_path = path / META_NAME
        archs = _meta_archs(read_meta(path), meta_path)
        if listing is not None:
            listing.extend(str(arch) for arch in archs)
        for index, file in record_files(path).items():
            if index >= len(archs):
                raise DataCorruptError(
                    f"{file}: index {index} is beyond the {len(archs)} architectures "
                    f"of {meta_path}")
            yield _record(index, archs, _load(file), str(file))
        return
    archive = _read_single_file(path)
    archs = _meta_archs(archive, path)
    if listing is not None:
        listing.extend(str(arch) for arch in archs)
    infos = archive["arch2infos"]
    try:
        indices = sorted(infos)
    except TypeError:
        raise DataCorruptError(f"{path}: 'arch2infos' keys are not architecture indices") from None
    for index in indices:
        yield _record(index, archs, infos.pop(index), str(path))


def _record(index: int, archs: List[Any], raw: Any, source: str) -> ArchRecord:
    """One architecture's raw ``{hp: state dict}`` as a record of official ``ArchResults``."""
    from nats_bench.api_utils import ArchResults

    try:
        arch = archs[index]
    except (IndexError, TypeError):
        raise DataCorruptError(f"{source}: architecture {index} is not in meta_archs") from None
    # a str state would make create_from_state_dict open it with nats_bench's plain unpickler
    if not isinstance(raw, dict) or not all(isinstance(state, dict) for state in raw.values()):
        raise DataCorruptError(f"{source}: the record of architecture {index} is not a dict "
                               "of per-schedule dicts")
    try:
        results = {hp: ArchResults.create_from_state_dict(state) for hp, state in raw.items()}
    except _READ_ERRORS as err:
        raise _corrupt(source, err) from None
    return ArchRecord(int(index), str(arch), results, source)
