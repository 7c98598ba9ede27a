"""The data jobs: what the data directory holds (status), downloading a dataset, and converting an
official benchmark archive once into a compact table (convert). `nasbench data` is their face. ``convert_archive``
writes the table (that is the job); everything else here only reads.
"""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

from nasbench_cli.paths import resolve_data_dir  # noqa: F401  (the data directory, resolved for the faces)

if TYPE_CHECKING:
    from nasbench_cli.spaces.benchmark import BenchmarkFile


def benchmark_files() -> List[BenchmarkFile]:
    """Every registered space's table and archives, each once, in name order."""
    from nasbench_cli.spaces import SPACES  # imported when used: it loads every space's modules

    files: List[BenchmarkFile] = []
    for name in SPACES.names():
        for item in SPACES.get(name).benchmark.files(name):
            if item not in files:  # the NDS spaces share one release
                files.append(item)
    return files


def embedded_stand_ins() -> Dict[str, List[str]]:
    """Data-dir tables (relative paths) the embedded NB201 table stands in for -> their spaces."""
    from nasbench_cli.groundtruth.embedded import serves
    from nasbench_cli.spaces import SPACES

    out: Dict[str, List[str]] = {}
    for name in SPACES.names():
        table = SPACES.get(name).benchmark.ground_truth_file
        if table and serves(name):
            out.setdefault(table, []).append(name)
    return out


def convertible_spaces() -> List[str]:
    """Spaces whose table ``data convert`` can write (those with a converter)."""
    from nasbench_cli.spaces import SPACES

    return [name for name in SPACES.names() if SPACES.get(name).benchmark.converter is not None]


# --- status -----------------------------------------------------------------------------------------
def _describe(path: Path) -> str:
    """A short note on a found file or folder (size, or number of records in a NATS folder)."""
    if path.is_dir():
        from nasbench_cli.groundtruth.nats_archive import record_files

        return f"folder, {len(record_files(path))} architecture files"
    size = path.stat().st_size
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.1f} KiB"


def _find(data_dir: Path, candidates: Sequence[str]) -> List[Path]:
    found: List[Path] = []
    for pattern in candidates:
        if any(ch in pattern for ch in "*?["):
            found += sorted(data_dir.glob(pattern))
        elif (data_dir / pattern).exists():
            found.append(data_dir / pattern)
    return found


#: a status record: kind (dataset | benchmark | ground-truth), name, state (found | missing |
#: not-needed | embedded | ok | damaged), path, detail (size, records, error), source (where to get it)
StatusRecord = Dict[str, Optional[str]]


def _record(kind: str, name: str, state: str, path: Optional[Path] = None, detail: Optional[str] = None,
            source: Optional[str] = None) -> StatusRecord:
    return {"kind": kind, "name": name, "state": state, "path": None if path is None else str(path),
            "detail": detail, "source": source}


def _file_records(kind: str, name: str, found: Iterable[Path], expected: Path, source: str) -> List[StatusRecord]:
    found = list(found)
    if found:
        return [_record(kind, name, "found", p, _describe(p), source) for p in found]
    return [_record(kind, name, "missing", expected, None, source)]


def _dataset_records(data_dir: Path) -> Tuple[List[StatusRecord], set]:
    """One record per registered dataset file (found or missing), and the paths they cover."""
    try:
        from nasbench_cli.datasets import DATASETS
    except ImportError as err:  # datasets package not installed or broken: say so, go on
        return [_record("dataset", "(all)", "unavailable", detail=str(err))], set()
    records: List[StatusRecord] = []
    covered: set = set()
    for name in DATASETS.names():
        files = DATASETS.get(name).required_files()
        if not files:
            records.append(_record("dataset", name, "not-needed", detail="needs no files"))
        for required in files:
            covered.add(required.path)
            records += _file_records("dataset", name, [data_dir / required.path] if (data_dir / required.path).exists()
                                     else [], data_dir / required.path, required.source)
    return records, covered


def _benchmark_records(data_dir: Path, covered: set) -> List[StatusRecord]:
    """Each registered benchmark file not already listed with a dataset: found, missing, or
    stood in for by the embedded NB201 table."""
    stand_ins = embedded_stand_ins()
    records: List[StatusRecord] = []
    for item in benchmark_files():
        if set(item.candidates) <= covered:
            continue  # already listed with the dataset that reads it
        found = _find(data_dir, item.candidates)
        expected = data_dir / item.candidates[0]
        if not found and item.candidates[0] in stand_ins:
            records.append(_record("benchmark", item.label, "embedded", expected,
                                   "the embedded NB201 table is used (a table placed there takes precedence)",
                                   item.source))
        else:
            records += _file_records("benchmark", item.label, found, expected, item.source)
    return records


