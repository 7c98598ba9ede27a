"""AREA (Mellor et al., ICML 2021): REA whose first population is chosen by the NASWOT score.

M random architectures are scored (no training), the best P by score (ties: first drawn) are
queried as REA's initial population, then REA runs with the same budget. The scoring spends no
budget (its seconds are reported apart); the P initial queries do, as REA's do. Its evolution is
REA's (``rea.evolve``), with the same budget checks and hard bound on queries.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, List

import numpy as np

from nasbench_cli.errors import UsageError
from nasbench_cli.search.base import RunResult, SearchOptions, SearchProblem, algorithm
from nasbench_cli.search.rea import Member, evolve, finish, query


def sample_archs(problem: SearchProblem, rng: np.random.Generator) -> List[int]:
    """The run's M candidates for the first population (the run's first draws)."""
    return problem.space.sample(rng, problem.options.m, replace=problem.options.replace)


def top_by_score(problem: SearchProblem, sample: List[int], count: int) -> List[int]:
    """The ``count`` best-scored entries of ``sample``, best first (stable on ties)."""
    scores = problem.require_scores("area").rank_values(sample)
    order = np.argsort(-scores, kind="stable")[:count]
    return [int(sample[k]) for k in order]


def check_options(options: SearchOptions) -> None:
    """AREA keeps the best P of M: M below P cannot fill the first population."""
    if options.m < options.population:
        raise UsageError(f"--m ({options.m}) must be at least --population ({options.population}): "
                         f"AREA keeps the best P of M")


@algorithm("area", uses_scores=True, uses_budget=True, to_score=sample_archs, sample_option="m",
           check=check_options, summary="REA seeded with the best P of M NASWOT-scored random architectures")
def area_search(problem: SearchProblem, rng: np.random.Generator) -> RunResult:
    sample = sample_archs(problem, rng)
    meter = problem.meter()
    history: List[Member] = []
    population: Deque[Member] = deque()
    for index in top_by_score(problem, sample, problem.options.population):
        population.append(query(problem, meter, index, history))
    evolve(problem, rng, meter, population, history)
    result = finish(meter, history)
    result.scored = len(sample)
    result.score_seconds = problem.scores.cost(sample)
    return result
