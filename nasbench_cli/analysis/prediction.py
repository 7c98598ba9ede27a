"""Few-shot accuracy prediction, the numeric core of `nasbench predict`: split a labelled pool,
fit a model on a few architectures, rank a fixed held-out test set, and summarise over trials.

Protocol (every choice is a constant or an argument here, recorded in the provenance):

* **Split.** The pool (architectures with the target accuracy and every feature) is sorted by
  index; the test set is ``test_size`` of them drawn with ``derive_seed(seed, "predict", "test")``
  and is the same for every training size, trial and feature set. The rest are the training
  candidates.
* **Training sets.** For size ``s`` and trial ``t``: ``s`` candidates drawn without replacement
  with ``derive_seed(seed, "predict", s, t)``; the model's own seed is ``derive_seed(seed,
  "predict-model", s, t)``. Neither depends on the other sizes or trials asked for, nor on the
  feature set, so feature sets are compared on the very same training nets (paired), and the
  output for a (size, trial) is the same whatever else the run computes, in any order.
* **Features.** Encoding columns as they are (bits, scaled widths). Each score column is
  **rank-transformed with the training set only**: a value becomes its mid-rank among the
  training values as a fraction, ``(below + equal / 2) / s``, so a test value between two
  training values falls between their ranks. Scores span 1e-3..1e60 (synflow) and NASWOT gives
  ``-inf`` for a singular kernel: ranks make them usable by GPs and MLPs, ``-inf`` ranks below
  every finite value (as in ``correlate``), and trees see the same splits as on raw values (up to
  where a threshold falls between two training values). NAS-Bench-Suite-Zero fed raw values to
  XGBoost, which is equivalent for trees.
* **Target.** Standardised with the training set's mean and standard deviation (a constant
  training set: divided by 1); only ranks are scored, so predictions are never transformed back.
* **Scores.** Kendall tau-b and Spearman rho of the predictions against the test set's accuracy,
  by ``analysis.correlation`` (NaN when the predictions are constant).
* **Summary.** Per (feature set, size): mean over the trials with a finite tau, the two-sided 95%
  Student-t interval of that mean (mean +- t(0.975, k-1) sd / sqrt(k); NaN for one trial), and
  the standard deviation (ddof=1) of the trials.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

from nasbench_cli.analysis.correlation import kendall_tau, spearman_rho
from nasbench_cli.runtime import derive_seed

#: the statistics each trial reports and the summary aggregates
STATISTICS = ("kendall_tau", "spearman_rho")
CONFIDENCE = 0.95


@dataclass(frozen=True)
class FeatureSet:
    """What a model sees: an encoding's columns (or none) and score columns (or none)."""

    encoding: Optional[str]
    features: Tuple[str, ...]

    @property
    def label(self) -> str:
        """``onehot+naswot+synflow``, ``onehot`` or ``naswot``: the encoding, then the scores."""
        return "+".join(([self.encoding] if self.encoding else []) + list(self.features))

    @property
    def encoding_text(self) -> str:
        return self.encoding or "none"

    @property
    def features_text(self) -> str:
        return "+".join(self.features) or "none"


@dataclass(frozen=True)
class Pool:
    """The labelled pool: indices (ascending), target accuracies, score columns (NaN-free) and,
    per encoding name, its rows; all arrays aligned with ``indices``."""

    indices: np.ndarray
    target: np.ndarray
    scores: Dict[str, np.ndarray]
    encodings: Dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class Split:
    """Positions (into the pool) of the fixed test set and of the training candidates."""

    test: np.ndarray
    candidates: np.ndarray


@dataclass(frozen=True)
class Trial:
    """One fitted model scored on the test set."""

    feature_set: FeatureSet
    train_size: int
    trial: int
    train_seed: int
    kendall_tau: float
    spearman_rho: float
    seconds: float


def split_pool(pool_size: int, test_size: int, seed: int) -> Split:
    """The seeded test set (positions into an index-sorted pool) and the remaining candidates."""
    rng = np.random.default_rng(derive_seed(seed, "predict", "test"))
    test = np.sort(rng.choice(pool_size, size=test_size, replace=False))
    candidates = np.setdiff1d(np.arange(pool_size), test, assume_unique=True)
    return Split(test, candidates)


def training_positions(split: Split, size: int, trial: int, seed: int) -> Tuple[np.ndarray, int]:
    """The pool positions of the training set of (size, trial), and the seed that drew them."""
    train_seed = derive_seed(seed, "predict", size, trial)
    rng = np.random.default_rng(train_seed)
    return np.sort(split.candidates[rng.choice(len(split.candidates), size=size, replace=False)]), train_seed


