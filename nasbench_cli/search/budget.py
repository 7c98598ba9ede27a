"""Search budgets: simulated training seconds (``12000s``) or benchmark queries (``500q``).

A query is one look-up of an architecture's benchmark accuracy, standing for training it. With a
seconds budget each query costs that architecture's recorded training time (NB201 REA: the
12-epoch training time), the NB201 paper's "simulated" search time.

What a budget accepts and how it is bounded (a search must end, and its figures must mean what
the budget says):

- ``--budget`` is ``Nq`` (a whole number of queries, at least 1) or ``Ns`` (simulated training
  seconds, a finite number of at least 1); anything else (``12000``, ``abc``, ``nan``, ``0q``,
  ``-5s``, ``0.001s``, ``1e999q``) is a usage error naming the accepted form.
- Training times: a table without the time column, or with the column empty, has no times; a
  seconds budget then falls back to ``seconds / FALLBACK_SECONDS_PER_QUERY`` queries, with a note.
  A table that has times but where any architecture's time is missing, zero, negative or infinite
  cannot simulate a seconds budget (a free query would make the search spend nothing): that is an
  error naming the column and an architecture (:func:`invalid_times`); ``--budget Nq`` still works.
- A budget above the cost of evaluating every architecture once (more queries than architectures,
  or more seconds than the sum of all training times) is capped at that cost, with a note
  (:func:`cap_budget`): no search needs more than an exhaustive one.
- Whatever the costs, a run makes at most ``HARD_BOUND_FACTOR * max(architectures, population)``
  queries (:func:`query_bound`); a run that gets there raises :class:`SearchBoundError` instead of
  going on, so even a bug in the costs cannot make a search run forever.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from nasbench_cli.errors import DataCorruptError, NasbenchError, UsageError

SECONDS, QUERIES = "seconds", "queries"
#: where a table has no training times, a seconds budget becomes seconds / this many queries:
#: roughly the 12-epoch cifar10-valid training time of an NB201 network (the real NATS-tss records
#: 0, 11 and 284 in the shared data took 87, 150 and 59 s)
FALLBACK_SECONDS_PER_QUERY = 100.0
#: a run's queries never exceed this many times max(architectures, population); budgets are capped
#: at one query per architecture, so only costs far below the average training time come near it
HARD_BOUND_FACTOR = 10
#: smallest seconds budget: no network of a benchmark trains in less than a second
MIN_SECONDS = 1.0

ACCEPTED = "a whole number of queries like 500q or simulated training seconds like 12000s (each at least 1)"

_PATTERN = re.compile(r"^\s*(?P<amount>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[sq])\s*$")


class SearchBoundError(NasbenchError):
    """A run reached its hard bound on queries before its budget was spent."""


@dataclass(frozen=True)
class Budget:
    """A budget amount and its unit (SECONDS or QUERIES)."""

    amount: float
    unit: str

    def __str__(self) -> str:
        if self.unit == QUERIES:
            return f"{int(self.amount)}q"
        text = f"{self.amount:g}"
        # :g keeps 6 digits; a capped amount (a sum of times) may need all of them to read back
        return f"{text if float(text) == self.amount else repr(self.amount)}s"


def budget_phrase(used: Budget, asked: Optional[Budget] = None) -> str:
    """The budget as a reader should see it wherever results are shown: ``120 queries (12000 s
    asked; no training times)``, ``12000 simulated s``, ``4711 simulated s (12000 s asked; capped)``."""
    amount = f"{int(used.amount)} queries" if used.unit == QUERIES else f"{used.amount:g} simulated s"
    if asked is None or asked == used:
        return amount
    wanted = f"{int(asked.amount)} queries" if asked.unit == QUERIES else f"{asked.amount:g} s"
    why = "no training times" if asked.unit != used.unit else "capped"
    return f"{amount} ({wanted} asked; {why})"


def parse_budget(text: str) -> Budget:
    """``12000s`` -> 12000 simulated seconds, ``500q`` -> 500 queries; anything else: UsageError."""
    match = _PATTERN.match(str(text))
    if not match:
        raise UsageError(f"--budget '{text}' is not a budget: give {ACCEPTED}")
    amount = float(match["amount"])
    if not math.isfinite(amount):
        raise UsageError(f"--budget '{text}' is too large to represent: give {ACCEPTED}")
    if match["unit"] == "q":
        if amount != int(amount) or amount < 1:
            raise UsageError(f"--budget '{text}': a query count must be a whole number of at least 1; give {ACCEPTED}")
        return Budget(float(int(amount)), QUERIES)
    if amount < MIN_SECONDS:
        raise UsageError(f"--budget '{text}': seconds must be at least {MIN_SECONDS:g}; give {ACCEPTED}")
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


def invalid_times(times: np.ndarray) -> np.ndarray:
    """Indices whose training time cannot be a query's cost: NaN, infinite, zero or negative."""
    values = np.asarray(times, dtype=float)
    return np.flatnonzero(~(np.isfinite(values) & (values > 0)))