def _embedded_record(stand_ins: Dict[str, List[str]]) -> StatusRecord:
    """The embedded table and whether it is intact (its sha256 checked)."""
    from nasbench_cli.errors import NasbenchError
    from nasbench_cli.groundtruth.embedded import embedded_source, embedded_table_path, verified_bytes

    path = embedded_table_path()
    serves = ", ".join(name for names in stand_ins.values() for name in names)
    try:
        verified_bytes(path)
    except NasbenchError as err:
        return _record("ground-truth", f"embedded NB201 table ({serves})", "damaged", path, str(err))
    return _record("ground-truth", f"embedded NB201 table ({serves})", "ok", path, _describe(path),
                   embedded_source())


def dataset_sources(data_dir: Path) -> Dict[str, Dict[str, Optional[str]]]:
    """What a run of each dataset's default split would read from ``data_dir``: ``reads`` is
    "data directory" (some of its files are there; they are always preferred), "embedded sample"
    (none there, and a checked sample stands in: ``source``, ``path``), "damaged sample" (it would,
    but the shipped file fails its check: ``detail``), "missing" (runs fail, naming the files) or
    "no files" (the dataset needs none)."""
    from nasbench_cli.datasets import DATASETS
    from nasbench_cli.datasets.splits import SPLITS_DIR
    from nasbench_cli.errors import NasbenchError

    out: Dict[str, Dict[str, Optional[str]]] = {}
    for name in DATASETS.names():
        dataset = DATASETS.get(name)
        own = [f.path for f in dataset.required_files() if not f.path.startswith(SPLITS_DIR + "/")]
        entry: Dict[str, Optional[str]] = dict(reads="missing", split=None, source=None, path=None, detail=None)
        stand_in = dataset.stand_in(data_dir)
        if not dataset.required_files():
            entry["reads"] = "no files"
        elif stand_in is not None:
            entry.update(source=stand_in.source, path=str(stand_in.path), split=stand_in.split)
            try:
                stand_in.verify()
            except NasbenchError as err:
                entry.update(reads="damaged sample", detail=str(err))
            else:
                entry["reads"] = "embedded sample"
        elif any((data_dir / path).is_file() for path in own):
            entry.update(reads="data directory", path=str(data_dir))
        out[name] = entry
    return out


def status_records(data_dir: Path) -> List[StatusRecord]:
    """Every dataset and benchmark file the registered datasets and spaces read, and the embedded table."""
    datasets, covered = _dataset_records(data_dir)
    return [*datasets, *_benchmark_records(data_dir, covered), _embedded_record(embedded_stand_ins())]


def store_record(store: Optional[Path] = None) -> Dict[str, Any]:
    """The score store runs would use (``--store``, else $NASBENCH_STORE, else the user cache):
    path, why it was chosen, whether it exists and its size in bytes."""
    from nasbench_cli.store import inspect_store_file, store_origin

    path, origin = store_origin(store)
    exists = os.path.lexists(path)
    # read-only, the checks a run makes: a file runs would refuse is not called the score store
    problem = inspect_store_file(path) if exists else None
    return {"path": str(path), "origin": origin, "exists": exists,
            "bytes": path.stat().st_size if exists and path.is_file() else None,
            "score_store": None if not exists else problem is None, "problem": problem}


# --- convert ------------------------------------------------------------------------------------
@dataclass
class Conversion:
    """A written table: the converter's report, its rows with results, and those of the table it replaced."""

    out: Path
    report: Any
    filled: Optional[int]
    replaced: Optional[int]
    provenance: Dict[str, Any]


def conversion_target(src: Path, space: Optional[str], out: Optional[Path], data_dir: Path) -> Tuple[str, Path]:
    """The space an archive is converted for (its own, unless given) and the table's path."""
    from nasbench_cli.groundtruth.convert import default_space
    from nasbench_cli.spaces import SPACES

    space = space or default_space(src)
    return space, out or SPACES.get(space).benchmark.ground_truth_path(data_dir)


def convert_archive(src: Path, space: str, out: Path, force: bool, progress: bool = True) -> Conversion:
    """Convert ``src`` into the table ``out`` through a staging file (a killed run leaves the old
    table); a table with fewer architectures with results replaces one only with ``force``."""
    from nasbench_cli.output import remove_stale_temporaries
    from nasbench_cli.spaces import SPACES

    staging = out.with_name(f".{out.name}.converting{os.getpid()}")
    remove_stale_temporaries(out)
    try:
        report = SPACES.get(space).benchmark.convert(src, staging, space, progress=progress)
        kept = _guard_smaller_table(staging, out, force)
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
    filled = _rows_with_results(out)
    provenance = dict(source={"path": str(src), "format": report.format.description, "files": _file_facts(src)},
                      rows=report.rows, rows_with_results=filled, replaced_rows_with_results=kept)
    return Conversion(out, report, filled, kept, provenance)


