"""`nasbench correlate`: rank correlation of proxy scores with benchmark accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import click

from nasbench_cli.analysis.ensemble_rules import ENSEMBLE_RULES

from nasbench_cli.analysis.correlation import MAX_RESAMPLES
from nasbench_cli.analysis.correlation_table import RESULT_COLUMNS, format_results, result_rows, small_n_note
from nasbench_cli.analysis.tables import TABLE_FORMATS
from nasbench_cli.commands.error_lines import ReportingCommand
from nasbench_cli.commands.options import OUT_FILE, SEED, verbosity_options
from nasbench_cli.logs import get_logger, note
from nasbench_cli.output import check_output, is_stdout, write_csv_rows
from nasbench_cli.provenance import (
    build_provenance,
    guard_default_output,
    guard_sidecar,
    invocation,
    sidecar_path,
    write_provenance,
)
from nasbench_cli.workflows.correlate import CorrelateJob, default_output, load_scores, run_correlate
from nasbench_cli.workflows.correlate_join import AccuracySource


_log = get_logger("correlate")


def printed_results(results, fmt: str) -> str:
    """The table as printed, with a note under it when n is too small for the intervals to mean
    anything (the CSV stays the --out schema, so csv gets no note)."""
    text = format_results(results, fmt)
    small = small_n_note(results)
    if small and fmt != "csv":
        text += ("\n% note: " if fmt == "latex" else "\nnote: ") + small
    return text


@click.command("correlate", cls=ReportingCommand)
@click.argument("csv_paths", metavar="CSV...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", "targets", multiple=True, metavar="COLUMN",
              help="Accuracy column to correlate with (repeatable); default: every accuracy column.")
@click.option("--score", "scores", multiple=True, metavar="COLUMN",
              help="Also take COLUMN as a score (repeatable): a column you added after scoring.")
@click.option("--out", type=OUT_FILE, default=None,
              help="Output CSV, - for stdout (the table then goes to stderr); default: "
                   "<first input stem>.correlation.csv next to it, which another run's (other targets, "
                   "ensembles, seed, ...) is not replaced.")
@click.option("--bootstrap", "resamples", type=click.IntRange(0, MAX_RESAMPLES), default=1000, show_default=True,
              help="Bootstrap resamples for the 95% percentile intervals (0: no intervals).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the bootstrap resampling.")
@click.option("--vote/--no-vote", default=None,
              help="Majority vote of synflow, jacob_cov, snip (default: when all three columns exist).")
@click.option("--ensemble", "ensembles", multiple=True, metavar="LIST",
              help="Ensemble of comma-separated score columns, e.g. synflow,jacob_cov (repeatable).")
@click.option("--ensemble-rule", "rule", type=click.Choice(sorted(ENSEMBLE_RULES)), default="mean-rank",
              show_default=True,
              help="How ensembles combine ranks: their mean, or the sum of ln(rank/n) (AZ-NAS).")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default="text", show_default=True,
              help="How the printed table is written: aligned text, markdown, LaTeX (booktabs), or CSV "
                   "(the --out CSV itself: same columns, same digits).")
@click.option("--space", default=None, metavar="SPACE",
              help="Join the CSV's rows (by index, else arch) to this space's accuracies: its converted table "
                   "under --data-dir, else the embedded one (NB201, NATS-TSS).")
@click.option("--dataset", default=None, metavar="DATASET",
              help="With --space or --ground-truth: join only this dataset's accuracy columns [default: all].")
@click.option("--ground-truth", "ground_truth", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="Join the CSV's rows to the accuracies of this ground-truth CSV (arch_index, arch, accuracy "
                   "columns; `nasbench data convert` writes one).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NASBENCH_DATA", default=None,
              help="With --space: where its converted table lives [env NASBENCH_DATA; default: user cache].")
@verbosity_options
def correlate(
    csv_paths: Sequence[Path],
    targets: Sequence[str],
    scores: Sequence[str],
    out: Optional[Path],
    resamples: int,
    seed: int,
    vote: Optional[bool],
    ensembles: Sequence[str],
    rule: str,
    fmt: str,
    space: Optional[str],
    dataset: Optional[str],
    ground_truth: Optional[Path],
    data_dir: Optional[Path],
) -> None:
    """Kendall tau and Spearman rho of each score column in CSV... against accuracy.

    CSV files are written by `nasbench score`; several are concatenated (duplicate architecture
    indices keep their first row). Scores are correlated by rank: -inf ranks lowest, NaN rows are
    dropped per pair and the n used is shown. tau/rho are of the raw score; pair_agreement orients
    the score by its direction (higher or lower is better).

    Score columns and their directions come from the CSV's provenance sidecar; without one, every
    numeric column other than the accuracies (<dataset>/<split>@<epochs>), index, arch_index, arch
    and seconds is a score, with a registered proxy's direction, else higher-is-better.

    A CSV of scores only (keyed by index or arch, e.g. another tool's) is joined to a benchmark's
    accuracies with --space (and --dataset) or --ground-truth.
    """
    accuracies = AccuracySource(space, dataset, ground_truth, data_dir)
    table, joined = load_scores(list(csv_paths), accuracies, notify=lambda text: note(_log, text))
    arguments = {"csv": list(csv_paths), "target": list(targets), "score": list(scores), "out": out,
                 "bootstrap": resamples, "seed": seed, "vote": vote, "ensemble": list(ensembles), "ensemble_rule": rule,
                 "space": space, "dataset": dataset, "ground_truth": ground_truth, "data_dir": data_dir}
    # checked before the bootstrap: an output that would replace an input, or (the default name)
    # another run's correlations, is refused up front, as score, search and predict do
    given = out
    out = check_output(out or default_output(table.sources[0]), [*csv_paths, *map(sidecar_path, csv_paths)])
    if given is None:
        guard_default_output(out, arguments, "correlate")
    else:
        guard_sidecar(out)
    job = CorrelateJob(tuple(targets), tuple(scores), tuple(ensembles), vote, resamples, seed, rule)
    report = run_correlate(table, job, notify=lambda text: note(_log, text))
    _log.info("scores: " + ", ".join(report.table.scores))
    write_csv_rows(out, RESULT_COLUMNS, result_rows(report.results))
    write_provenance(out, build_provenance(
        {**arguments, "out": out},
        **report.provenance(),
        **({"accuracies_joined": joined} if joined is not None else {}),
        invocation=invocation("correlate", arguments),
    ))
    table_text = printed_results(report.results, fmt)
    if is_stdout(out):  # stdout carries the CSV: the table is a message
        _log.info(table_text)
    else:
        click.echo(table_text)
        _log.info(f"wrote {out}")

