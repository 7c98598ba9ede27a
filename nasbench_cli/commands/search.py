"""`nasbench search`: repeated runs of a search algorithm over a benchmark; per-run and summary CSVs.

Scores come from the score store (computed once for every run and every command); accuracies and
training times from the space's ground-truth table. Each run r is seeded with
derive_seed(seed, "run", r), so its result does not depend on the other runs.
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace as replace_options
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import click
from click.core import ParameterSource
import numpy as np
from tqdm import tqdm

from nasbench_cli.analysis.tables import TABLE_FORMATS, render_table
from nasbench_cli.commands.options import (
    SEED,
    data_options,
    engine_options,
    output_options,
    proxy_settings_options,
    space_option,
    verbosity_options,
)
from nasbench_cli.errors import DataMissingError, UsageError
from nasbench_cli.logs import get_logger, note
from nasbench_cli.output import check_output, format_float, is_stdout, write_csv
from nasbench_cli.provenance import build_provenance, write_provenance
from nasbench_cli.scoring import ProxyScores
from nasbench_cli.search import SearchOptions, SearchProblem, parse_budget, resolve_budget
from nasbench_cli.search.base import Benchmark, archs_to_score, check_alignment, check_times, run_search, summarise
from nasbench_cli.search.budget import SECONDS, cap_budget
from nasbench_cli.session import RunConfig, ScoringSession

_log = get_logger("search")


def load_truth(search_space, data_root: Path):
    """The space's ground truth; DataMissingError naming the expected path and how to make it."""
    from nasbench_cli.groundtruth import ground_truth_path

    truth = search_space.ground_truth()
    if truth is None:
        raise DataMissingError(
            f"search needs the {search_space.name} ground truth, expected at "
            f"{ground_truth_path(search_space.name, data_root)}; create it from the official benchmark "
            f"archive with `nasbench data convert ARCHIVE --data-dir {data_root}`")
    return truth


def default_out(algo: str, space: str, dataset: str, seed: int, n: int, budget: Optional[str]) -> Path:
    detail = f"-n{n}" if algo == "naswot" else (f"-{budget}" if budget else "")
    return Path("results") / f"search-{algo}{detail}-{space}-{dataset}-seed{seed}.csv"


def summary_path(out: Path) -> Path:
    """``results/x.csv`` -> ``results/x.summary.csv``."""
    return out.with_name(out.stem + ".summary.csv")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, float) and math.isnan(value):
        return ""
    return format_float(float(value))


def render_summary(rows: Sequence[Dict[str, object]], title: str, fmt: str = "text") -> str:
    """The summary table (column, mean, std, runs) in ``fmt``; the title heads the text format only,
    so markdown, LaTeX and CSV paste as they are."""
    def number(value) -> str:
        return "n/a" if isinstance(value, float) and math.isnan(value) else f"{value:.4f}"

    table = render_table(["column", "mean", "std", "runs"],
                         [[row["column"], number(row["mean"]), number(row["std"]), row["runs"]] for row in rows],
                         fmt)
    return f"{title}\n{table}" if fmt == "text" else table


#: runs of one command: each run is a full search, and the per-run CSV keeps one row per run
MAX_RUNS = 1_000_000


@click.command("search")
@click.option("--algo", required=True, help="Search algorithm: random, naswot, rea or area.")
@space_option
@click.option("--dataset", default="cifar10", show_default=True,
              help="Dataset the proxy scores its batch on; also picks the default fitness column.")
@click.option("--runs", type=click.IntRange(1, MAX_RUNS), default=500, show_default=True, help="Independent runs.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the runs (run r: derive_seed(seed, 'run', r)).")
@click.option("--n", "n", type=int, default=100, show_default=True, help="NASWOT(N): architectures scored per run.")
@click.option("--replace/--no-replace", default=True, show_default=True,
              help="NASWOT/AREA sampling with replacement (the NASWOT authors' choice).")
@click.option("--budget", "budget_text", default="12000s", show_default=True,
              help="REA/AREA budget: simulated training seconds (12000s, at least 1) or queries (500q). "
                   "Without training times, seconds become seconds/100 queries (with a note); a NaN, zero or "
                   "negative time refuses a seconds budget (use Nq); a budget above training every architecture "
                   "once is capped (with a note); a run makes at most 10 x max(architectures, population) queries.")
@click.option("--population", type=int, default=10, show_default=True, help="REA/AREA population P.")
@click.option("--sample-size", type=int, default=3, show_default=True, help="REA/AREA tournament size S.")
@click.option("--m", "m", type=int, default=20, show_default=True, help="AREA: architectures scored for the first population.")
@click.option("--fitness", "fitness_column", default=None,
              help="REA/AREA fitness column [default NB201/NATS: <dataset>/x-valid@12, e.g. cifar10-valid/x-valid@12].")
