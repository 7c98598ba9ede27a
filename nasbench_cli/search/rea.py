"""Regularized evolution (Real et al., AAAI 2019) as in the NAS-Bench-201 reference.

Population P of random architectures; each cycle draws S members with replacement, mutates the
fittest of them (NB201: one edge's operation changed), queries the child and retires the oldest
member. Fitness is a benchmark accuracy (NB201: the 12-epoch ``cifar10-valid/x-valid``); every
query spends budget (its training time, or one query). As in the reference, the initial population
is queried whatever the budget, a child that would overrun the budget ends the search unqueried,
and the answer is the fittest architecture ever queried (first one on ties). Every run ends: a
seconds budget needs positive costs and a run makes at most ``query_bound`` queries (see
nasbench_cli.search.budget).
"""

from __future__ import annotations

from collections import deque
from typing import Deque, List, Tuple

import numpy as np

from nasbench_cli.search.base import RunResult, SearchProblem, algorithm
from nasbench_cli.search.budget import BudgetMeter

Member = Tuple[int, float]  # (architecture index, fitness)


def query(problem: SearchProblem, meter: BudgetMeter, index: int, history: List[Member]) -> Member:
    """Look up (train) ``index``: charge the budget, record it in the history."""
    meter.charge(index)
    member = (int(index), problem.benchmark.fitness_of(index))
    history.append(member)
    return member


def evolve(problem: SearchProblem, rng: np.random.Generator, meter: BudgetMeter,
           population: Deque[Member], history: List[Member]) -> None:
    """Tournament, mutation and ageing cycles until the next query would overrun the budget.

    The loop ends: every cycle either returns or queries once, and the meter raises
    SearchBoundError past its hard bound of queries (nasbench_cli.search.budget.query_bound).
    """
    size = problem.options.sample_size
    while True:
        picks = rng.integers(len(population), size=size)
        parent = max((population[int(k)] for k in picks), key=lambda m: m[1])  # first max
        child = problem.space.mutate(parent[0], rng)
        if not meter.allows(child):
            return
        population.append(query(problem, meter, child, history))
        population.popleft()


def finish(meter: BudgetMeter, history: List[Member]) -> RunResult:
    """The fittest architecture of the history, with what the run spent."""
    best = max(history, key=lambda m: m[1])
    return RunResult(index=best[0], fitness=best[1], queries=meter.queries,
                     simulated_seconds=meter.seconds)


@algorithm("rea", uses_budget=True,
           summary="regularized evolution on benchmark fitness under a simulated-time or query budget")
def rea_search(problem: SearchProblem, rng: np.random.Generator) -> RunResult:
    meter = problem.meter()
    history: List[Member] = []
    population: Deque[Member] = deque()
    for index in problem.space.sample(rng, problem.options.population, replace=True):
        population.append(query(problem, meter, index, history))
    evolve(problem, rng, meter, population, history)
    return finish(meter, history)