def rank_fraction(train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each of ``values`` as its mid-rank among ``train``, a fraction in [0, 1]: (number below +
    number equal / 2) / len(train). -inf and +inf order like any value; no NaN may be given."""
    ordered = np.sort(np.asarray(train, dtype=np.float64))
    values = np.asarray(values, dtype=np.float64)
    below = np.searchsorted(ordered, values, side="left")
    not_above = np.searchsorted(ordered, values, side="right")
    return (below + not_above) / (2.0 * len(ordered))


def design_matrices(pool: Pool, feature_set: FeatureSet, train: np.ndarray,
                    test: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(X_train, X_test): the encoding's columns, then each score's training-set rank fraction."""
    train_parts: List[np.ndarray] = []
    test_parts: List[np.ndarray] = []
    if feature_set.encoding:
        rows = pool.encodings[feature_set.encoding]
        train_parts.append(rows[train])
        test_parts.append(rows[test])
    for name in feature_set.features:
        column = pool.scores[name]
        train_parts.append(rank_fraction(column[train], column[train])[:, None])
        test_parts.append(rank_fraction(column[train], column[test])[:, None])
    return np.hstack(train_parts), np.hstack(test_parts)


def standardised(values: np.ndarray) -> np.ndarray:
    """(values - mean) / std, dividing by 1 when the values are constant."""
    std = float(np.std(values))
    return (values - float(np.mean(values))) / (std if std > 0 else 1.0)


def fit_and_score(build: Callable[[int], object], pool: Pool, feature_set: FeatureSet, train: np.ndarray,
                  test: np.ndarray, model_seed: int) -> Tuple[float, float, float]:
    """Fit a fresh model on ``train`` and rank ``test``: (tau, rho, seconds of fit + predict)."""
    x_train, x_test = design_matrices(pool, feature_set, train, test)
    started = time.perf_counter()
    model = build(model_seed)
    model.fit(x_train, standardised(pool.target[train]))
    predicted = np.asarray(model.predict(x_test), dtype=np.float64).ravel()
    seconds = time.perf_counter() - started
    truth = pool.target[test]
    return kendall_tau(predicted, truth), spearman_rho(predicted, truth), seconds


def run_trials(build: Callable[[int], object], pool: Pool, feature_sets: Sequence[FeatureSet],
               sizes: Sequence[int], trials: int, split: Split, seed: int,
               progress: Optional[Callable[[int], None]] = None) -> Iterator[Trial]:
    """Every (feature set, size, trial), in that order; ``progress(1)`` after each fit."""
    for feature_set in feature_sets:
        for size in sizes:
            for trial in range(trials):
                train, train_seed = training_positions(split, size, trial, seed)
                model_seed = derive_seed(seed, "predict-model", size, trial)
                tau, rho, seconds = fit_and_score(build, pool, feature_set, train, split.test, model_seed)
                if progress is not None:
                    progress(1)
                yield Trial(feature_set, size, trial, train_seed, tau, rho, seconds)


def mean_interval(values: Sequence[float], level: float = CONFIDENCE) -> Tuple[float, float, float, float, int]:
    """(mean, lo, hi, std, k) over the finite ``values``: the Student-t interval of the mean."""
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    k = len(finite)
    if k == 0:
        return float("nan"), float("nan"), float("nan"), float("nan"), 0
    mean = float(finite.mean())
    if k == 1:
        return mean, float("nan"), float("nan"), float("nan"), 1
    std = float(finite.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2.0, k - 1)) * std / np.sqrt(k)
    return mean, mean - half, mean + half, std, k


def summarise(results: Sequence[Trial]) -> List[Dict[str, object]]:
    """One row per (feature set, size), in the order first met: trials used (finite tau) and, per
    statistic, its mean, 95% interval of the mean and std."""
    groups: Dict[Tuple[FeatureSet, int], List[Trial]] = {}
    for result in results:
        groups.setdefault((result.feature_set, result.train_size), []).append(result)
    rows = []
    for (feature_set, size), members in groups.items():
        row: Dict[str, object] = {"feature_set": feature_set.label, "encoding": feature_set.encoding_text,
                                  "features": feature_set.features_text, "train_size": size}
        for statistic in STATISTICS:
            mean, lo, hi, std, k = mean_interval([getattr(m, statistic) for m in members])
            if statistic == STATISTICS[0]:
                row["trials"] = k
            row.update({f"{statistic}_mean": mean, f"{statistic}_lo": lo, f"{statistic}_hi": hi,
                        f"{statistic}_std": std})
        rows.append(row)
    return rows
