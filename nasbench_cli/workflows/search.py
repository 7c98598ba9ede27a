"""The search job, written once: check the options, load and align the ground truth, build the
search problem (fitness, budget and its notes), give it its scores through the engine, run the
algorithm RUNS times, and return per-run rows, the summary and the provenance record.
`nasbench search` and ``nasbench_cli.api.search`` are thin faces of it; it writes no file.

Each run r is seeded with derive_seed(seed, "run", r), so its result does not depend on the other runs.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from dataclasses import replace as replace_options
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from nasbench_cli.errors import DataMissingError, UsageError
from nasbench_cli.logs import progress_bar
from nasbench_cli.output import format_float
from nasbench_cli.search.proxy_scores import ProxyScores
from nasbench_cli.search import ALGORITHMS, SearchOptions, SearchProblem, parse_budget, resolve_budget
from nasbench_cli.search.base import Benchmark, archs_to_score, check_alignment, check_times, run_search, summarise
from nasbench_cli.search.budget import SECONDS, budget_phrase, cap_budget
from nasbench_cli.options import POSITIVE, RUNS, SEED, RunConfig, check_declared, option, registered
from nasbench_cli.session import ScoringSession

#: the budget REA/AREA get when none is given
DEFAULT_BUDGET = "12000s"


@dataclass(frozen=True)
class SearchJob:
    """A search: the algorithm and its options, and the scoring run behind its proxy scores
    (``run.proxies[0]`` is the proxy, ``run.score_seed`` the scores' seed); checked when made."""

    run: RunConfig
    algo: str = option(help="Search algorithm (see `nasbench search --help`).",
                       choices=registered("nasbench_cli.search", "ALGORITHMS"), label="search algorithm", cli=False)
    runs: int = option(500, "Independent runs.", bound=RUNS)
    seed: int = option(0, "Seed of the runs (run r: derive_seed(seed, 'run', r)).", bound=SEED)
    n: int = option(100, "NASWOT(N): architectures scored per run.", bound=POSITIVE)
    replace: bool = True
    budget: Optional[str] = None  # None: DEFAULT_BUDGET for rea/area; an error for the others if given
    population: int = option(10, "REA/AREA population P.", bound=POSITIVE)
    sample_size: int = option(3, "REA/AREA tournament size S.", bound=POSITIVE)
    m: int = option(20, "AREA: architectures scored for the first population.", bound=POSITIVE)
    fitness: Optional[str] = None
    timing: bool = False
    progress: bool = False  # a bar over the runs on stderr

    def __post_init__(self) -> None:
        check_declared(self)

    def search_options(self) -> SearchOptions:
        """The algorithm's options (the budget is resolved later, against the benchmark)."""
        return SearchOptions(n=self.n, replace=self.replace, population=self.population,
                             sample_size=self.sample_size, m=self.m)


@dataclass(frozen=True)
class SearchPlan:
    """What a search will read, known before any score is computed (for the caller's checks)."""

    inputs: List[Any]
    default_out: Path


@dataclass
class SearchResult:
    """Per-run rows and columns, the summary rows, and the provenance record's fields."""

    columns: List[str]
    rows: List[Dict[str, str]]
    summary: List[Dict[str, Any]]
    notes: List[str]
    algorithm: str
    title: str
    #: the sidecar's fields after ``arguments`` (the caller adds where the summary went)
    provenance: Dict[str, Any] = field(default_factory=dict)
    arguments: Dict[str, Any] = field(default_factory=dict)


def default_out(job: SearchJob, algorithm, space: str, dataset: str, budget: Optional[str]) -> Path:
    """The per-run CSV `nasbench search` writes without --out; its name says what was run (algorithm,
    its proxy when not the default naswot, N or M, budget, space, dataset, runs, seed):
    ``results/search-area-synflow-m20-12000s-nb201-cifar10-runs500-seed0.csv``."""
    parts = [job.algo]
    if algorithm.uses_scores and job.run.proxies[0] != "naswot":
        parts.append(job.run.proxies[0])
    if algorithm.sample_option:
        parts.append(f"{algorithm.sample_option}{algorithm.sample_count(job.search_options())}")
    if algorithm.uses_budget and budget:
        parts.append(budget)
    parts += [space, dataset, f"runs{job.runs}", f"seed{job.seed}"]
    return Path("results") / f"search-{'-'.join(parts)}.csv"


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


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, float) and math.isnan(value):
        return ""
    return format_float(float(value))


def summary_cells(summary: Sequence[Dict[str, Any]]) -> List[Dict[str, str]]:
    """The summary rows as the summary CSV writes them."""
    return [{k: _cell(v) if k != "column" else v for k, v in row.items()} for row in summary]


