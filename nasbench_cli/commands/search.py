"""`nasbench search`: repeated runs of a search algorithm over a benchmark; per-run and summary CSVs.

The job itself is nasbench_cli.workflows.search; this command parses its options, runs it, writes
the CSVs and their provenance, and prints the summary table.
"""

from __future__ import annotations

from typing import Dict, Sequence

import click
from click.core import ParameterSource

from nasbench_cli.analysis.tables import TABLE_FORMATS, render_table
from nasbench_cli.commands.options import (
    OUT_FILE,
    data_options,
    declared_options,
    engine_options,
    output_options,
    proxy_settings_options,
    space_option,
    verbosity_options,
)
from nasbench_cli.logs import get_logger, note
from nasbench_cli.output import format_float
from nasbench_cli.commands.run_outputs import RunOutput
from nasbench_cli.options import RunConfig
from nasbench_cli.search import ALGORITHMS
from nasbench_cli.workflows.search import SearchJob, run_search_job, summary_cells

_log = get_logger("search")


def render_summary(rows: Sequence[Dict[str, object]], title: str, fmt: str = "text") -> str:
    """The summary table (column, mean, std, runs) in ``fmt``; the title heads the text format only,
    so markdown, LaTeX and CSV paste as they are. CSV is the summary CSV itself (same columns,
    same cells), so what is printed and what is written never differ."""
    if fmt == "csv":
        cells = summary_cells(rows)
        columns = ["column", "runs", "mean", "std", "min", "max"]
        return "\n".join([",".join(columns)] + [",".join(_csv_cell(row[c]) for c in columns) for row in cells])

    table = render_table(["column", "mean", "std", "runs"],
                         [[row["column"], format_float(row["mean"], decimals=4, nan="n/a"),
                           format_float(row["std"], decimals=4, nan="n/a"), row["runs"]] for row in rows], fmt)
    return f"{title}\n{table}" if fmt == "text" else table


def _csv_cell(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\n') else text


@click.command("search")
@click.option("--algo", required=True, help=f"Search algorithm: {', '.join(ALGORITHMS.names())}.")
@space_option
@click.option("--dataset", default="cifar10", show_default=True,
              help="Dataset the proxy scores its batch on; also picks the default fitness column.")
@declared_options(SearchJob, ("runs", "seed", "n"))
@click.option("--replace/--no-replace", default=True, show_default=True,
              help="NASWOT/AREA sampling with replacement (the NASWOT authors' choice).")
@click.option("--budget", "budget_text", default="12000s", show_default=True,
              help="REA/AREA budget: simulated training seconds (12000s, at least 1) or queries (500q). "
                   "Without training times, seconds become seconds/100 queries (with a note); a NaN, zero or "
                   "negative time refuses a seconds budget (use Nq); a budget above training every architecture "
                   "once is capped (with a note); a run makes at most 10 x max(architectures, population) queries.")
@declared_options(SearchJob, ("population", "sample_size", "m"))
@click.option("--fitness", "fitness_column", default=None,
              help="REA/AREA fitness column [default NB201/NATS: <dataset>/x-valid@12, e.g. cifar10-valid/x-valid@12].")
@click.option("--proxy", "proxy_name", default="naswot", show_default=True, help="Score used by naswot/area.")
@proxy_settings_options("--score-seed", "Seed of the scores (network init and batch), as `nasbench score --seed`.")
@click.option("--out", type=OUT_FILE, default=None,
              help="Per-run CSV [default: results/search-<algo>[-<proxy>][-n<N>|-m<M>][-<budget>]-<space>-<dataset>-"
                   "runs<R>-seed<S>.csv; another run's file is never replaced]; the summary goes to <stem>.summary.csv. "
                   "- writes the runs to stdout and the summary table to stderr.")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default="text", show_default=True,
              help="How the printed summary table is written: aligned text, markdown, LaTeX (booktabs) or CSV.")
@data_options
@engine_options
@output_options
@verbosity_options
def search(algo, runs, seed, n, replace, budget_text, population, sample_size, m, fitness_column, proxy_name, out,
           fmt, timing, **options) -> None:
    """Run a search algorithm RUNS times on SPACE; write per-run and summary CSVs + provenance."""
    given = click.get_current_context().get_parameter_source("budget_text") != ParameterSource.DEFAULT
    run = RunConfig.from_options((proxy_name,), **options)
    job = SearchJob(run, algo, runs, seed, n, replace, budget_text if given else None, population, sample_size, m,
                    fitness_column, timing, progress=not run.quiet)
    target = RunOutput(out, with_summary=True)
    # a note is a warning, shown even with --quiet: it changes what the numbers mean
    result = run_search_job(job, notify=lambda text: note(_log, text), before_compute=target.check)
    target.write(result.columns, result.rows, result.arguments, result.provenance,
                 ["column", "runs", "mean", "std", "min", "max"], summary_cells(result.summary))
    out, summary = target.path, target.summary
    if summary is None:  # stdout carries the runs CSV: the table is a message
        _log.info(render_summary(result.summary, result.title, fmt))
        _log.info(f"wrote {len(result.rows)} runs to stdout")
    else:
        click.echo(render_summary(result.summary, result.title, fmt))
        _log.info(f"wrote {len(result.rows)} runs to {out} and the summary to {summary}")
