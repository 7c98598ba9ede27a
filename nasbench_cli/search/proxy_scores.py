"""The search algorithms' view of a proxy's scores over a whole space: stored ones loaded in one
query, missing ones computed through the engine (``search.base.ScoreSource`` is the interface)."""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

from nasbench_cli.scoring import ProxyResult
from nasbench_cli.spaces.base import SearchSpace
from nasbench_cli.store import ScoreContext, ScoreStore


class ProxyScores:
    """One proxy's scores over a whole space, for search: stored ones loaded in one query, missing
    ones computed by the engine.

    ``rank_values`` orients scores so that higher is better, with NaN (a failed proxy) and -inf
    (a singular NASWOT kernel) both the worst possible value.
    """

    def __init__(self, store: ScoreStore, context: ScoreContext, space: SearchSpace, direction: str,
                 compute: Callable[[List[int]], Dict[int, "ProxyResult"]]):
        self.store, self.context, self.space, self.direction = store, context, space, direction
        self._compute = compute
        size = len(space)
        self.values = np.full(size, np.nan)
        self.seconds = np.zeros(size)
        self.known = np.zeros(size, dtype=bool)
        self.computed = 0
        stored = store.get_many(context, None, arch_of=space.arch_str)
        for index, score in stored.items():
            if 0 <= index < size:
                self._set(index, score.value, score.seconds)
        self.loaded = len(stored)

    def _set(self, index: int, value: float, seconds: Optional[float]) -> None:
        self.values[index] = value
        self.seconds[index] = seconds or 0.0
        self.known[index] = True

    def missing(self, indices: Iterable[int]) -> List[int]:
        """Distinct indices (first-seen order) without a score yet."""
        return [i for i in dict.fromkeys(int(i) for i in indices) if not self.known[i]]

    def ensure(self, indices: Iterable[int]) -> int:
        """Compute (through the engine, which stores them) the scores ``indices`` lack; returns how
        many were computed."""
        todo = self.missing(indices)
        if not todo:
            return 0
        for index, result in self._compute(todo).items():
            self._set(index, result.value, result.seconds)
        self.computed += len(todo)
        return len(todo)

    def rank_values(self, indices: Sequence[int]) -> np.ndarray:
        """Scores of ``indices`` (computing missing ones), higher is better, NaN/-inf -> -inf."""
        idx = np.asarray(indices, dtype=np.int64)
        if not self.known[idx].all():
            self.ensure(idx.tolist())
        values = self.values[idx]
        if self.direction == "min":
            values = -values
        return np.where(np.isnan(values), -np.inf, values)

    def cost(self, indices: Sequence[int]) -> float:
        """Seconds the scores of ``indices`` took when computed (each listed index counted)."""
        return float(self.seconds[np.asarray(indices, dtype=np.int64)].sum())
