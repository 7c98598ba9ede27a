"""The search-algorithm interface: a problem (space, benchmark look-ups, scores) -> one chosen arch.

An algorithm module looks like::

    @algorithm("naswot", uses_scores=True, to_score=sample_archs, summary="best score of N")
    def naswot(problem: SearchProblem, rng: np.random.Generator) -> RunResult:
        ...

Each run gets its own generator, seeded by (search seed, run number), so a run's result does not
depend on which runs came before it. ``to_score`` replays the first draws of a run to list the
architectures it will score, so the command can score everything missing up front (one progress
bar, one store look-up) before the runs themselves, which then only read memory.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

from nasbench_cli.errors import DataCorruptError, UsageError
from nasbench_cli.registry import Registry
from nasbench_cli.runtime import derive_seed
from nasbench_cli.search.budget import Budget, BudgetMeter, invalid_times, query_bound
from nasbench_cli.spaces.base import SearchSpace


@dataclass(frozen=True)
class SearchOptions:
    """Algorithm settings (each algorithm reads the ones it uses)."""

    n: int = 100  # NASWOT(N): architectures scored per run
    replace: bool = True  # NASWOT/AREA sampling with replacement (the NASWOT authors' choice)
    population: int = 10  # REA/AREA population P
    sample_size: int = 3  # REA/AREA tournament size S
    m: int = 20  # AREA: architectures scored to seed the population
    budget: Optional[Budget] = None  # REA/AREA


class Benchmark:
    """Look-ups a search may make: fitness and training time per architecture index, as arrays.

    ``fitness[i]`` is NaN where the table has no value; ``times`` is None where the table has no
    training times at all.
    """

    def __init__(self, size: int, fitness: np.ndarray, fitness_column: str,
                 times: Optional[np.ndarray] = None, time_column: str = ""):
        if len(fitness) != size or (times is not None and len(times) != size):
            raise ValueError("benchmark arrays must have one entry per architecture")
        self.size, self.fitness, self.fitness_column = size, fitness, fitness_column
        self.times, self.time_column = times, time_column

    @classmethod
    def from_truth(cls, truth, size: int, fitness_column: str, time_column: str) -> "Benchmark":
        """Arrays from a GroundTruth table (``time_column`` absent or all empty: no times)."""
        frame = truth.frame
        frame = frame[(frame.index >= 0) & (frame.index < size)]
        fitness = np.full(size, np.nan)
        fitness[frame.index.to_numpy()] = frame[fitness_column].to_numpy(dtype=float)
        times = None
        if time_column in frame.columns and frame[time_column].notna().any():
            times = np.full(size, np.nan)
            times[frame.index.to_numpy()] = frame[time_column].to_numpy(dtype=float)
        return cls(size, fitness, fitness_column, times, time_column)

    def fitness_of(self, index: int) -> float:
        """Fitness for comparisons: a missing value is the worst."""
        value = float(self.fitness[index])
        return value if math.isfinite(value) else -math.inf


class ScoreSource:
    """What algorithms need from proxy scores (nasbench_cli.search.proxy_scores.ProxyScores implements it)."""

    def rank_values(self, indices: Sequence[int]) -> np.ndarray:
        """Scores of ``indices``, higher is better, failures (NaN, -inf) as -inf."""
        raise NotImplementedError

    def cost(self, indices: Sequence[int]) -> float:
        """Seconds the scores of ``indices`` took to compute."""
        raise NotImplementedError


@dataclass
class SearchProblem:
    """Everything a run may use."""

    space: SearchSpace
    benchmark: Benchmark
    options: SearchOptions = field(default_factory=SearchOptions)
    scores: Optional[ScoreSource] = None

    def require_scores(self, who: str) -> ScoreSource:
        if self.scores is None:
            raise UsageError(f"{who} needs proxy scores, and none were given")
        return self.scores

    def meter(self) -> BudgetMeter:
        """A fresh budget meter for one run."""
        if self.options.budget is None:
            raise UsageError("this algorithm needs a budget (--budget 12000s or 500q)")
        return BudgetMeter(self.options.budget, self.benchmark.times,
                           bound=query_bound(self.benchmark.size, self.options.population))


@dataclass
class RunResult:
    """What one run chose and what it cost."""

    index: int
    score: Optional[float] = None  # the chosen architecture's proxy score (oriented), if scored
    queries: int = 0  # benchmark accuracy look-ups (each stands for training a network)
    simulated_seconds: float = 0.0  # sum of the queried architectures' training times
    scored: int = 0  # proxy scores used (repeats counted)
    score_seconds: float = 0.0  # seconds those scores took to compute, from the store
    fitness: Optional[float] = None  # the chosen architecture's fitness, if queried


RunFn = Callable[[SearchProblem, np.random.Generator], RunResult]
PlanFn = Callable[[SearchProblem, np.random.Generator], List[int]]


@dataclass(frozen=True)
class SearchAlgorithm:
    """A registered algorithm: its run function and what it needs."""

    name: str
    run: RunFn
    uses_scores: bool = False
    uses_budget: bool = False
    to_score: Optional[PlanFn] = None  # architectures a run will score, from the run's generator
    summary: str = ""
    #: the SearchOptions field counting the architectures a run samples (naswot: "n", area: "m"):
    #: it names the output ("n100") and the title, and may not exceed the space
    sample_option: str = ""
    #: the algorithm's own check of its options (a UsageError for a combination it cannot run)
    check: Optional[Callable[[SearchOptions], None]] = None

    def sample_count(self, options: SearchOptions) -> Optional[int]:
        """The architectures a run samples, when the algorithm declares the option counting them."""
        return getattr(options, self.sample_option) if self.sample_option else None

    def ranked_name(self, proxy: Optional[str]) -> str:
        """The algorithm with the proxy it ranks by where that is not NASWOT's own score:
        ``naswot(synflow)``, ``area(actvar)``; plain ``naswot`` ranking by naswot, or without scores."""
        return f"{self.name}({proxy})" if self.uses_scores and proxy and proxy != "naswot" else self.name


ALGORITHMS: Registry[SearchAlgorithm] = Registry("search algorithm")


def algorithm(name: str, **conditions) -> Callable[[RunFn], RunFn]:
    """Decorator registering a run function as search algorithm ``name``."""

    def add(fn: RunFn) -> RunFn:
        ALGORITHMS.add(name, SearchAlgorithm(name=name, run=fn, **conditions))
        return fn

    return add


def run_generator(seed: int, run: int) -> np.random.Generator:
    """The generator of run ``run``: depends only on (seed, run), never on the other runs."""
    return np.random.default_rng(derive_seed(seed, "run", run))


def archs_to_score(algo: SearchAlgorithm, problem: SearchProblem, seed: int, runs: Iterable[int]) -> List[int]:
    """Distinct architectures the runs will score (first-seen order); [] for score-free algorithms."""
    if algo.to_score is None:
        return []
    wanted: Dict[int, None] = {}
    for run in runs:
        wanted.update(dict.fromkeys(algo.to_score(problem, run_generator(seed, run))))
    return list(wanted)


@dataclass
class TimedResult:
    """A run's result with its number, seed and wall-clock seconds."""

    run: int
    seed: int
    result: RunResult
    wall_seconds: float


