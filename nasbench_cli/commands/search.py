"""`nasbench search`: repeated runs of a search algorithm over a benchmark; per-run and summary CSVs.

Scores come from the score store (computed once for every run and every command); accuracies and
training times from the space's ground-truth table. Each run r is seeded with
derive_seed(seed, "run", r), so its result does not depend on the other runs.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import click
import numpy as np
import torch
from tqdm import tqdm

from nasbench_cli.errors import DataMissingError, UsageError
from nasbench_cli.paths import resolve_data_dir
from nasbench_cli.provenance import build_provenance, write_provenance
from nasbench_cli.scoring import format_value, write_rows_atomically

#: the dataset whose 12-epoch validation accuracy is REA's fitness, per scoring dataset
#: (NB201's REA searches CIFAR-10 on its train/valid split, "cifar10-valid")
FITNESS_DATASET = {"cifar10": "cifar10-valid", "synthetic": "cifar10-valid", "cifar100": "cifar100",
                   "ImageNet16-120": "ImageNet16-120"}
#: spaces whose tables have NB201-style 12-epoch columns
SHORT_SCHEDULE = {"nb201": "12", "nats-tss": "12", "nats-sss": "12"}


def default_fitness_column(space: str, dataset: str) -> Optional[str]:
    """NB201-style spaces: ``<dataset>/x-valid@12`` (the NB201 reference REA); None elsewhere."""
    if space not in SHORT_SCHEDULE or dataset not in FITNESS_DATASET:
        return None
    return f"{FITNESS_DATASET[dataset]}/x-valid@{SHORT_SCHEDULE[space]}"


def time_column_for(fitness_column: str) -> str:
    """The training time matching a fitness column: ``cifar10-valid/x-valid@12`` -> ``.../train_time@12``."""
    dataset, _, rest = fitness_column.partition("/")
    hp = rest.rpartition("@")[2]
    return f"{dataset}/train_time@{hp}"


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
    return format_value(float(value))


def render_table(rows: Sequence[Dict[str, object]], title: str) -> str:
    """The summary as aligned text: column, mean +- std, runs."""
    width = max([len(str(r["column"])) for r in rows] + [6])
    lines = [title, f"{'column':<{width}}  {'mean':>12} +- {'std':<10} runs"]
    for row in rows:
        mean, std = row["mean"], row["std"]
        text = "n/a" if isinstance(mean, float) and math.isnan(mean) else f"{mean:12.4f} +- {std:<10.4f}"
        lines.append(f"{row['column']:<{width}}  {text:>12} {row['runs']}")
    return "\n".join(lines)


@click.command("search")
@click.option("--algo", required=True, help="Search algorithm: random, naswot, rea or area.")
@click.option("--space", required=True, help="Search space (see `nasbench spaces`).")
@click.option("--dataset", default="cifar10", show_default=True,
              help="Dataset the proxy scores its batch on; also picks the default fitness column.")
@click.option("--runs", type=int, default=500, show_default=True, help="Independent runs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the runs (run r: derive_seed(seed, 'run', r)).")
@click.option("--n", "n", type=int, default=100, show_default=True, help="NASWOT(N): architectures scored per run.")
@click.option("--replace/--no-replace", default=True, show_default=True,
              help="NASWOT/AREA sampling with replacement (the NASWOT authors' choice).")
@click.option("--budget", "budget_text", default="12000s", show_default=True,
              help="REA/AREA budget: simulated training seconds (12000s) or queries (500q).")
@click.option("--population", type=int, default=10, show_default=True, help="REA/AREA population P.")
@click.option("--sample-size", type=int, default=3, show_default=True, help="REA/AREA tournament size S.")
@click.option("--m", "m", type=int, default=20, show_default=True, help="AREA: architectures scored for the first population.")
@click.option("--fitness", "fitness_column", default=None,
              help="REA/AREA fitness column [default NB201/NATS: <dataset>/x-valid@12, e.g. cifar10-valid/x-valid@12].")
@click.option("--proxy", "proxy_name", default="naswot", show_default=True, help="Score used by naswot/area.")
@click.option("--batch-size", type=int, default=None, help="Proxy batch size [default: the proxy's reference size].")
@click.option("--score-seed", type=int, default=0, show_default=True,
              help="Seed of the scores (network init and batch), as `nasbench score --seed`.")
@click.option("--split", default="train", show_default=True, help="Dataset split of the proxy's batch.")
@click.option("--head", type=click.Choice(["auto", "one", "dataset"]), default="auto", show_default=True,
              help="Classifier width for scoring (auto: the proxy's reference choice).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Per-run CSV [default: results/search-<algo>...csv]; the summary goes to <stem>.summary.csv.")
@click.option("--data-dir", type=click.Path(path_type=Path), envvar="NASBENCH_DATA", default=None,
              help="Data directory [env NASBENCH_DATA; default: user cache].")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), envvar="NASBENCH_STORE",
              default=None, help="Score store file [env NASBENCH_STORE; default: <data-dir>/scores.sqlite].")
@click.option("--no-store", is_flag=True, help="Throwaway run: neither reuse nor keep scores.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
@click.option("--timing/--no-timing", default=True, show_default=True,
              help="Add measured seconds (--no-timing: byte-identical outputs across runs).")
@click.option("--quiet", is_flag=True, help="No progress bars or notes (the summary table is still printed).")
def search(algo, space, dataset, runs, seed, n, replace, budget_text, population, sample_size, m, fitness_column,
           proxy_name, batch_size, score_seed, split, head, out, data_dir, store_path, no_store, device, timing,
           quiet) -> None:
    """Run a search algorithm RUNS times on SPACE; write per-run and summary CSVs + provenance."""
    from nasbench_cli.datasets import get_dataset
    from nasbench_cli.proxies import PROXIES
    from nasbench_cli.search import ALGORITHMS, SearchOptions, SearchProblem, parse_budget, resolve_budget
    from nasbench_cli.search.base import Benchmark, check_alignment, run_search, summarise
    from nasbench_cli.spaces import SPACES, create_space

    algorithm = ALGORITHMS.get(algo)  # unknown: exit 2 listing the valid names
    SPACES.get(space)
    data = get_dataset(dataset)
    spec = PROXIES.get(proxy_name) if algorithm.uses_scores else None
    _check_counts(runs=runs, n=n, population=population, sample_size=sample_size, m=m)
    if algorithm.name == "area" and m < population:
        raise UsageError(f"--m ({m}) must be at least --population ({population}): AREA keeps the best P of M")
    if batch_size is not None and batch_size < 2:
        raise UsageError("--batch-size must be at least 2")
    budget = parse_budget(budget_text) if algorithm.uses_budget else None

    data_root = resolve_data_dir(data_dir)
    search_space = create_space(space, data_root)
    if algorithm.name == "naswot" and not replace and n > len(search_space):
        raise UsageError(f"--no-replace: {space} has {len(search_space)} architectures; cannot sample {n}")
    truth = load_truth(search_space, data_root)
    check_alignment(search_space, truth)
    accuracy_columns = list(truth.accuracy_columns)

    notes: List[str] = []
    fitness_column = fitness_column or default_fitness_column(space, data.name)
    if algorithm.uses_budget:
        if fitness_column is None:
            raise UsageError(f"no default fitness column for {space} on {data.name}: give --fitness COLUMN "
                             f"(accuracy columns: {', '.join(accuracy_columns)})")
        if fitness_column not in truth.columns:
            raise UsageError(f"--fitness: {truth.source} has no column '{fitness_column}'; accuracy columns: "
                             f"{', '.join(accuracy_columns)}")
    benchmark = Benchmark.from_truth(truth, len(search_space), fitness_column, time_column_for(fitness_column)) \
        if fitness_column in truth.columns else Benchmark(len(search_space), np.full(len(search_space), np.nan), "")
    if budget is not None:
        budget, note = resolve_budget(budget, benchmark.times is not None, benchmark.time_column)
        if note:
            notes.append(note)
        if budget.unit == "queries" and budget.amount < population:
            raise UsageError(f"--budget {budget}: fewer queries than the population ({population})")

    options = SearchOptions(n=n, replace=replace, population=population, sample_size=sample_size, m=m,
                            budget=budget)
    problem = SearchProblem(search_space, benchmark, options)
    out = out or default_out(algorithm.name, space, data.name, seed, n, str(budget) if budget else None)
    for note in notes:  # printed even with --quiet: it changes what the numbers mean
        click.echo(f"note: {note}", err=True)

    store_name, store_context, computed, loaded, device_name = None, None, 0, 0, None
    store = None
    try:
        if algorithm.uses_scores:
            store, store_name, computed, loaded, store_context, device_name = _attach_scores(
                problem, algorithm, spec, search_space, data, data_root, seed, runs, score_seed, batch_size,
                head, split, device, store_path, no_store, quiet)
        bar = (lambda items: tqdm(items, desc=f"{algorithm.name} runs", unit="run", disable=quiet,
                                  file=sys.stderr, dynamic_ncols=True))
        results = run_search(algorithm, problem, seed, list(range(runs)), progress=bar)
    finally:
        if store is not None:
            store.close()

    rows, columns, values = _run_rows(results, search_space, truth, accuracy_columns, timing)
    write_rows_atomically(out, columns, rows)
    stats = summarise(values)
    summary = summary_path(out)
    write_rows_atomically(summary, ["column", "runs", "mean", "std", "min", "max"],
                          [{k: _cell(v) if k != "column" else v for k, v in row.items()} for row in stats])
    record = build_provenance(
        {"algo": algorithm.name, "space": space, "dataset": data.name, "runs": runs, "seed": seed, "n": n,
         "replace": replace, "budget": budget_text, "population": population, "sample_size": sample_size,
         "m": m, "fitness": fitness_column, "proxy": proxy_name, "batch_size": batch_size,
         "score_seed": score_seed, "split": split, "head": head, "data_dir": data_root, "timing": timing},
        seed=seed,
        run_seeds="derive_seed(seed, 'run', r) for r in 0..runs-1",
        algorithm={"name": algorithm.name, "summary": algorithm.summary, "uses_scores": algorithm.uses_scores,
                   "uses_budget": algorithm.uses_budget},
        budget=str(budget) if budget else None,
        budget_unit=budget.unit if budget else None,
        notes=notes,
        fitness_column=fitness_column if algorithm.uses_budget else None,
        time_column=benchmark.time_column if benchmark.times is not None else None,
        ground_truth=str(truth.source),
        index_order=getattr(search_space, "index_order", "benchmark"),
        store=store_name,
        store_context=store_context,
        scores_loaded=loaded,
        scores_computed=computed,
        scoring_device=device_name,
        std="population standard deviation (ddof=0, numpy's default)",
        summary_csv=str(summary),
    )
    write_provenance(out, record)
    write_provenance(summary, record)
    title = (f"{algorithm.name} on {space} ({data.name}), {runs} runs"
             + (f", N={n}" if algorithm.name == "naswot" else "")
             + (f", budget {budget}" if budget else ""))
    click.echo(render_table(stats, title))
    click.echo(f"wrote {len(rows)} runs to {out} and the summary to {summary}", err=True)


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def _attach_scores(problem, algorithm, spec, search_space, data, data_root, seed, runs, score_seed, batch_size,
                   head, split, device, store_path, no_store, quiet):
    """Open the store, give the problem its scores, and compute the missing ones the runs will need."""
    from nasbench_cli.runtime import pick_device
    from nasbench_cli.scoring import ProxyScores, ScoreSettings, make_scorer, score_context
    from nasbench_cli.search.base import archs_to_score
    from nasbench_cli.store import open_store

    if data.name not in getattr(search_space, "datasets", (data.name,)) and data.name != "synthetic":
        raise UsageError(f"space {search_space.name} has no networks for dataset {data.name}")
    settings = ScoreSettings(search_space.name, data.name, (spec.name,), score_seed, batch_size, head, split)
    context = score_context(spec, settings)
    torch_device = pick_device(device)
    store, store_name, note = open_store(store_path, data_root, enabled=not no_store)
    if note and not quiet:
        click.echo(f"note: {note}", err=True)
    try:
        scores = ProxyScores(store, context, search_space, spec.direction,
                             make_scorer=lambda: make_scorer(search_space, data, [spec], settings, data_root,
                                                             torch_device)[0],
                             device=str(torch_device))
        problem.scores = scores
        needed = archs_to_score(algorithm, problem, seed, range(runs))
        missing = scores.missing(needed)
        if missing and not quiet:
            click.echo(f"{len(needed)} distinct architectures to score, {len(needed) - len(missing)} in the "
                       f"store, {len(missing)} to compute", err=True)
        bar = (lambda items: tqdm(items, desc=f"scoring {spec.name}", unit="arch", disable=quiet,
                                  file=sys.stderr, dynamic_ncols=True))
        scores.ensure(missing, progress=bar,
                      on_failure=lambda msg: tqdm.write(f"warning: {msg}", file=sys.stderr))
    except BaseException:
        store.close()
        raise
    device_name = torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda" else "cpu"
    return store, store_name, scores.computed, scores.loaded, context.describe(), device_name


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
            row[key] = _cell(value) if key not in ("score_seconds", "wall_seconds") else f"{value:.4f}"
            values[key].append(float(value))
        rows.append(row)
    return rows, columns, values
