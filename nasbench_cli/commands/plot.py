"""`nasbench plot KIND CSV... --out FILE`: figures from the CSVs `score`, `correlate` and `search` write."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import click
from click.core import ParameterSource

from nasbench_cli.commands.options import SEED, verbosity_options
from nasbench_cli.commands.reporting import ReportingCommand
from nasbench_cli.errors import DataCorruptError, UsageError
from nasbench_cli.logs import get_logger, note

_log = get_logger("plot")

KINDS = ("scatter", "heatmap", "search", "kernel")
#: option (its Python name) -> the kinds it applies to
KIND_OPTIONS = {
    "target": ("scatter", "search", "kernel"),
    "proxies": ("scatter",),
    "log": ("scatter",),
    "statistic": ("heatmap",),
    "cost": ("search",),
    "archs": ("kernel",),
    "data_dir": ("kernel",),
    "seed": ("kernel",),
    "batch_size": ("kernel",),
    "dataset": ("kernel",),
}
#: kernel networks drawn when --archs is not given: the lowest, median and highest accuracy
DEFAULT_KERNEL_NETS = 3


@click.command("plot", cls=ReportingCommand)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("csv_paths", metavar="CSV...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", default=None, metavar="FILE",
              help="Figure file, .png, .pdf or .svg (- writes it to stdout, as --format says) "
                   "[default: <first CSV stem>.<kind>.png next to it].")
@click.option("--format", "fmt", type=click.Choice(["png", "pdf", "svg"]), default=None,
              help="Figure format [default: from the --out suffix; png for --out -].")
@click.option("--target", default=None, metavar="COLUMN",
              help="scatter/search/kernel: accuracy column [default: the first].")
@click.option("--proxy", "proxies", multiple=True, metavar="NAME",
              help="scatter: score column to draw (repeatable) [default: every score column].")
@click.option("--log", is_flag=True, help="scatter: log score axis where every finite score is positive (synflow).")
@click.option("--statistic", type=click.Choice(["tau", "rho"]), default="tau", show_default=True,
              help="heatmap: Kendall tau or Spearman rho.")
@click.option("--cost", type=click.Choice(["queries", "seconds"]), default="queries", show_default=True,
              help="search: x axis, benchmark queries or simulated seconds (training + scoring).")
@click.option("--archs", default=None, metavar="LIST",
              help="kernel: comma-separated indices or architecture strings [default: the CSV's lowest, "
                   "median and highest accuracy].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="kernel: data directory [default: the CSV's provenance, else NASBENCH_DATA].")
@click.option("--dataset", default=None, help="kernel: dataset of the batch [default: the CSV's provenance].")
@click.option("--seed", type=SEED, default=None, help="kernel: score seed [default: the CSV's provenance, else 0].")
@click.option("--batch-size", type=int, default=None,
              help="kernel: batch size [default: the CSV's provenance, else NASWOT's 128].")
@verbosity_options
def plot(kind: str, csv_paths: Sequence[Path], out: Optional[str], fmt: Optional[str], quiet: bool, **options) -> None:
    """Draw a KIND figure from CSV... (matplotlib; deterministic bytes).

    \b
    scatter  score CSVs (`nasbench score`): score vs accuracy per proxy, tau/rho in each title
    heatmap  correlate CSVs (`nasbench correlate`): score x target tau (or rho) with 95% intervals
    search   per-run search CSVs (`nasbench search`, one per algorithm): final accuracy distribution
             per algorithm, and mean +- std accuracy vs mean cost
    kernel   a score CSV: NASWOT kernels K/N_A of a few of its networks (recomputed with the CSV's
             settings) with histograms, and its naswot score histogram
    """
    from nasbench_cli.output import check_output
    from nasbench_cli.provenance import sidecar_path

    context = click.get_current_context()
    for name, kinds in KIND_OPTIONS.items():
        if kind not in kinds and context.get_parameter_source(name) not in (ParameterSource.DEFAULT, None):
            flag = "--" + ("proxy" if name == "proxies" else name.replace("_", "-"))
            raise UsageError(f"{flag} applies to {', '.join(kinds)}, not {kind}")
    to_stdout = out == "-"
    if to_stdout:
        if sys.stdout.isatty():
            raise UsageError("--out - writes an image to stdout, which is a terminal; redirect it to a file")
        target_path = None
    else:
        target_path = Path(out) if out else default_output(csv_paths[0], kind, fmt or "png")
        check_output(target_path, [*csv_paths, *map(sidecar_path, csv_paths)])
    from nasbench_cli.analysis import figures

    file_format = fmt or ("png" if to_stdout else figures.figure_format(target_path))
    fig = draw(kind, csv_paths, **options)
    if to_stdout:
        stream = click.get_binary_stream("stdout")
        stream.write(figures.figure_bytes(fig, file_format))
        stream.flush()
    else:
        figures.save_figure(fig, target_path, file_format)
        _log.info(f"wrote {target_path}")


def default_output(first: Path, kind: str, fmt: str) -> Path:
    """``runs/x.csv`` -> ``runs/x.<kind>.png``."""
    return first.with_name(f"{first.stem}.{kind}.{fmt}")


def draw(kind: str, csv_paths: Sequence[Path], target: Optional[str] = None, proxies: Sequence[str] = (),
         log: bool = False, statistic: str = "tau", cost: str = "queries", archs: Optional[str] = None,
         data_dir: Optional[Path] = None, dataset: Optional[str] = None, seed: Optional[int] = None,
         batch_size: Optional[int] = None):
    """The figure of ``kind`` from ``csv_paths`` (the command's work, without writing)."""
    from nasbench_cli.analysis import figures

    if kind == "scatter":
        from nasbench_cli.analysis.score_table import load_score_table

        table = load_score_table(list(csv_paths))
        for text in table.notes:
            note(_log, text)
        return figures.scatter_figure(table, target, list(proxies) or None, log=log)
    if kind == "heatmap":
        return figures.heatmap_figure(read_correlations(csv_paths), statistic)
    if kind == "search":
        return figures.search_figure(read_search_runs(csv_paths), target, cost)
    return kernel_plot(csv_paths, target, archs, data_dir, dataset, seed, batch_size)


# --- inputs -----------------------------------------------------------------------------------------
def read_frame(path: Path):
    """A CSV as a DataFrame; one-line errors for an unreadable or empty file."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataCorruptError(f"{path} is not a readable CSV: {str(err).splitlines()[0]}") from None
    if frame.empty:
        raise DataCorruptError(f"{path} has a header but no rows")
    return frame


def read_correlations(paths: Sequence[Path]):
    """Correlate CSVs concatenated, each row with its ``source`` (the file's stem)."""
    import pandas as pd

    from nasbench_cli.analysis.correlation_table import RESULT_COLUMNS

    frames = []
    for path in paths:
        frame = read_frame(path)
        missing = [c for c in RESULT_COLUMNS[:4] if c not in frame.columns]
        if missing:
            raise UsageError(f"{path} is not a `nasbench correlate` CSV (no column {', '.join(missing)})")
        frames.append(frame.assign(source=path.stem.replace(".correlation", "")))
    return pd.concat(frames, ignore_index=True)


def sidecar_record(path: Path) -> Dict[str, object]:
    """The CSV's provenance record, or {} without a readable one."""
    from nasbench_cli.provenance import sidecar_path

    try:
        record = json.loads(sidecar_path(path).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def search_label(path: Path, record: Dict[str, object]) -> str:
    """An algorithm's label from its sidecar ("naswot N=10", "rea 12000s"), else the file stem."""
    arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
    algorithm = record.get("algorithm") if isinstance(record.get("algorithm"), dict) else {}
    name = algorithm.get("name") or arguments.get("algo")
    if not name:
        return path.stem
    if name == "naswot" and arguments.get("n") is not None:
        return f"{name} N={arguments['n']}"
    if record.get("budget"):
        return f"{name} {record['budget']}"
    return str(name)


def read_search_runs(paths: Sequence[Path]):
    """Label -> per-run frame for each search CSV (labels made unique with the file stem)."""
    runs = {}
    for path in paths:
        frame = read_frame(path)
        if "run" not in frame.columns or "queries" not in frame.columns:
            raise UsageError(f"{path} is not a `nasbench search` per-run CSV (no run/queries columns; "
                             "the .summary.csv is not it)")
        label = search_label(path, sidecar_record(path))
        if label in runs:
            label = f"{label} ({path.stem})"
        runs[label] = frame
    return runs


# --- kernels ----------------------------------------------------------------------------------------
def kernel_settings(path: Path, data_dir: Optional[Path], dataset: Optional[str], seed: Optional[int],
                    batch_size: Optional[int]) -> Tuple[str, Dict[str, object]]:
    """The space and naswot_kernels keyword arguments: the options given, else the score CSV's
    provenance (its space, dataset, seed, batch size, head, split, variant, data dir)."""
    record = sidecar_record(path)
    arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
    space = arguments.get("space")
    if not space:
        raise UsageError(f"{path}: no provenance sidecar naming its space; the kernel plot recomputes "
                         "networks with the CSV's settings (write the CSV with `nasbench score`)")
    options: Dict[str, object] = {
        "dataset": dataset or record.get("dataset") or arguments.get("dataset") or "cifar10",
        "seed": seed if seed is not None else int(record.get("seed", arguments.get("score_seed", 0)) or 0),
        "data_dir": data_dir or arguments.get("data_dir") or None,
    }
    naswot = (record.get("proxy_settings") or {}).get("naswot") if isinstance(record.get("proxy_settings"), dict) \
        else None
    size = batch_size or (naswot or {}).get("batch_size") or arguments.get("batch_size")
    if size:
        options["batch_size"] = int(size)
    for key in ("head", "split", "network_variant"):
        if arguments.get(key):
            options[key] = arguments[key]
    return str(space), options


def _pick_archs(frame, target: Optional[str], count: int) -> List[int]:
    """The rows of lowest, median and highest ``target`` accuracy (else naswot score), as indices."""
    import numpy as np

    column = target if target in frame.columns else ("naswot" if "naswot" in frame.columns else None)
    if column is None:
        return [int(i) for i in frame["index"].head(count)]
    ordered = frame.dropna(subset=[column]).sort_values([column, "index"])
    if ordered.empty:
        return [int(i) for i in frame["index"].head(count)]
    picks = np.unique(np.linspace(0, len(ordered) - 1, count).round().astype(int))
    return [int(ordered["index"].iloc[p]) for p in picks]


def kernel_plot(csv_paths: Sequence[Path], target: Optional[str], archs: Optional[str], data_dir: Optional[Path],
                dataset: Optional[str], seed: Optional[int], batch_size: Optional[int]):
    """Kernels of --archs (or three of the CSV's networks), recomputed with the CSV's settings."""
    import math

    from nasbench_cli.analysis import figures
    from nasbench_cli.api import naswot_kernels
    from nasbench_cli.proxies.naswot import logdet

    path = csv_paths[0]
    frame = read_frame(path)
    if "index" not in frame.columns:
        raise UsageError(f"{path} is not a `nasbench score` CSV (no index column)")
    space, options = kernel_settings(path, data_dir, dataset, seed, batch_size)
    accuracy = target or next((c for c in frame.columns if "@" in str(c) and "/" in str(c)), None)
    if target is not None and target not in frame.columns:
        raise UsageError(f"{path} has no column '{target}'")
    refs = [part.strip() for part in archs.split(",") if part.strip()] if archs else \
        _pick_archs(frame, accuracy, DEFAULT_KERNEL_NETS)
    if not refs:
        raise UsageError("--archs lists no architectures")
    kernels = naswot_kernels(space, refs, **options)
    by_index = frame.drop_duplicates("index").set_index("index")
    labelled, marked = {}, {}
    for index, kernel in kernels.items():
        row = by_index.loc[index] if index in by_index.index else None
        parts = [f"#{index}"]
        if row is not None and accuracy is not None and not math.isnan(float(row[accuracy])):
            parts.append(f"acc {float(row[accuracy]):.2f}")
        value = logdet(kernel)
        parts.append(f"naswot {value:.1f}")
        label = "  ".join(parts)
        labelled[label] = kernel
        marked[label] = float(value)
    scores = frame["naswot"].to_numpy(dtype=float) if "naswot" in frame.columns else None
    title = f"NASWOT kernels, {space}/{options['dataset']}, seed {options['seed']}"
    return figures.kernel_figure(labelled, scores, marked if scores is not None else None, title=title)