def run_search(algo: SearchAlgorithm, problem: SearchProblem, seed: int, runs: Sequence[int],
               progress: Optional[Callable[[Sequence[int]], Iterable[int]]] = None) -> List[TimedResult]:
    """Run ``algo`` once per run number; results in run order."""
    out: List[TimedResult] = []
    for run in (progress(runs) if progress else runs):
        start = time.perf_counter()
        result = algo.run(problem, run_generator(seed, run))
        out.append(TimedResult(run, derive_seed(seed, "run", run), result, time.perf_counter() - start))
    return out


def check_alignment(space: SearchSpace, truth) -> None:
    """DataCorruptError when the table's architecture strings disagree with the space's indices."""
    frame = truth.frame
    if "arch" not in frame.columns:
        return
    for index, arch in zip(frame.index.tolist(), frame["arch"].tolist()):
        if not 0 <= index < len(space):
            raise DataCorruptError(f"{truth.source}: arch_index {index} is outside {space.name}'s "
                                   f"0..{len(space) - 1}")
        if arch is not None and arch != space.arch_str(index):
            raise DataCorruptError(
                f"{truth.source}: architecture {index} is '{arch}' but {space.name} lists "
                f"'{space.arch_str(index)}' at that index (the table and the space disagree on the "
                f"index order)")


def check_times(space: SearchSpace, benchmark: Benchmark, source: object = None) -> None:
    """DataCorruptError when the benchmark has training times and one of them cannot be a query's cost.

    A NaN, zero, negative or infinite time would make a query free (or refund the budget), so a
    seconds budget could never be spent; the message names the column and the first such architecture.
    """
    if benchmark.times is None:
        return
    bad = invalid_times(benchmark.times)
    if len(bad) == 0:
        return
    first = int(bad[0])
    where = f"{source}: " if source is not None else ""
    raise DataCorruptError(
        f"{where}column {benchmark.time_column} has no usable training time for {len(bad)} of {benchmark.size} "
        f"architectures (architecture {first} '{space.arch_str(first)}': {float(benchmark.times[first])!r}; "
        f"times must be positive and finite), so a seconds budget cannot be simulated; give --budget Nq")


def summarise(values: Dict[str, Sequence[float]]) -> List[Dict[str, object]]:
    """Per column: runs with a value, mean, std (population, as numpy's default), min, max."""
    rows: List[Dict[str, object]] = []
    for column, seq in values.items():
        data = np.asarray([v for v in seq if v is not None and not math.isnan(v)], dtype=float)
        if len(data) == 0:
            rows.append({"column": column, "runs": 0, "mean": math.nan, "std": math.nan,
                         "min": math.nan, "max": math.nan})
            continue
        rows.append({"column": column, "runs": int(len(data)), "mean": float(data.mean()),
                     "std": float(data.std()), "min": float(data.min()), "max": float(data.max())})
    return rows
