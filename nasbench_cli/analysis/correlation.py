"""Rank correlation of proxy scores with benchmark accuracy, with bootstrap intervals.

Scores are correlated by rank only: synflow reaches 1e30..1e60 and NASWOT gives ``-inf`` for a
singular kernel, so raw values are never used. ``-inf`` ranks lowest and ``+inf`` highest; a NaN
drops that architecture from the (score, accuracy) pair it appears in, and the ``n`` actually used
is reported.

Bootstrap: architectures are resampled with replacement; the resample indices depend only on the
seed and on ``n``, so a pair's interval does not depend on which other pairs were asked for. Kendall
tau-b of a resample is computed from the multiplicity of each architecture in it (one matrix
product for a block of resamples) when ``n`` is small enough for the n x n sign matrix, and with
scipy per resample otherwise; both give the tau-b of the resampled data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import numpy as np
from scipy import stats

from nasbench_cli.analysis.derived import orient, pair_agreement
from nasbench_cli.analysis.top_ranking import top_ranking_metrics

#: bootstrap resamples at most (--bootstrap, API bootstrap=): 100,000 already take minutes on a large table
MAX_RESAMPLES = 100_000
BOOTSTRAP_CHUNK = 128  # resamples drawn and processed together (fixed: part of the RNG stream)
MATMUL_MAX_N = 2500  # up to this n the n x n sign matrix (50 MB) is built for the bootstrap
MIN_ROWS = 3


@dataclass(frozen=True)
class Correlation:
    """Rank correlations of one score with one accuracy column, with bootstrap percentile intervals."""

    score: str
    target: str
    n: int
    kendall_tau: float = float("nan")
    kendall_lo: float = float("nan")
    kendall_hi: float = float("nan")
    spearman_rho: float = float("nan")
    spearman_lo: float = float("nan")
    spearman_hi: float = float("nan")
    pair_agreement: float = float("nan")
    direction: str = "max"
    # top of the ranking (analysis.top_ranking), the score oriented by its direction
    p_at_1: float = float("nan")
    p_at_5: float = float("nan")
    p_at_10: float = float("nan")
    ndcg: float = float("nan")
    top1_acc: float = float("nan")
    regret: float = float("nan")


def usable_pairs(x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Drop rows where either value is NaN (infinities stay: they rank lowest/highest)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep], y[keep]


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1..n); -inf is lowest and +inf highest. Values must not be NaN."""
    return stats.rankdata(np.asarray(values, dtype=np.float64))


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b of two NaN-free vectors, computed on ranks."""
    if len(x) < 2:
        return float("nan")
    return _scipy_tau(ranks(x), ranks(y))


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rho of two NaN-free vectors."""
    if len(x) < 2:
        return float("nan")
    rx, ry = ranks(x), ranks(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:  # constant input: undefined, and scipy would warn
        return float("nan")
    return float(stats.spearmanr(rx, ry).statistic)


def bootstrap_indices(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of resample indices (rows of n draws with replacement), the same for a given seed and n."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        size = min(BOOTSTRAP_CHUNK, resamples - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


def multiplicities(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of the n items occurs in each resample row: (resamples, n) float64."""
    rows = indices.shape[0]
    flat = (indices + (np.arange(rows) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def sign_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """M[i, j] = sign(x_i - x_j) * sign(y_i - y_j): +1 concordant, -1 discordant, 0 tied (float32)."""
    sign = np.sign(np.subtract.outer(x, x)).astype(np.float32)
    sign *= np.sign(np.subtract.outer(y, y)).astype(np.float32)
    return sign


@dataclass(frozen=True)
class TieGroups:
    """Items grouped by equal value: ``order`` lists items group by group, groups start at ``starts``."""

    order: np.ndarray
    starts: np.ndarray
    group_of: np.ndarray  # item -> group number, groups in increasing value

    @classmethod
    def of(cls, values: np.ndarray) -> "TieGroups":
        _, group_of, sizes = np.unique(values, return_inverse=True, return_counts=True)
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        return cls(np.argsort(group_of, kind="stable"), starts, group_of)

    def totals(self, counts: np.ndarray) -> np.ndarray:
        """(resamples, groups): how many resampled items fall in each group."""
        return np.add.reduceat(counts[:, self.order], self.starts, axis=1)


def weighted_kendall_tau_b(
    x: np.ndarray, y: np.ndarray, counts: np.ndarray, sign: Optional[np.ndarray] = None
) -> np.ndarray:
    """Tau-b of the samples holding item i counts[b, i] times, for every row b of ``counts``.

    Copies of one item tie in both x and y, so only distinct items contribute to the numerator:
    sum over pairs of sign(dx) sign(dy) = w^T M w / 2 with M the item sign matrix. Ties in x (or y)
    number sum_g (W_g^2 - W_g) / 2 over groups g of equal value, W_g the group's total count.
    Every partial sum is an integer below 2^24 for n <= MATMUL_MAX_N, so float32 is exact and the
    result does not depend on the BLAS summation order.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    if sign is None:
        sign = sign_matrix(x, y)
    spread = (counts.astype(np.float32) @ sign).astype(np.float64)
    numerator = np.einsum("bi,bi->b", spread, counts) / 2.0
    total = counts.sum(axis=1)
    pairs = total * (total - 1) / 2.0
    tied_x = _tied_pairs(TieGroups.of(x).totals(counts), total)
    tied_y = _tied_pairs(TieGroups.of(y).totals(counts), total)
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / np.sqrt((pairs - tied_x) * (pairs - tied_y))


def _tied_pairs(group_totals: np.ndarray, total: np.ndarray) -> np.ndarray:
    return ((group_totals**2).sum(axis=1) - total) / 2.0


def weighted_spearman_rho(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Spearman rho of the samples holding item i counts[b, i] times, for every row b.

    The average rank of a value in a resample is (resampled items below it) + (copies of it + 1)/2,
    a cumulative sum over tie groups, so no resample has to be sorted; rho is then the
    count-weighted Pearson correlation of those ranks.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    mean = (counts.sum(axis=1, keepdims=True) + 1.0) / 2.0
    dx = _resample_ranks(TieGroups.of(x), counts) - mean
    dy = _resample_ranks(TieGroups.of(y), counts) - mean
    spread_x, spread_y = (counts * dx * dx).sum(axis=1), (counts * dy * dy).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (counts * dx * dy).sum(axis=1) / np.sqrt(spread_x * spread_y)


def _resample_ranks(groups: TieGroups, counts: np.ndarray) -> np.ndarray:
    totals = groups.totals(counts)
    below = np.cumsum(totals, axis=1) - totals
    return (below + (totals + 1.0) / 2.0)[:, groups.group_of]


def bootstrap_replicates(
    x: np.ndarray, y: np.ndarray, resamples: int, seed: int
) -> Tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho of ``resamples`` bootstrap resamples of NaN-free (x, y)."""
    rx, ry = ranks(x), ranks(y)
    n = len(rx)
    sign = sign_matrix(rx, ry) if n <= MATMUL_MAX_N and resamples > 0 else None
    taus, rhos = [np.empty(0)], [np.empty(0)]
    for indices in bootstrap_indices(n, resamples, seed):
        counts = multiplicities(indices, n)
        if sign is not None:
            taus.append(weighted_kendall_tau_b(rx, ry, counts, sign))
        else:  # the sign matrix would not fit: O(n log n) scipy per resample
            taus.append(np.array([_scipy_tau(rx[row], ry[row]) for row in indices]))
        rhos.append(weighted_spearman_rho(rx, ry, counts))
    return np.concatenate(taus), np.concatenate(rhos)


def _scipy_tau(x: np.ndarray, y: np.ndarray) -> float:
    if x.max() == x.min() or y.max() == y.min():  # constant resample: undefined, scipy would warn
        return float("nan")
    return float(stats.kendalltau(x, y).statistic)


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> Tuple[float, float]:
    """The central ``level`` percentile interval of the finite replicates (NaN, NaN when none)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return float(lo), float(hi)


def correlate_pair(
    score: str,
    target: str,
    x: np.ndarray,
    y: np.ndarray,
    direction: str = "max",
    resamples: int = 1000,
    seed: int = 0,
) -> Correlation:
    """Kendall tau-b and Spearman rho of raw score ``x`` with accuracy ``y``, with 95% intervals.

    ``pair_agreement`` is the fraction of architecture pairs ordered by accuracy that the score
    orders the same way, the score oriented by ``direction`` (see derived.pair_agreement); the
    top-of-ranking metrics (precision at 1/5/10%, nDCG, top-1 accuracy, regret) use the same
    orientation (see top_ranking.top_ranking_metrics).
    """
    x, y = usable_pairs(x, y)
    n = len(x)
    if n < MIN_ROWS:
        return Correlation(score, target, n, direction=direction)
    tau, rho = kendall_tau(x, y), spearman_rho(x, y)
    taus, rhos = bootstrap_replicates(x, y, resamples, seed)
    top = top_ranking_metrics(orient(x, direction), y)
    return Correlation(
        score,
        target,
        n,
        tau,
        *percentile_interval(taus),
        rho,
        *percentile_interval(rhos),
        pair_agreement=pair_agreement(x, y, direction),
        direction=direction,
        p_at_1=top["p@1%"],
        p_at_5=top["p@5%"],
        p_at_10=top["p@10%"],
        ndcg=top["ndcg"],
        top1_acc=top["top1_acc"],
        regret=top["regret"],
    )

