"""Search algorithms, registered by name. Importing this package registers every algorithm."""

from nasbench_cli.search.base import (
    ALGORITHMS,
    Benchmark,
    RunResult,
    SearchAlgorithm,
    SearchOptions,
    SearchProblem,
    algorithm,
    archs_to_score,
    run_search,
)
from nasbench_cli.search.budget import Budget, BudgetMeter, parse_budget, resolve_budget
from nasbench_cli.search import area, naswot, random, rea  # noqa: F401  (register)

__all__ = [
    "ALGORITHMS",
    "Benchmark",
    "Budget",
    "BudgetMeter",
    "RunResult",
    "SearchAlgorithm",
    "SearchOptions",
    "SearchProblem",
    "algorithm",
    "archs_to_score",
    "parse_budget",
    "resolve_budget",
    "run_search",
]
