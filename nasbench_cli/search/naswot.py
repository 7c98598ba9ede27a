"""NASWOT(N) search (Mellor et al., ICML 2021): score N random architectures, keep the best score.

The authors sample the N architectures uniformly *with* replacement (``--no-replace`` draws N
distinct ones). Failed scores (NaN) and singular kernels (-inf) rank last, as the authors'
``nanargmax`` over scores with failures set to 0 does for the NB201 score range; ties go to the
first drawn. No accuracy is queried during the search.
"""

from __future__ import annotations

from typing import List

import numpy as np

from nasbench_cli.search.base import RunResult, SearchProblem, algorithm


def sample_archs(problem: SearchProblem, rng: np.random.Generator) -> List[int]:
    """The run's N architectures (the run's first draws)."""
    return problem.space.sample(rng, problem.options.n, replace=problem.options.replace)


def best_by_score(problem: SearchProblem, sample: List[int]) -> RunResult:
    """The sampled architecture with the highest score."""
    scores = problem.require_scores("naswot").rank_values(sample)
    best = int(np.argmax(scores))  # first maximum; all -inf picks the first drawn
    return RunResult(index=int(sample[best]), score=float(scores[best]), scored=len(sample),
                     score_seconds=problem.scores.cost(sample))


@algorithm("naswot", uses_scores=True, to_score=sample_archs, sample_option="n",
           summary="NASWOT(N): the best proxy score among N random architectures")
def naswot_search(problem: SearchProblem, rng: np.random.Generator) -> RunResult:
    return best_by_score(problem, sample_archs(problem, rng))
