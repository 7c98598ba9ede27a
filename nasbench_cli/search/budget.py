"""Search budgets: simulated training seconds (``12000s``) or benchmark queries (``500q``).

A query is one look-up of an architecture's benchmark accuracy, standing for training it. With a
seconds budget each query costs that architecture's recorded training time (NB201 REA: the
12-epoch training time), the NB201 paper's "simulated" search time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from nasbench_cli.errors import UsageError

SECONDS, QUERIES = "seconds", "queries"
#: where a table has no training times, a seconds budget becomes seconds / this many queries:
#: roughly the 12-epoch cifar10-valid training time of an NB201 network (the real NATS-tss records
#: 0, 11 and 284 in the shared data took 87, 150 and 59 s)
FALLBACK_SECONDS_PER_QUERY = 100.0

_PATTERN = re.compile(r"^\s*(?P<amount>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[sq])\s*$")


@dataclass(frozen=True)
class Budget:
    """A budget amount and its unit (SECONDS or QUERIES)."""

    amount: float
    unit: str

    def __str__(self) -> str:
        if self.unit == QUERIES:
            return f"{int(self.amount)}q"
        return f"{self.amount:g}s"


def parse_budget(text: str) -> Budget:
    """``12000s`` -> 12000 simulated seconds, ``500q`` -> 500 queries; anything else: UsageError."""
    match = _PATTERN.match(str(text))
    if not match:
        raise UsageError(f"budget '{text}' must be simulated seconds like 12000s or a query count "
                         f"like 500q")
    amount = float(match["amount"])
    if match["unit"] == "q":
        if amount != int(amount) or amount < 1:
            raise UsageError(f"budget '{text}': a query count must be a whole number of at least 1")
        return Budget(float(int(amount)), QUERIES)
    if not math.isfinite(amount) or amount <= 0:
        raise UsageError(f"budget '{text}': seconds must be positive")
    return Budget(amount, SECONDS)


def resolve_budget(budget: Budget, has_times: bool, time_column: str) -> Tuple[Budget, Optional[str]]:
    """The budget to run with, and a note when a seconds budget falls back to queries.

    Without recorded training times a seconds budget cannot be simulated; it becomes
    ``amount / FALLBACK_SECONDS_PER_QUERY`` queries, and the note says so.
    """
    if budget.unit == QUERIES or has_times:
        return budget, None
    queries = max(1, int(round(budget.amount / FALLBACK_SECONDS_PER_QUERY)))
    note = (f"the ground truth has no training times (column {time_column}): the {budget} budget "
            f"falls back to {queries} queries ({FALLBACK_SECONDS_PER_QUERY:g} s per query assumed); "
            f"give --budget Nq to choose the count")
    return Budget(float(queries), QUERIES), note


class BudgetMeter:
    """Spends a budget query by query; records queries and simulated seconds either way.

    ``times[i]`` is architecture i's training time (None: no times, each query costs 0 s). As in
    the NB201 reference REA, a query that would overrun a seconds budget is not made.
    """

    def __init__(self, budget: Budget, times: Optional[np.ndarray] = None):
        if budget.unit == SECONDS and times is None:
            raise UsageError("a seconds budget needs training times; resolve_budget falls back to queries")
        self.budget, self.times = budget, times
        self.queries = 0
        self.seconds = 0.0

    def cost(self, index: int) -> float:
        """Simulated seconds of querying ``index`` (0 when there are no times; NaN counts as 0)."""
        if self.times is None:
            return 0.0
        value = float(self.times[index])
        return value if math.isfinite(value) else 0.0

    def allows(self, index: int) -> bool:
        """Whether querying ``index`` stays within the budget."""
        if self.budget.unit == QUERIES:
            return self.queries + 1 <= self.budget.amount
        return self.seconds + self.cost(index) <= self.budget.amount

    def charge(self, index: int) -> None:
        """Record a query of ``index`` (made whether or not the budget allowed it)."""
        self.queries += 1
        self.seconds += self.cost(index)
