"""The order search methods are shown in: the NASWOT paper's NB201 table (Mellor et al., ICML 2021,
Table 2), so that our tables and figures read like the one they reproduce.

One declared list, ``PAPER_METHODS``; every search table and figure sorts its methods with
``method_sort_key``. A label is matched by its algorithm (the registered search name it starts
with: "NASWOT N=10", "naswot(synflow) N=10" and "naswot N=10 (file)" are all NASWOT) and its
sample count N; methods of one algorithm follow each other by N (an N the paper did not run falls
between its neighbours); methods the list does not name come last, in the order they were given.
Pure Python on purpose: figures import it without loading the search registry (and torch).
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

#: the NB201 table's methods, in its order (as ../shared/docs/reproduction.md transcribes Table 2):
#: NASWOT by sample size, then the baselines it is compared with (a random architecture, REA),
#: then AREA (REA seeded by NASWOT)
PAPER_METHODS: Tuple[str, ...] = ("NASWOT N=10", "NASWOT N=100", "NASWOT N=1000", "Random", "REA", "AREA")

_ALGORITHM = re.compile(r"[a-z][a-z0-9_]*")
_SAMPLES = re.compile(r"\bn=(\d+)")


def parse_method(label: str) -> Tuple[str, Optional[int]]:
    """(algorithm, sample count) of a method label: "NASWOT N=100" -> ("naswot", 100),
    "rea 120 queries" -> ("rea", None), "naswot(synflow) N=10" -> ("naswot", 10)."""
    text = str(label).strip().lower()
    found = _ALGORITHM.match(text)
    samples = _SAMPLES.search(text)
    return (found.group(0) if found else text), (int(samples.group(1)) if samples else None)


def _algorithms() -> List[str]:
    """The algorithms of PAPER_METHODS, each at its first appearance."""
    return list(dict.fromkeys(parse_method(method)[0] for method in PAPER_METHODS))


def method_sort_key(label: str, position: int = 0) -> Tuple[int, int, int]:
    """Sort key of a method label shown at ``position`` among others: the paper's algorithm order,
    then N, then ``position`` (stable for equal keys and for methods the paper does not name)."""
    algorithms = _algorithms()
    algorithm, samples = parse_method(label)
    if algorithm not in algorithms:
        return len(algorithms), 0, position
    return algorithms.index(algorithm), -1 if samples is None else samples, position


def paper_order(labels: Iterable[str]) -> List[str]:
    """``labels`` in the paper's order (see the module docstring); unknown methods after, as given."""
    listed = list(labels)
    return [label for _, label in sorted((method_sort_key(label, i), label) for i, label in enumerate(listed))]
