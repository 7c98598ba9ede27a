"""`nasbench plot KIND CSV... --out FILE`: figures from the CSVs `score`, `correlate` and `search` write."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

import click
from click.core import ParameterSource

from nasbench_cli.commands.options import SEED, verbosity_options
from nasbench_cli.commands.error_lines import ReportingCommand
from nasbench_cli.errors import UsageError
from nasbench_cli.logs import get_logger, note
from nasbench_cli.workflows.plot import KINDS, default_output, draw

_log = get_logger("plot")

#: option (its Python name) -> the kinds it applies to
KIND_OPTIONS = {
    "target": ("scatter", "search", "kernel"),
    "proxies": ("scatter",),
    "log": ("scatter",),
    "statistic": ("heatmap",),
    "cost": ("search",),
    "archs": ("kernel",),
    "data_dir": ("kernel", "scatter"),
    "seed": ("kernel",),
    "batch_size": ("kernel",),
    "dataset": ("kernel", "scatter"),
    "space": ("scatter",),
    "ground_truth": ("scatter",),
}


@click.command("plot", cls=ReportingCommand)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("csv_paths", metavar="CSV...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", default=None, metavar="FILE",
              help="Figure file, .png, .pdf or .svg (- writes it to stdout, as --format says) "
                   "[default: <first CSV stem>.<kind>.png next to it].")
@click.option("--format", "fmt", type=click.Choice(["png", "pdf", "svg"]), default=None,
              help="Figure format [default: from the --out suffix; png for --out -].")
@click.option("--title", default=None, metavar="TEXT",
              help="Figure title ('' for none) [default: what it shows, from the CSVs' provenance sidecars: "
                   "space, dataset, proxies, target, networks; without a sidecar, from the columns].")
@click.option("--target", default=None, metavar="COLUMN",
              help="scatter/search/kernel: accuracy column [default: the first].")
@click.option("--proxy", "proxies", multiple=True, metavar="NAME",
              help="scatter: score column to draw (repeatable) [default: every score column].")
@click.option("--log", is_flag=True,
              help="scatter: log score axis for scores spanning 100x or more (synflow); symlog where zeros or "
                   "negative scores come with such a range (zeros marked); each x label says its scale.")
@click.option("--statistic", type=click.Choice(["tau", "rho"]), default="tau", show_default=True,
              help="heatmap: Kendall tau or Spearman rho.")
@click.option("--cost", type=click.Choice(["queries", "seconds"]), default="queries", show_default=True,
              help="search: x axis, benchmark queries or simulated seconds (training + scoring); a method "
                   "that queried a benchmark without training times has no seconds and is left off, with a note.")
@click.option("--archs", default=None, metavar="LIST",
              help="kernel: comma-separated indices or architecture strings [default: the CSV's lowest, "
                   "median and highest accuracy].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="kernel: data directory [default: the CSV's provenance, else NASBENCH_DATA]; scatter: where "
                   "--space finds its converted table.")
@click.option("--dataset", default=None,
              help="kernel: dataset of the batch [default: the CSV's provenance]; scatter: with --space or "
                   "--ground-truth, join only this dataset's accuracies.")
@click.option("--space", default=None, metavar="SPACE",
              help="scatter: join a CSV of scores (keyed by index or arch) to this space's accuracies.")
@click.option("--ground-truth", "ground_truth", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="scatter: join a CSV of scores (keyed by index or arch) to this ground-truth CSV's accuracies.")
@click.option("--seed", type=SEED, default=None, help="kernel: score seed [default: the CSV's provenance, else 0].")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=None,
              help="kernel: batch size [default: the CSV's provenance, else NASWOT's 128].")
@verbosity_options
def plot(kind: str, csv_paths: Sequence[Path], out: Optional[str], fmt: Optional[str], quiet: bool, **options) -> None:
    """Draw a KIND figure from CSV... (matplotlib; deterministic bytes).

    \b
    scatter  score CSVs (`nasbench score`): score vs accuracy per proxy, tau/rho in each title;
             a CSV of scores only is joined to accuracies with --space [--dataset] or --ground-truth
    heatmap  correlate CSVs (`nasbench correlate`): score x target tau (or rho) with 95% intervals
    search   per-run search CSVs (`nasbench search`, one per algorithm): final accuracy distribution
             per algorithm (a wide one such as random in its own panel), mean +- std accuracy vs mean
             cost, and the budget each search actually spent
    kernel   a score CSV: NASWOT kernels K/N_A of a few of its networks (recomputed with the CSV's
             settings) with histograms, and its naswot score histogram
    predict  per-trial CSVs (`nasbench predict`): tau and rho vs training-set size, one line per
             feature set, 95% interval shaded, one row of panels per CSV
    """
    from nasbench_cli.output import check_output
    from nasbench_cli.provenance import (
        build_provenance,
        guard_default_output,
        guard_sidecar,
        invocation,
        sidecar_path,
        write_provenance,
    )

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
        target_path = Path(out) if out is not None else default_output(csv_paths[0], kind, fmt or "png")
        # the text as given: check_output refuses '' and a trailing '/' (a directory)
        check_output(out if out is not None else target_path, [*csv_paths, *map(sidecar_path, csv_paths)])
        # a default name replaces only this command's own figure (its sidecar says so); a foreign
        # file at the sidecar's name is never replaced
        if out is None:
            guard_default_output(target_path, context.params, "plot")
        else:
            guard_sidecar(target_path)
    from nasbench_cli.analysis import figures

    file_format = fmt or ("png" if to_stdout else figures.figure_format(target_path))
    fig = draw(kind, csv_paths, **options, notify=lambda text: note(_log, text))
    if to_stdout:
        stream = click.get_binary_stream("stdout")
        stream.write(figures.figure_bytes(fig, file_format))
        stream.flush()
    else:
        figures.save_figure(fig, target_path, file_format)
        write_provenance(target_path, build_provenance(dict(context.params), kind=kind,
                                                       invocation=invocation("plot", context.params)))
        _log.info(f"wrote {target_path}")