def cap_budget(budget: Budget, size: int, population: int,
               times: Optional[np.ndarray] = None) -> Tuple[Budget, Optional[str]]:
    """The budget capped at the cost of evaluating every architecture once, and a note if it was.

    Queries: at most max(size, population) (REA queries its whole first population). Seconds: at
    most the sum of the (valid) training times.
    """
    if budget.unit == QUERIES:
        limit = float(max(size, population))
        if budget.amount <= limit:
            return budget, None
        capped = Budget(limit, QUERIES)
        return capped, (f"the {budget} budget is more queries than the {size} architectures of the space: "
                        f"capped at {capped}")
    if times is None:
        raise UsageError("a seconds budget needs training times; resolve_budget falls back to queries")
    values = np.asarray(times, dtype=float)
    total = float(np.sum(values[np.isfinite(values) & (values > 0)]))  # a NaN sum would "cap" to NaN
    if budget.amount <= total:
        return budget, None
    capped = Budget(total, SECONDS)
    return capped, (f"the {budget} budget is more than the {capped} it takes to train all {size} architectures "
                    f"once: capped at {capped}")


def query_bound(size: int, population: int) -> int:
    """The most queries one run may make, whatever its budget and costs."""
    return HARD_BOUND_FACTOR * max(int(size), int(population), 1)


class BudgetMeter:
    """Spends a budget query by query; records queries and simulated seconds either way.

    ``times[i]`` is architecture i's training time (None: no times, each query costs 0 s); with a
    seconds budget every time must be positive and finite (DataCorruptError otherwise), so every
    query spends something. As in the NB201 reference REA, a query that would overrun the budget
    is not made. ``bound`` (default :func:`query_bound` of the times' length, or the query budget)
    is the most queries :meth:`charge` records: one more raises SearchBoundError.
    """

    def __init__(self, budget: Budget, times: Optional[np.ndarray] = None, bound: Optional[int] = None):
        if budget.unit == SECONDS and times is None:
            raise UsageError("a seconds budget needs training times; resolve_budget falls back to queries")
        if budget.unit == SECONDS:
            bad = invalid_times(times)
            if len(bad):
                raise DataCorruptError(f"training time of architecture {int(bad[0])} is {float(times[bad[0]])!r} "
                                       f"({len(bad)} architectures have no positive time): a seconds budget "
                                       f"cannot be simulated; give --budget Nq")
        if bound is None:
            bound = query_bound(len(times), 1) if times is not None else max(1, int(budget.amount))
        self.budget, self.times, self.bound = budget, times, int(bound)
        self.queries = 0
        self.seconds = 0.0

    def cost(self, index: int) -> float:
        """Simulated seconds of querying ``index`` (0 when there are no times).

        A seconds budget has only valid times (checked above); under a query budget a NaN time is
        counted as 0 s in the reported simulated seconds, as it always was.
        """
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
        """Record a query of ``index`` (made whether or not the budget allowed it); past the bound: raise."""
        if self.queries >= self.bound:
            raise SearchBoundError(self._bound_message())
        self.queries += 1
        self.seconds += self.cost(index)

    def _bound_message(self) -> str:
        text = (f"a search run reached its hard bound of {self.bound} queries before spending its {self.budget} "
                f"budget ({self.seconds:g} s spent)")
        if self.times is not None and self.budget.unit == SECONDS:
            text += (f": the training times are too small for this budget (smallest {float(np.min(self.times)):g} s); "
                     f"give a smaller budget or --budget Nq")
        return text