def archive_files(src: Path) -> List[Path]:
    """The files an archive is read from (a folder's files too): none of them may be the output."""
    return _archive_files(src)


def peak_memory_mib() -> float:
    """Peak resident memory of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _archive_files(src: Path) -> List[Path]:
    """The files an archive is read from (a folder's files too): none of them may be the output."""
    if src.is_dir():
        return [src, *sorted(p for p in src.iterdir() if p.is_file())]
    return [src]


def _file_facts(src: Path) -> List[Dict[str, object]]:
    """Name, size and modification time of the archive's files (no hashing: archives reach GBs)."""
    facts = []
    for path in _archive_files(src):
        if path.is_file():
            stat = path.stat()
            facts.append({"path": str(path), "bytes": stat.st_size, "modified": int(stat.st_mtime)})
    return facts


def _rows_with_results(path: Path) -> Optional[int]:
    """Rows of a table with at least one accuracy (None when ``path`` is not a readable table)."""
    from nasbench_cli.errors import NasbenchError
    from nasbench_cli.groundtruth.table import GroundTruth

    try:
        table = GroundTruth.read(path)
    except NasbenchError:
        return None
    columns = table.accuracy_columns
    return int(table.frame[columns].notna().any(axis=1).sum()) if columns else 0


def _looks_like_a_table(path: Path) -> bool:
    """Whether ``path`` is a (maybe damaged) CSV table that --force may replace: text whose first
    line names an ``arch`` or ``index`` column. SQLite stores, archives and other binary files are not."""
    from nasbench_cli.errors import NasbenchError
    from nasbench_cli.untrusted import open_regular

    try:  # the checked layer: a FIFO or device would block or never end
        with open_regular(path, "table") as handle:
            head = handle.read(4096)
    except (NasbenchError, OSError):
        return False
    if b"\0" in head:
        return False
    try:
        first = head.decode("utf-8").splitlines()[0] if head else ""
    except UnicodeDecodeError:
        return False
    columns = {c.strip().strip('"') for c in first.split(",")}
    return bool(columns & {"arch", "index", "arch_index", "hash"})


def _guard_smaller_table(new: Path, old: Path, force: bool) -> Optional[int]:
    """Refuse (without --force) to replace ``old`` by a table with fewer architectures with results,
    or to replace a file that is not a table; returns the old count (None: no old table)."""
    from nasbench_cli.errors import DataCorruptError

    if not old.exists():
        return None
    before = _rows_with_results(old)
    if before is None and not _looks_like_a_table(old):
        raise DataCorruptError(f"{old} exists and is not a ground-truth table (another kind of file: a score store, "
                               "an archive, ...); nothing was written, and --force never replaces such a file: "
                               "choose another --out")
    if force:
        return before
    if before is None:
        raise DataCorruptError(f"{old} exists and is not a ground-truth table; nothing was written "
                               "(pass --force to replace it, or choose another --out)")
    after = _rows_with_results(new) or 0
    if after < before:
        raise DataCorruptError(f"{old} holds results for {before} architectures, the new table only for {after}; "
                               "nothing was written (pass --force to replace it, or choose another --out)")
    return before


def download(name: str, root: Path, if_missing: bool = False, progress: bool = True,
             warn: Optional[Callable[[str], None]] = None) -> Optional[str]:
    """Download and check dataset ``name``'s official archive into ``root``. With ``if_missing``,
    nothing is downloaded when the dataset can already be read (e.g. a subset placed there): the
    returned text says so; None after a download. With ``if_missing``, a failed download (offline,
    `make demo` on a cluster node) where a checked embedded sample can stand in is ``warn``-ed, not
    raised: runs go on with the sample."""
    from nasbench_cli.datasets import download as downloader
    from nasbench_cli.datasets import get_dataset
    from nasbench_cli.errors import DataMissingError, NasbenchError

    dataset = get_dataset(name)
    if if_missing:
        try:
            images = dataset.load(root, "train-full" if name == "cifar10" else "train")
        except DataMissingError:
            pass
        else:
            return f"{name}: readable in {root} ({images.note or f'{len(images)} images'}); nothing to download"
    try:
        downloader.download_dataset(name, root, progress=progress)
    except DataMissingError as err:
        stand_in = dataset.stand_in(root) if if_missing else None
        if stand_in is None:
            raise
        try:
            stand_in.verify()
        except NasbenchError:
            raise err from None
        if warn is not None:
            warn(f"{err}; until then, {name} --split {stand_in.split} runs use the {stand_in.source}")
    return None
