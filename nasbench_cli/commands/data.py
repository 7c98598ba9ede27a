"""`nasbench data status|convert|download`: what data is present, and getting the rest.

Layout of the data directory (``--data-dir``, else ``$NASBENCH_DATA``, else the user cache):
datasets where each dataset's ``required_files()`` says; benchmark files where each registered
space's ``benchmark`` says (archives under ``nb201/``, ``nats/``, ``nb101/``, ``nds/``, NAS-Bench-201
split files under ``splits/``, compact ground-truth tables at ``<space>/ground_truth.csv``, which
is where ``convert`` writes by default). Where the data directory has no table for ``nb201`` or
``nats-tss``, the NB201 table shipped in the package serves them; where the default data directory
has no CIFAR-10 training batch, the CIFAR-10 sample shipped in the package serves ``cifar10``'s
``train`` split (and ``download --if-missing`` warns instead of failing offline); ``status`` says
which is used.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from nasbench_cli.commands.options import OUT_FILE, verbosity_options
from nasbench_cli.commands.error_lines import ReportingGroup
from nasbench_cli.logs import get_logger
from nasbench_cli.workflows.data import (
    StatusRecord,
    archive_files,
    conversion_target,
    convert_archive,
    convertible_spaces,
    dataset_sources,
    download as download_dataset,
    embedded_stand_ins,
    peak_memory_mib,
    resolve_data_dir,
    status_records,
    store_record,
)

_log = get_logger("data")


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


def _status_lines(root: Path, records: Sequence[StatusRecord], store: Dict[str, Any],
                  sources: Optional[Dict[str, Dict[str, Optional[str]]]] = None) -> List[str]:
    """The records as the aligned text `data status` prints."""
    size = f"{store['bytes'] / 2**20:.1f} MiB" if store["bytes"] is not None else "not created yet"
    if store.get("problem"):  # what a run would say: the file is refused, not used
        size += f"; not a score store ({store['problem']}): runs refuse it"
    lines = [f"Data directory: {root}{'' if root.is_dir() else ' (does not exist yet)'}",
             f"Score store: {store['path']} ({store['origin']}; {size})"]
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
        if kind == "dataset":
            lines += _sample_lines(root, sources or {})
    stand_ins = ", ".join(name for names in embedded_stand_ins().values() for name in names)
    lines.append("Ground truth: <data-dir>/<space>/ground_truth.csv (your own conversion) first, else "
                 f"the embedded NB201 table ({stand_ins})")
    for rec in (r for r in records if r["kind"] == "ground-truth"):
        lines.append(f"  damaged  {rec['detail']}" if rec["state"] == "damaged"
                     else f"  ok       {rec['source']}: {rec['path']} ({rec['detail']})")
    return lines


def _sample_lines(root: Path, sources: Dict[str, Dict[str, Optional[str]]]) -> List[str]:
    """Which datasets runs read from an embedded sample (or would, were it intact)."""
    lines = []
    for name, entry in sources.items():
        if entry["reads"] == "embedded sample":
            lines.append(f"  sample   {name}: none in {root}, runs (--split {entry['split']}) read the "
                         f"{entry['source']}: {entry['path']} (`nasbench data download {name}` gets the full set)")
        elif entry["reads"] == "damaged sample":
            lines.append(f"  damaged  {entry['detail']}")
    return lines


@data.command()
@data_dir_option
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Score store to report [default: $NASBENCH_STORE, else the user cache].")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object on stdout (data_dir, store: path, origin, exists, bytes; "
                   "files: kind, name, state, path, detail, source; reads: per dataset, what runs read: "
                   "data directory, embedded sample, damaged sample, missing or no files).")
@verbosity_options
def status(data_dir: Optional[Path], store_path: Optional[Path], as_json: bool) -> None:
    """List every dataset and benchmark file: found or missing, full path, where to get it; whether
    runs read an embedded sample (cifar10, default data directory without CIFAR-10); which
    ground-truth table each space reads (the data directory's, else the embedded NB201 table); and
    which score store runs use (--store, else $NASBENCH_STORE, else the user cache)."""
    root = resolve_data_dir(data_dir)
    records, store, sources = status_records(root), store_record(store_path), dataset_sources(root)
    if as_json:
        click.echo(json.dumps({"data_dir": str(root), "exists": root.is_dir(), "store": store, "files": records,
                               "reads": sources}, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(_status_lines(root, records, store, sources)))


@data.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--space", type=ConvertibleSpace(), default=None,
              help="Table to write (default: the archive's own space).")
@click.option("--out", type=OUT_FILE, default=None,
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
    from nasbench_cli.output import check_output
    from nasbench_cli.provenance import build_provenance, write_provenance

    start = time.perf_counter()
    space, out = conversion_target(src, space, out, resolve_data_dir(data_dir))
    check_output(out, inputs=archive_files(src))
    done = convert_archive(src, space, out, force, progress=not quiet)
    report, filled = done.report, done.filled
    write_provenance(out, build_provenance(
        {"src": src, "space": space, "out": out, "force": force, "data_dir": data_dir}, **done.provenance))
    _log.info(f"Read {report.format.description}: {report.format.path}")
    partial = f" ({filled} with results; the archive has none for the other {report.rows - filled})" \
        if filled is not None and filled < report.rows else ""
    _log.info(f"Wrote {report.rows} rows x {len(report.columns)} columns ({report.space}) to {out}{partial}")
    _log.info("Columns: " + ", ".join(report.columns))
    elapsed = time.perf_counter() - start
    _log.info(f"Peak memory {peak_memory_mib():.0f} MiB, time {elapsed:.1f} s")


# --- download -------------------------------------------------------------------------------------
@data.command()
@click.argument("name")
@click.option("--if-missing", is_flag=True,
              help="Do nothing when the dataset can already be read (e.g. a subset you placed); when the "
                   "download fails and an embedded sample stands in (cifar10, default data directory), "
                   "warn and succeed.")
@data_dir_option
@verbosity_options
def download(name: str, if_missing: bool, data_dir: Optional[Path], quiet: bool) -> None:
    """Download and check a dataset's official archive into the data directory."""
    readable = download_dataset(name, resolve_data_dir(data_dir), if_missing, progress=not quiet, warn=_log.warning)
    if readable is not None:
        _log.info(readable)
