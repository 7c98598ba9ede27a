"""Top-of-ranking metrics: how well a score finds the best networks, which is all a search needs.

Kendall tau and Spearman rho weigh every pair of networks alike; a search only keeps the networks
a score ranks first. These metrics look at that end of the ranking:

- ``p@1%``, ``p@5%``, ``p@10%``: precision at the top. With k = ceil(fraction * n), the share of
  the score's k best networks that are among the truly best k (a network counts as truly best when
  its accuracy is at least the k-th highest accuracy, so networks tied with the k-th best count).
- ``ndcg``: normalised discounted cumulative gain as the VKDNW paper (Tybl and Neumann, CVPR 2025,
  arXiv 2502.04975) defines it, see ``ndcg``.
- ``top1_acc``: the accuracy of the network the score ranks first; ``regret``: the best accuracy
  minus ``top1_acc``.

Scores must be oriented so that higher is better (the caller negates "min" proxies, as
``derived.orient`` does). NaN is handled as ``correlation.usable_pairs`` does for tau: a network
whose score or accuracy is NaN is left out and n counts the rest; ``-inf`` ranks last and ``+inf``
first.

Ties in the score are broken pessimistically: among networks with the same score, the one with the
lower accuracy ranks first (then the earlier row). A score that cannot tell networks apart thus
earns no credit from the order the rows happen to be in, and the numbers do not depend on it.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

#: the precision fractions correlate reports, and their keys
DEFAULT_FRACTIONS = (0.01, 0.05, 0.10)
#: nDCG cut-off P: the VKDNW paper's nDCG runs over the score's first P = 1000 of the 15,625 NB201
#: networks; on n networks P is the same share of the ranking, ceil(n * 1000 / 15625), so that a
#: sample (the leaderboard's 1,000 nets: P = 64) is measured like the whole space, not over all of
#: itself (P = n makes nDCG ~0.9 for any fair score: every network then counts)
NDCG_TOP = 1000
NDCG_SHARE = NDCG_TOP / 15625
TOP_KEYS = ("p@1%", "p@5%", "p@10%", "ndcg", "top1_acc", "regret")


def precision_key(fraction: float) -> str:
    """``0.05`` -> ``"p@5%"`` (the percentage without trailing zeros)."""
    return f"p@{100.0 * fraction:g}%"


def score_order(scores: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Row indices from the score's best to its worst; equal scores put the lower accuracy first,
    then the earlier row (pessimistic and independent of the row order of distinct networks)."""
    rows = np.arange(len(scores))
    # np.lexsort sorts by the last key first: score descending, then accuracy ascending, then row
    return np.lexsort((rows, accuracy, -scores))


def precision_at(order: np.ndarray, accuracy: np.ndarray, k: int) -> float:
    """Share of the first k of ``order`` whose accuracy is at least the k-th highest accuracy."""
    threshold = np.sort(accuracy)[::-1][k - 1]
    return float(np.count_nonzero(accuracy[order[:k]] >= threshold) / k)


def ndcg(order: np.ndarray, accuracy: np.ndarray, top: int = NDCG_TOP) -> float:
    """nDCG_P of a ranking, as the VKDNW paper defines it.

    DCG_P = sum over positions j = 1..P of (2^acc_j - 1) / log2(j + 1), with acc_j the accuracy
    (in the benchmark's own unit: percent for NB201/NATS/NB101/NDS) of the network at position j of
    the ranking, P = min(``top``, n) (the paper's P = 1000); nDCG_P = DCG_P / IDCG_P, IDCG_P the DCG_P
    of the networks ordered by accuracy (so a perfect ranking gives 1). With accuracies in percent
    the gain halves for each point below the best, so only the networks near the top weigh.
    Computed as 2^(acc - max) - 2^(-max): the common factor 2^max cancels in the ratio and nothing
    overflows. NaN when every gain is 0 (all accuracies 0).
    """
    n = len(order)
    cut = min(int(top), n)
    if cut < 1:
        return float("nan")
    peak = float(np.max(accuracy))
    gains = np.exp2(accuracy - peak) - np.exp2(-peak)
    discount = 1.0 / np.log2(np.arange(2, cut + 2, dtype=np.float64))
    ideal = float(np.sort(gains)[::-1][:cut] @ discount)
    if ideal <= 0.0:
        return float("nan")
    return float(gains[order[:cut]] @ discount / ideal)


