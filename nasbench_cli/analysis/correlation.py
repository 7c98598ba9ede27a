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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
from scipy import stats

from nasbench_cli.analysis.derived import pair_agreement
from nasbench_cli.errors import DataCorruptError, DataMissingError, UnknownNameError, UsageError
from nasbench_cli.provenance import sidecar_path

ID_COLUMNS = ("index", "arch_index")
NON_SCORE_NAMES = frozenset({"index", "arch_index", "arch", "seconds", "params", "flops", "latency", "seed"})
DIRECTIONS = ("max", "min")

BOOTSTRAP_CHUNK = 128  # resamples drawn and processed together (fixed: part of the RNG stream)
MATMUL_MAX_N = 2500  # up to this n the n x n sign matrix (50 MB) is built for the bootstrap
MIN_ROWS = 3


# ----------------------------------------------------------------------------- input table


@dataclass
class ScoreTable:
    """Score CSVs concatenated: the frame, its score columns (with direction) and accuracy columns."""

    frame: pd.DataFrame
    directions: Dict[str, str]  # score column -> "max" (higher is better) or "min", in column order
    accuracies: List[str]
    sources: List[Path]
    notes: List[str] = field(default_factory=list)

    @property
    def scores(self) -> List[str]:
        return list(self.directions)


def is_accuracy_column(name: str) -> bool:
    """Accuracy columns are named ``<dataset>/<split>@<epochs>``."""
    return "/" in name and "@" in name


def is_metadata_column(name: str) -> bool:
    """Columns that are neither scores nor accuracies: ids, ground-truth metadata, timings."""
    lower = name.lower()
    return (lower in NON_SCORE_NAMES or lower.startswith("benchmark_") or "train_time" in lower
            or "seconds" in lower)


def load_score_table(paths: Sequence[Path]) -> ScoreTable:
    """Read and concatenate score CSVs; duplicate architecture indices keep their first row."""
    if not paths:
        raise UsageError("give at least one score CSV")
    frames, listed, notes = [], {}, []
    for path in map(Path, paths):
        frames.append(_read_csv(path))
        for name, direction in _provenance_directions(path).items():
            listed.setdefault(name, direction)
    frame = pd.concat(frames, ignore_index=True, sort=False)
    frame, dropped = _drop_duplicate_ids(frame)
    if dropped:
        shown = ", ".join(map(str, dropped[:10])) + (", ..." if len(dropped) > 10 else "")
        notes.append(f"{len(dropped)} duplicate architecture indices dropped (first row kept): {shown}")
    accuracies = [c for c in frame.columns if is_accuracy_column(str(c))]
    if not accuracies:
        raise UsageError(
            f"no accuracy column (named '<dataset>/<split>@<epochs>') found in "
            f"{', '.join(map(str, paths))}; columns: {', '.join(map(str, frame.columns))}"
        )
    names = [c for c in frame.columns if c in listed] if listed else _guess_score_columns(frame)
    if not names:
        raise UsageError(f"no score columns found; columns: {', '.join(map(str, frame.columns))}")
    for column in names + accuracies:
        frame[column] = _numeric(frame[column], column, paths)
    directions = {name: listed.get(name) or registered_direction(name) for name in names}
    return ScoreTable(frame, directions, accuracies, [Path(p) for p in paths], notes)


def registered_direction(name: str) -> str:
    """The registered proxy's direction, or "max" for a column that is no registered proxy."""
    try:
        from nasbench_cli.proxies import PROXIES
    except Exception:  # the proxy package pulls in torch and every proxy module; optional here
        return "max"
    return PROXIES.get(name).direction if name in PROXIES else "max"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataMissingError(
            f"score CSV not found: {path} (write it with `nasbench score ... --out {path}`)"
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataCorruptError(f"{path} is not a readable CSV: {str(err).splitlines()[0]}") from None
    if frame.empty:
        raise DataCorruptError(f"{path} has a header but no rows")
    return frame


def _provenance_directions(csv_path: Path) -> Dict[str, str]:
    """``proxies`` of the CSV's provenance sidecar as {column: direction}; {} without a sidecar."""
    sidecar = sidecar_path(csv_path)
    if not sidecar.is_file():
        return {}
    try:
        proxies = json.loads(sidecar.read_text()).get("proxies") or {}
    except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
        raise DataCorruptError(f"{sidecar} is not a JSON object") from None
    if isinstance(proxies, list):  # bare names: their directions come from the proxy registry
        return {str(name): "" for name in proxies}
    if not isinstance(proxies, dict):
        raise DataCorruptError(f"{sidecar}: 'proxies' must map score columns to 'max' or 'min'")
    directions = {}
    for name, value in proxies.items():
        direction = value.get("direction") if isinstance(value, dict) else value
        if direction not in DIRECTIONS:
            raise DataCorruptError(f"{sidecar}: direction of '{name}' is {direction!r}, not 'max' or 'min'")
        directions[str(name)] = direction
    return directions


def _guess_score_columns(frame: pd.DataFrame) -> List[str]:
    return [
        str(c)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        and not is_accuracy_column(str(c)) and not is_metadata_column(str(c))
    ]


def _drop_duplicate_ids(frame: pd.DataFrame) -> Tuple[pd.DataFrame, List[object]]:
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if id_column is None:
        return frame, []
    duplicated = frame[id_column].duplicated(keep="first")
    dropped = sorted(set(frame.loc[duplicated, id_column].tolist()), key=str)
    return frame.loc[~duplicated].reset_index(drop=True), dropped


def _numeric(column: pd.Series, name: str, paths: Sequence[Path]) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce").astype("float64")
    bad = values.isna() & column.notna()
    if bad.any():
        example = column[bad].iloc[0]
        raise DataCorruptError(
            f"column '{name}' of {', '.join(map(str, paths))} holds a non-number: {example!r}"
        )
    return values


# ----------------------------------------------------------------------------- statistics


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
    orders the same way, the score oriented by ``direction`` (see derived.pair_agreement).
    """
    x, y = usable_pairs(x, y)
    n = len(x)
    if n < MIN_ROWS:
        return Correlation(score, target, n, direction=direction)
    tau, rho = kendall_tau(x, y), spearman_rho(x, y)
    taus, rhos = bootstrap_replicates(x, y, resamples, seed)
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
    )


def select_targets(table: ScoreTable, targets: Optional[Sequence[str]]) -> List[str]:
    """The accuracy columns to correlate with: all of them, or the named ones (validated)."""
    if not targets:
        return list(table.accuracies)
    for target in targets:
        if target not in table.accuracies:
            raise UnknownNameError("accuracy column", target, table.accuracies)
    return list(dict.fromkeys(targets))