def check_job(job: SearchJob):
    """The registered algorithm of ``job``; a UsageError for options it cannot take."""
    algorithm = ALGORITHMS.get(job.algo)  # unknown: exit 2 listing the valid names
    if not algorithm.uses_budget and job.budget is not None:
        budgeted = ", ".join(name for name in ALGORITHMS.names() if ALGORITHMS.get(name).uses_budget)
        raise UsageError(f"--budget applies to {budgeted}; {algorithm.name} takes none")
    if algorithm.check is not None:
        algorithm.check(job.search_options())
    return algorithm


def run_search_job(job: SearchJob, notify: Optional[Callable[[str], None]] = None,
                   before_compute: Optional[Callable[[SearchPlan], None]] = None) -> SearchResult:
    """Run the job. ``notify(text)`` gets each note that changes what the numbers mean (a budget
    capped or turned into queries) as soon as it is known; ``before_compute(plan)`` runs once the
    data is found and before any score is computed (the CLI checks its outputs there)."""
    algorithm = check_job(job)
    session = ScoringSession(job.run)
    search_space, data = session.space, session.dataset
    count = algorithm.sample_count(job.search_options())
    if count is not None and count > len(search_space):
        raise UsageError(f"--{algorithm.sample_option} {count} is more than the {len(search_space)} architectures "
                         f"of {search_space.name}; score at most the whole space")
    truth = load_truth(search_space, session.data_dir)
    check_alignment(search_space, truth)
    problem, fitness_column, notes = _problem(algorithm, search_space, data.name, truth, job.fitness,
                                              job.budget if job.budget is not None else DEFAULT_BUDGET,
                                              job.search_options())
    budget = problem.options.budget
    for text in notes:
        if notify is not None:
            notify(text)
    scores = None
    with session:
        inputs = [session.store_name, truth.source]
        if algorithm.uses_scores:  # the batch is read (and missing data fails) before any work
            _, images = session.engine.data_scorer()
            inputs += [session.data_dir / name for name in images.files]
        if before_compute is not None:
            before_compute(SearchPlan(inputs, default_out(job, algorithm, search_space.name, data.name,
                                                          str(budget) if budget else None)))
        if algorithm.uses_scores:
            scores = _attach_scores(problem, algorithm, session, job.seed, job.runs)
        bar = (lambda items: progress_bar(items, desc=f"{algorithm.name} runs", unit="run", enabled=job.progress,
                                          file=sys.stderr, dynamic_ncols=True))
        results = run_search(algorithm, problem, job.seed, list(range(job.runs)), progress=bar)

    rows, columns, values = _run_rows(results, search_space, truth, list(truth.accuracy_columns), job.timing)
    phrase = budget_phrase(budget, parse_budget(job.budget or DEFAULT_BUDGET)) if budget else None
    provenance = dict(
        seed=job.seed,
        run_seeds="derive_seed(seed, 'run', r) for r in 0..runs-1",
        algorithm={"name": algorithm.name, "summary": algorithm.summary, "uses_scores": algorithm.uses_scores,
                   "uses_budget": algorithm.uses_budget},
        budget=str(budget) if budget else None,
        budget_unit=budget.unit if budget else None,
        budget_used=phrase,
        notes=notes,
        fitness_column=fitness_column if algorithm.uses_budget else None,
        time_column=problem.benchmark.time_column if problem.benchmark.times is not None else None,
        ground_truth=str(truth.source),
        index_order=search_space.index_order,
        **_scores_record(session, scores),
        std="population standard deviation (ddof=0, numpy's default)",
    )
    provenance["search"], title = _labels(algorithm, job, count, f"{search_space.name} ({data.name})", phrase)
    return SearchResult(columns, rows, summarise(values), list(notes), algorithm.name, title, provenance,
                        {"data_dir": session.data_dir})


def _labels(algorithm, job: SearchJob, count: Optional[int], where: str, phrase: Optional[str]):
    """The search's short label (``naswot(synflow) N=10``: the proxy it ranked by, so that it is
    never mistaken for NASWOT) and the summary's title."""
    ranked = algorithm.ranked_name(job.run.proxies[0])
    counted = f"{algorithm.sample_option.upper()}={count}" if count is not None else ""
    title = (f"{ranked} on {where}, {job.runs} runs" + (f", {counted}" if counted else "")
             + (f", budget {phrase}" if phrase else ""))
    return ranked + (f" {counted}" if counted else ""), title


def _scores_record(session: ScoringSession, scores: Optional[ProxyScores]) -> Dict[str, object]:
    """Where the run's proxy scores came from, for provenance (empty for score-free algorithms)."""
    if scores is None:
        return {"store": None, "scores_loaded": 0, "scores_computed": 0}
    return {"store": session.store_name, "store_context": scores.context.describe(), "scores_loaded": scores.loaded,
            "scores_computed": scores.computed, "scoring": session.device_record()}


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
