"""Scores derived from several proxies, and the pairwise agreement measure used to judge them.

Pair agreement (the zero-cost proxies paper's notebooks): over all pairs of architectures whose
accuracies differ, the fraction the score orders like the accuracy. A pair the score ties counts
one half, which is what the notebooks' loop over ordered pairs (i, j) and (j, i) amounts to.

``vote``: each of synflow, jacob_cov and snip votes for the architecture it ranks higher (lower
for a "min" proxy); a pair counts 1 when a strict majority of the voters (more than half) agrees
with the accuracy order, 0 when a strict majority disagrees, and one half otherwise (ties).

``ensemble:a+b+c``: the mean of the members' ranks, each oriented so that higher is better.
``log-rank:a+b+c``: the sum over members of ln(rank / n) (AZ-NAS's aggregation: an architecture
must rank well on every member; NaN ranks worst), each member oriented likewise.
``vkdnw-rank:a+b+c``: VKDNW's aggregation (``vkdnw_log_rank_sum``): the same sum, with the first
member ranked densely. A registered proxy group (e.g. ``az_nas``, ``vkdnw_agg``) is added as its
own column, combined by the group's rule.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
from scipy import stats

from nasbench_cli.errors import UnknownNameError, UsageError

VOTE_MEMBERS: Tuple[str, ...] = ("synflow", "jacob_cov", "snip")
#: how an ensemble combines its members' ranks -> the prefix of its column name
from nasbench_cli.analysis.ensemble_rules import ENSEMBLE_PREFIX, ENSEMBLE_RULES  # noqa: E402,F401
PAIR_BLOCK_ELEMENTS = 1 << 22  # pairs compared at once by majority_pair_agreement (~4 M)


def orient(values: np.ndarray, direction: str) -> np.ndarray:
    """Values turned so that higher is better (a "min" score is negated; -inf becomes +inf)."""
    values = np.asarray(values, dtype=np.float64)
    return -values if direction == "min" else values


def pair_agreement(score: np.ndarray, accuracy: np.ndarray, direction: str = "max") -> float:
    """Fraction of accuracy-ordered pairs the score orders the same way (score ties count 1/2).

    Computed in O(n log n) from Kendall statistics rather than over all n^2 pairs: with C/D the
    concordant/discordant pairs and P the pairs whose accuracies differ, the agreement is
    (C + (P - C - D) / 2) / P = 1/2 + (C - D) / (2P). Inputs must be free of NaN.
    """
    x, y = orient(score, direction), np.asarray(accuracy, dtype=np.float64)
    n = len(x)
    pairs = n * (n - 1) // 2
    tied_x, tied_y = _tied_pair_count(x), _tied_pair_count(y)
    ordered = pairs - tied_y
    if ordered == 0:
        return float("nan")
    if tied_x == pairs:  # the score ties everything: every pair is half right
        return 0.5
    tau = stats.kendalltau(stats.rankdata(x), stats.rankdata(y)).statistic
    concordance = np.rint(tau * np.sqrt(float(pairs - tied_x) * float(pairs - tied_y)))  # C - D, an integer
    return float(0.5 + concordance / (2.0 * ordered))


def _tied_pair_count(values: np.ndarray) -> int:
    _, counts = np.unique(values, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def majority_pair_agreement(
    scores: Sequence[np.ndarray], directions: Sequence[str], accuracy: np.ndarray
) -> float:
    """Pair agreement of the majority vote of ``scores`` (NaN-free, oriented by ``directions``).

    Exact over all n(n-1)/2 pairs, but computed in blocks of rows against the columns after them
    (about PAIR_BLOCK_ELEMENTS pairs at once), so memory stays bounded for n = 15,625 (1.2e8
    pairs, a few seconds) instead of materialising n x n matrices.
    """
    # dense integer ranks: comparisons on int32 are cheaper than on float64, and -inf is handled
    voters = [_dense_ranks(orient(s, d)) for s, d in zip(scores, directions)]
    target = _dense_ranks(accuracy)
    n, needed = len(target), len(voters) / 2.0
    credit, counted = 0.0, 0
    rows = max(1, PAIR_BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n - 1, rows):
        stop = min(start + rows, n - 1)
        columns = slice(start + 1, n)
        # pair (i, j) with j > i sits at [i - start, j - start - 1]: keep the upper triangle
        upper = np.triu(np.ones((stop - start, n - start - 1), dtype=bool), k=0)
        truth = np.sign(target[start:stop, None] - target[None, columns]).astype(np.int8)
        valid = upper & (truth != 0)
        agree = np.zeros(truth.shape, dtype=np.int8)
        disagree = np.zeros(truth.shape, dtype=np.int8)
        for ranks in voters:
            vote = np.sign(ranks[start:stop, None] - ranks[None, columns]).astype(np.int8) * truth
            agree += vote > 0
            disagree += vote < 0
        won, lost = agree > needed, disagree > needed
        credit += float(np.count_nonzero(won & valid)) + 0.5 * np.count_nonzero(valid & ~won & ~lost)
        counted += int(np.count_nonzero(valid))
    return credit / counted if counted else float("nan")


def _dense_ranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(np.asarray(values, dtype=np.float64), method="dense").astype(np.int32)


def missing_vote_members(columns: Sequence[str]) -> List[str]:
    """The vote's member proxies absent from ``columns``."""
    return [name for name in VOTE_MEMBERS if name not in columns]


