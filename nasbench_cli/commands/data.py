"""`nasbench data status|convert|download`: what data is present, and getting the rest.

Layout of the data directory (``--data-dir``, else ``$NASBENCH_DATA``, else the user cache):
datasets where each dataset's ``required_files()`` says; benchmark files where each registered
space's ``benchmark`` says (archives under ``nb201/``, ``nats/``, ``nb101/``, ``nds/``, NAS-Bench-201
split files under ``splits/``, compact ground-truth tables at ``<space>/ground_truth.csv``, which
is where ``convert`` writes by default). Where the data directory has no table for ``nb201`` or
``nats-tss``, the NB201 table shipped in the package serves them; ``status`` says which is used.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

import click

from nasbench_cli.commands.options import verbosity_options
from nasbench_cli.commands.error_lines import ReportingGroup
from nasbench_cli.logs import get_logger
from nasbench_cli.paths import resolve_data_dir

if TYPE_CHECKING:
    from nasbench_cli.spaces.benchmark import BenchmarkFile

_log = get_logger("data")


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


class ConvertibleSpace(click.Choice):
    """``--space`` of ``data convert``: the choices are read from the registry when used, so a
    space registered after this module was imported is offered too."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> Tuple[str, ...]:
        return tuple(convertible_spaces())

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns; the registry is the source
        pass


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NASBENCH_DATA",
    default=None, help="Data directory (default: $NASBENCH_DATA, else the user cache folder).")


@click.group(cls=ReportingGroup)
def data() -> None:
    """Show, convert and download datasets and benchmark files."""


# --- status ---------------------------------------------------------------------------------------
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


def status_records(data_dir: Path) -> List[StatusRecord]:
    """Every dataset and benchmark file the registered datasets and spaces read, and the embedded table."""
    datasets, covered = _dataset_records(data_dir)
    return [*datasets, *_benchmark_records(data_dir, covered), _embedded_record(embedded_stand_ins())]


def _status_lines(root: Path, records: Sequence[StatusRecord]) -> List[str]:
    """The records as the aligned text `data status` prints."""
    lines = [f"Data directory: {root}{'' if root.is_dir() else ' (does not exist yet)'}"]
    for heading, kind in (("Datasets:", "dataset"), ("Benchmarks:", "benchmark")):
        lines.append(heading)
        sources_shown = set()
        for rec in (r for r in records if r["kind"] == kind):
            state, name, path = rec["state"], rec["name"], rec["path"]
            if state == "found":
                lines.append(f"  found    {name}: {path} ({rec['detail']})")
            elif state == "missing":
                lines.append(f"  missing  {name}: {path}")
                if (name, rec["source"]) not in sources_shown:
                    sources_shown.add((name, rec["source"]))
                    what = f"get {name} files from" if kind == "dataset" else "get it from"
                    lines.append(f"           {what}: {rec['source']}")
            elif state == "embedded":
                lines.append(f"  embedded {name}: none at {path}, {rec['detail']}")
            else:
                lines.append(f"  -        {name}: {rec['detail']}")
    stand_ins = ", ".join(name for names in embedded_stand_ins().values() for name in names)
    lines.append("Ground truth: <data-dir>/<space>/ground_truth.csv (your own conversion) first, else "
                 f"the embedded NB201 table ({stand_ins})")
    for rec in (r for r in records if r["kind"] == "ground-truth"):
        lines.append(f"  damaged  {rec['detail']}" if rec["state"] == "damaged"
                     else f"  ok       {rec['source']}: {rec['path']} ({rec['detail']})")
    return lines


@data.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object on stdout (data_dir, files: kind, name, state, path, detail, source).")
@verbosity_options
def status(data_dir: Optional[Path], as_json: bool) -> None:
    """List every dataset and benchmark file: found or missing, full path, where to get it; which
    ground-truth table each space reads (the data directory's, else the embedded NB201 table)."""
    root = resolve_data_dir(data_dir)
    records = status_records(root)
    if as_json:
        click.echo(json.dumps({"data_dir": str(root), "exists": root.is_dir(), "files": records},
                              indent=2, sort_keys=True))
    else:
        click.echo("\n".join(_status_lines(root, records)))