@click.option("--proxy", "proxy_name", default="naswot", show_default=True, help="Score used by naswot/area.")
@proxy_settings_options("--score-seed", "Seed of the scores (network init and batch), as `nasbench score --seed`.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Per-run CSV [default: results/search-<algo>...csv]; the summary goes to <stem>.summary.csv. "
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
    from nasbench_cli.search import ALGORITHMS

    algorithm = ALGORITHMS.get(algo)  # unknown: exit 2 listing the valid names
    context = click.get_current_context()
    if not algorithm.uses_budget and context.get_parameter_source("budget_text") != ParameterSource.DEFAULT:
        budgeted = ", ".join(name for name in ALGORITHMS.names() if ALGORITHMS.get(name).uses_budget)
        raise UsageError(f"--budget applies to {budgeted}; {algorithm.name} takes none")
    _check_counts(runs=runs, n=n, population=population, sample_size=sample_size, m=m)
    if algorithm.name == "area" and m < population:
        raise UsageError(f"--m ({m}) must be at least --population ({population}): AREA keeps the best P of M")
    session = ScoringSession(RunConfig.from_options((proxy_name,), **options))
    search_space, data = session.space, session.dataset
    for flag, count, used in (("--n", n, algorithm.name == "naswot"), ("--m", m, algorithm.name == "area")):
        if used and count > len(search_space):
            raise UsageError(f"{flag} {count} is more than the {len(search_space)} architectures of "
                             f"{search_space.name}; score at most the whole space")
    truth = load_truth(search_space, session.data_dir)
    check_alignment(search_space, truth)
    problem, fitness_column, notes = _problem(algorithm, search_space, data.name, truth, fitness_column, budget_text,
                                              SearchOptions(n=n, replace=replace, population=population,
                                                            sample_size=sample_size, m=m))
    budget = problem.options.budget
    out = out or default_out(algorithm.name, search_space.name, data.name, seed, n, str(budget) if budget else None)
    for text in notes:  # a warning, shown even with --quiet: it changes what the numbers mean
        note(_log, text)

    quiet = session.config.quiet
    scores = None
    with session:
        inputs = [session.store_name, truth.source]
        if algorithm.uses_scores:  # the batch is read (and missing data fails) before any work
            _, images = session.engine.data_scorer()
            inputs += [session.data_dir / name for name in images.files]
        for target in (out, summary_path(out)) if not is_stdout(out) else (out,):
            check_output(target, inputs)
        if algorithm.uses_scores:
            scores = _attach_scores(problem, algorithm, session, seed, runs)
        bar = (lambda items: tqdm(items, desc=f"{algorithm.name} runs", unit="run", disable=quiet,
                                  file=sys.stderr, dynamic_ncols=True))
        results = run_search(algorithm, problem, seed, list(range(runs)), progress=bar)

    accuracy_columns = list(truth.accuracy_columns)
    rows, columns, values = _run_rows(results, search_space, truth, accuracy_columns, timing)
    write_csv(out, columns, rows)
    stats = summarise(values)
    summary = summary_path(out) if not is_stdout(out) else None
    if summary is not None:
        write_csv(summary, ["column", "runs", "mean", "std", "min", "max"],
                  [{k: _cell(v) if k != "column" else v for k, v in row.items()} for row in stats])
    record = build_provenance(
        {**click.get_current_context().params, "data_dir": session.data_dir},
        seed=seed,
        run_seeds="derive_seed(seed, 'run', r) for r in 0..runs-1",
        algorithm={"name": algorithm.name, "summary": algorithm.summary, "uses_scores": algorithm.uses_scores,
                   "uses_budget": algorithm.uses_budget},
        budget=str(budget) if budget else None,
        budget_unit=budget.unit if budget else None,
        notes=notes,
        fitness_column=fitness_column if algorithm.uses_budget else None,
        time_column=problem.benchmark.time_column if problem.benchmark.times is not None else None,
        ground_truth=str(truth.source),
        index_order=search_space.index_order,
        **_scores_record(session, scores),
        std="population standard deviation (ddof=0, numpy's default)",
        summary_csv=str(summary) if summary is not None else None,
    )
    write_provenance(out, record)
    if summary is not None:
        write_provenance(summary, record)
    title = (f"{algorithm.name} on {search_space.name} ({data.name}), {runs} runs"
             + (f", N={n}" if algorithm.name == "naswot" else "")
             + (f", budget {budget}" if budget else ""))
    if summary is None:  # stdout carries the runs CSV: the table is a message
        _log.info(render_summary(stats, title, fmt))
        _log.info(f"wrote {len(rows)} runs to stdout")
    else:
        click.echo(render_summary(stats, title, fmt))
        _log.info(f"wrote {len(rows)} runs to {out} and the summary to {summary}")


def _scores_record(session: ScoringSession, scores: Optional[ProxyScores]) -> Dict[str, object]:
    """Where the run's proxy scores came from, for provenance (empty for score-free algorithms)."""
    if scores is None:
        return {"store": None, "scores_loaded": 0, "scores_computed": 0}
    return {"store": session.store_name, "store_context": scores.context.describe(), "scores_loaded": scores.loaded,
            "scores_computed": scores.computed, "scoring": session.device_record()}


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def _problem(algorithm, space, dataset: str, truth, fitness_column: Optional[str], budget_text: str,
             options: SearchOptions):
    """The search problem (benchmark look-ups and budget), its fitness column, and notes for the user."""
    notes: List[str] = []
    accuracy_columns = list(truth.accuracy_columns)
    fitness_column = fitness_column or space.benchmark.fitness_column(dataset)
    if algorithm.uses_budget:
        if fitness_column is None:
            raise UsageError(f"no default fitness column for {space.name} on {dataset}: give --fitness COLUMN "
                             f"(accuracy columns: {', '.join(accuracy_columns)})")
        if fitness_column not in accuracy_columns:
            what = "no column" if fitness_column not in truth.columns else "no accuracy column"
            raise UsageError(f"--fitness: {truth.source} has {what} '{fitness_column}'; accuracy columns: "
                             f"{', '.join(accuracy_columns)}")
    size = len(space)
    benchmark = Benchmark.from_truth(truth, size, fitness_column, space.benchmark.time_column(fitness_column)) \
        if fitness_column in truth.columns else Benchmark(size, np.full(size, np.nan), "")
    budget = parse_budget(budget_text) if algorithm.uses_budget else None
    if budget is not None:
        budget, fallback = resolve_budget(budget, benchmark.times is not None, benchmark.time_column)
        if budget.unit == SECONDS:  # times present: each must be a real cost, or the budget is never spent
            check_times(space, benchmark, truth.source)
        budget, capped = cap_budget(budget, size, options.population, benchmark.times)
        notes.extend(note for note in (fallback, capped) if note)
        if budget.unit == "queries" and budget.amount < options.population:
            shown = f"{budget_text.strip()} (= {budget} without training times)" if fallback else str(budget)
            raise UsageError(f"--budget {shown}: fewer queries than the population ({options.population}); "
                             f"REA/AREA query their whole first population")
    problem = SearchProblem(space, benchmark, replace_options(options, budget=budget))
    return problem, fitness_column, notes


def _attach_scores(problem, algorithm, session: ScoringSession, seed: int, runs: int) -> ProxyScores:
    """Give the problem its scores, computing up front (through the engine) those the runs will need."""
    spec = session.specs[0]
    engine = session.engine
    scores = ProxyScores(session.store, engine.contexts[spec.name], session.space, spec.direction,
                         compute=lambda indices: engine.compute_one_proxy(spec.name, indices))
    problem.scores = scores
    needed = archs_to_score(algorithm, problem, seed, range(runs))
    missing = scores.missing(needed)
    if missing:
        session.notify(f"{len(needed)} distinct architectures to score, {len(needed) - len(missing)} in the "
                       f"store, {len(missing)} to compute")
    scores.ensure(missing)
    return scores


def _run_rows(results, space, truth, accuracy_columns: Sequence[str], timing: bool):
    """Per-run CSV rows, their columns, and the per-column values to summarise."""
    frame = truth.frame
    # measured seconds differ between machines and runs: --no-timing leaves them out
    timed_columns = ["score_seconds", "wall_seconds"] if timing else []
    columns = ["run", "seed", "index", "arch", "score", *accuracy_columns, "queries", "simulated_seconds",
               "scored", *timed_columns]
    summarised = [*accuracy_columns, "queries", "simulated_seconds", "scored", *timed_columns]
    values: Dict[str, List[float]] = {c: [] for c in summarised}
    rows = []
    for timed in results:
        res = timed.result
        found = frame.loc[res.index] if res.index in frame.index else None
        row = {"run": str(timed.run), "seed": str(timed.seed), "index": str(res.index),
               "arch": space.arch_str(res.index), "score": _cell(res.score)}
        for column in accuracy_columns:
            value = None if found is None else found[column]
            value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
            row[column] = _cell(value)
            values[column].append(math.nan if value is None else value)
        extra = {"queries": res.queries, "simulated_seconds": res.simulated_seconds, "scored": res.scored}
        if timing:
            extra.update(score_seconds=res.score_seconds, wall_seconds=timed.wall_seconds)
        for key, value in extra.items():
            row[key] = _cell(value) if key not in ("score_seconds", "wall_seconds") else format_float(value, decimals=4)
            values[key].append(float(value))
        rows.append(row)
    return rows, columns, values