def top_ranking_metrics(scores: np.ndarray, accuracy: np.ndarray,
                        fractions: Sequence[float] = DEFAULT_FRACTIONS, *, ndcg_top: Optional[int] = None) -> Dict[str, float]:
    """Precision at the top (``p@1%``, ``p@5%``, ``p@10%`` for the default ``fractions``), ``ndcg``,
    ``top1_acc`` and ``regret`` of ``scores`` (higher is better) against ``accuracy``.

    k = ceil(fraction * n), at least 1, n the networks with both a score and an accuracy (NaN rows
    dropped); every value is NaN when no network is left. See the module docstring for ties and
    ``ndcg`` for its definition; its cut-off is ``ndcg_top``, by default ceil(n * NDCG_SHARE)
    (VKDNW's P = 1000 on the whole NB201 space, the same share of a sample).

    >>> top_ranking_metrics(np.array([3.0, 2.0, 1.0]), np.array([90.0, 80.0, 85.0]))["top1_acc"]
    90.0
    """
    x, y = np.asarray(scores, dtype=np.float64), np.asarray(accuracy, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"scores and accuracy must be 1-d of one length, not {x.shape} and {y.shape}")
    if any(not 0.0 < float(f) <= 1.0 for f in fractions):
        raise ValueError(f"fractions must lie in (0, 1], not {list(fractions)}")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    keys = [precision_key(f) for f in fractions]
    if n == 0:
        return {**{key: float("nan") for key in keys}, "ndcg": float("nan"),
                "top1_acc": float("nan"), "regret": float("nan")}
    order = score_order(x, y)
    result = {key: precision_at(order, y, max(1, math.ceil(fraction * n - 1e-9)))
              for key, fraction in zip(keys, fractions)}
    result["ndcg"] = ndcg(order, y, ndcg_top if ndcg_top is not None else math.ceil(n * NDCG_SHARE - 1e-9))
    result["top1_acc"] = float(y[order[0]])
    result["regret"] = float(np.max(y) - y[order[0]])
    return result


def precision_interval(scores: np.ndarray, accuracy: np.ndarray, fraction: float, resamples: int, seed: int,
                       level: float = 0.95) -> Tuple[float, float]:
    """Bootstrap percentile interval of precision at the top ``fraction`` (``precision_at`` with
    k = ceil(fraction * n), ties as there): ``resamples`` draws of the n networks with replacement
    from a generator seeded by ``seed``. NaN rows are dropped first; (nan, nan) with fewer than 3
    networks or no resamples."""
    x, y = np.asarray(scores, dtype=np.float64), np.asarray(accuracy, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3 or resamples < 1:
        return float("nan"), float("nan")
    k = max(1, math.ceil(fraction * n - 1e-9))
    rng = np.random.default_rng(seed)
    values = np.empty(resamples)
    # in blocks, so that a block's (block, n) index arrays stay small
    block = max(1, 2_000_000 // n)
    for start in range(0, resamples, block):
        draws = rng.integers(0, n, size=(min(block, resamples - start), n))
        xs, ys = x[draws], y[draws]
        # score down, then accuracy up (pessimistic); rows tied in both have equal accuracy, so
        # their order cannot change the count
        order = np.lexsort((ys, -xs), axis=-1)
        threshold = -np.partition(-ys, k - 1, axis=1)[:, k - 1]  # the k-th highest accuracy
        top = np.take_along_axis(ys, order[:, :k], axis=1)
        values[start:start + len(draws)] = np.count_nonzero(top >= threshold[:, None], axis=1) / k
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)