def _peak_memory_mib() -> float:
    """Peak resident memory of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@data.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--space", type=ConvertibleSpace(), default=None,
              help="Table to write (default: the archive's own space).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output CSV (default: the space's table in the data directory, "
                   "<data-dir>/<space>/ground_truth.csv).")
@click.option("--force", is_flag=True,
              help="Replace an existing table even when the new one has fewer architectures with results.")
@data_dir_option
@verbosity_options
def convert(src: Path, space: Optional[str], out: Optional[Path], force: bool, data_dir: Optional[Path],
            quiet: bool) -> None:
    """Convert an official archive (NB201 .pth, NATS folder or .pickle.pbz2, NB101 .tfrecord)
    once into a compact table."""
    from nasbench_cli.groundtruth.convert import default_space
    from nasbench_cli.output import check_output, remove_stale_temporaries
    from nasbench_cli.provenance import build_provenance, write_provenance
    from nasbench_cli.spaces import SPACES

    start = time.perf_counter()
    space = space or default_space(src)
    benchmark = SPACES.get(space).benchmark
    out = out or benchmark.ground_truth_path(resolve_data_dir(data_dir))
    check_output(out, inputs=_archive_files(src))
    staging = out.with_name(f".{out.name}.converting{os.getpid()}")
    remove_stale_temporaries(out)
    try:
        report = benchmark.convert(src, staging, space, progress=not quiet)
        kept = _guard_smaller_table(staging, out, force)
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
    filled = _rows_with_results(out)
    write_provenance(out, build_provenance(
        {"src": src, "space": space, "out": out, "force": force, "data_dir": data_dir},
        source={"path": str(src), "format": report.format.description, "files": _file_facts(src)},
        rows=report.rows, rows_with_results=filled, replaced_rows_with_results=kept))
    _log.info(f"Read {report.format.description}: {report.format.path}")
    partial = f" ({filled} with results; the archive has none for the other {report.rows - filled})" \
        if filled is not None and filled < report.rows else ""
    _log.info(f"Wrote {report.rows} rows x {len(report.columns)} columns ({report.space}) to {out}{partial}")
    _log.info("Columns: " + ", ".join(report.columns))
    elapsed = time.perf_counter() - start
    _log.info(f"Peak memory {_peak_memory_mib():.0f} MiB, time {elapsed:.1f} s")


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


def _guard_smaller_table(new: Path, old: Path, force: bool) -> Optional[int]:
    """Refuse (without --force) to replace ``old`` by a table with fewer architectures with results,
    or to replace a file that is not a table; returns the old count (None: no old table)."""
    from nasbench_cli.errors import DataCorruptError

    if not old.exists():
        return None
    before = _rows_with_results(old)
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


# --- download -------------------------------------------------------------------------------------
@data.command()
@click.argument("name")
@click.option("--if-missing", is_flag=True,
              help="Do nothing when the dataset can already be read (e.g. a subset you placed).")
@data_dir_option
@verbosity_options
def download(name: str, if_missing: bool, data_dir: Optional[Path], quiet: bool) -> None:
    """Download and check a dataset's official archive into the data directory."""
    from nasbench_cli.datasets import download as downloader
    from nasbench_cli.datasets import get_dataset
    from nasbench_cli.errors import DataMissingError

    root = resolve_data_dir(data_dir)
    if if_missing:
        try:
            images = get_dataset(name).load(root, "train-full" if name == "cifar10" else "train")
        except DataMissingError:
            pass
        else:
            _log.info(f"{name}: readable in {root} ({images.note or f'{len(images)} images'}); nothing to download")
            return
    downloader.download_dataset(name, root, progress=not quiet)