def parse_ensembles(specs: Sequence[str], scores: Sequence[str]) -> List[List[str]]:
    """``["a,b", "c,d,e"]`` -> [[a, b], [c, d, e]], each name checked against the score columns."""
    ensembles = []
    for spec in specs:
        names = [part.strip() for part in spec.replace("+", ",").split(",") if part.strip()]
        if len(names) < 2:
            raise UsageError(f"--ensemble '{spec}' needs at least two score columns, e.g. synflow,jacob_cov")
        for name in names:
            if name not in scores:
                raise UnknownNameError("score column", name, scores)
        ensembles.append(list(dict.fromkeys(names)))
    return ensembles


def ensemble_name(members: Sequence[str], rule: str = "mean-rank") -> str:
    """Column name of an ensemble: ``ensemble:a+b+c`` (mean rank) or ``log-rank:a+b+c``."""
    if rule not in ENSEMBLE_RULES:
        raise UnknownNameError("ensemble rule", str(rule), ENSEMBLE_RULES)
    return ENSEMBLE_RULES[rule] + "+".join(members)


def ensemble_score(columns: Mapping[str, np.ndarray], directions: Mapping[str, str],
                   rule: str = "mean-rank") -> np.ndarray:
    """The members combined by ``rule`` (see the module docstring), each oriented by direction."""
    if rule == "log-rank":
        return log_rank_sum({m: orient(v, directions[m]) for m, v in columns.items()})
    if rule == "vkdnw-rank":
        return vkdnw_log_rank_sum({m: orient(v, directions[m]) for m, v in columns.items()})
    if rule != "mean-rank":
        raise UnknownNameError("ensemble rule", rule, ENSEMBLE_RULES)
    return mean_rank(columns, directions)


def mean_rank(columns: Mapping[str, np.ndarray], directions: Mapping[str, str]) -> np.ndarray:
    """Mean of the members' oriented average ranks; NaN where any member is NaN.

    Ranks are taken over the rows where every member is defined, so each member weighs the same.
    """
    members = list(columns)
    values = np.column_stack([orient(columns[m], directions[m]) for m in members])
    defined = ~np.isnan(values).any(axis=1)
    result = np.full(values.shape[0], np.nan)
    if defined.any():
        result[defined] = stats.rankdata(values[defined], axis=0).mean(axis=1)
    return result


def log_rank_sum(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Sum over columns (higher is better) of ln(rank / n): average ranks, 1 = worst, NaN as -inf.

    The best possible value is 0 (first on every column)."""
    if not columns:
        raise ValueError("a log-rank ensemble needs at least one column")
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in columns.values()]
    n = arrays[0].size
    if n == 0 or any(a.size != n for a in arrays):
        raise ValueError(f"log-rank columns must share one non-zero length, got {[a.size for a in arrays]}")
    total = np.zeros(n)
    for values in arrays:
        total += np.log(stats.rankdata(np.where(np.isnan(values), -np.inf, values), method="average") / n)
    return total


def vkdnw_log_rank_sum(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """VKDNW's aggregate: ln(dense rank / n) of the first column plus ln(rank / n) of the others.

    The VKDNW code (``NB201/tss_utils.py``, ``get_scores``: ``vkdnw_comb_rank``) adds
    ``log(rank(method="dense"))`` of its single score (the pairs (#parameter tensors, entropy))
    to ``log(rank())`` (average ranks) of expressivity, trainability, FLOPs and jacov; dividing
    every rank by n shifts all sums alike. Columns are higher-is-better; NaN ranks worst (the
    code leaves NaN sums out; the AZ-NAS convention of this module ranks them last instead)."""
    if not columns:
        raise ValueError("a vkdnw-rank ensemble needs at least one column")
    names = list(columns)
    first = np.asarray(columns[names[0]], dtype=np.float64).reshape(-1)
    n = first.size
    rest = {m: columns[m] for m in names[1:]}
    total = log_rank_sum(rest) if rest else np.zeros(n)
    if total.size != n:
        raise ValueError(f"vkdnw-rank columns must share one length, got {n} and {total.size}")
    dense = stats.rankdata(np.where(np.isnan(first), -np.inf, first), method="dense")
    return total + np.log(dense / n)


def ensemble_columns(
    frame_columns: Mapping[str, np.ndarray], directions: Mapping[str, str], ensembles: Sequence[Sequence[str]],
    rule: str = "mean-rank",
) -> Dict[str, np.ndarray]:
    """{``ensemble:a+b``: values} for each requested ensemble, combined by ``rule``."""
    return {
        ensemble_name(members, rule): ensemble_score({m: frame_columns[m] for m in members}, directions, rule)
        for members in ensembles
    }


def group_columns(frame_columns: Mapping[str, np.ndarray], directions: Mapping[str, str],
                  groups: Sequence[Tuple[str, Sequence[str], str]]) -> Dict[str, np.ndarray]:
    """{group name: its members combined by its rule} for each (name, members, rule) whose members
    are all columns of the table (e.g. ``az_nas`` from the four AZ-NAS components)."""
    return {
        name: ensemble_score({m: frame_columns[m] for m in members}, directions, rule)
        for name, members, rule in groups
        if all(m in frame_columns for m in members)
    }
