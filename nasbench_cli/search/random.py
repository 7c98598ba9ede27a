"""Random search: one architecture drawn uniformly (the NASWOT tables' "Random" baseline)."""

from __future__ import annotations

import numpy as np

from nasbench_cli.search.base import RunResult, SearchProblem, algorithm


@algorithm("random", summary="one architecture drawn uniformly at random")
def random_search(problem: SearchProblem, rng: np.random.Generator) -> RunResult:
    """The chosen architecture is a uniform draw; nothing is queried or scored."""
    return RunResult(index=problem.space.sample(rng, 1)[0])
