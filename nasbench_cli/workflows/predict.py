"""The predict job: how much do training-free scores help an accuracy predictor fitted on a few
trained architectures? `nasbench predict` and ``nasbench_cli.api.predict`` are thin faces of it.

``run_predict(PredictJob) -> PredictResult``: no Click, no files written. The protocol (split,
training draws, feature transform, statistics) is ``nasbench_cli.analysis.prediction``'s; this
module finds the data:

* **Scores** come either from score CSVs (``scores=``, ``--scores FILE``, repeatable: ``index``
  plus score columns, e.g. the committed ``results/kendall/nb201-cifar10-scores.csv``), or through
  the engine and store exactly as `nasbench score` computes them (``workflows.score.run_score``)
  for a pool of ``pool`` architectures sampled as ``nasbench score --n POOL --seed SCORE_SEED``
  (``pool_all``: every architecture), computing only what the store lacks.
* **Accuracies** from the space's ground-truth table (``space.ground_truth()``; the embedded
  NB201 table serves nb201 and nats-tss without a data directory).
* **The pool** is the architectures that have the target accuracy and a value for every
  requested score. A NaN score (the proxy failed on that network) removes the architecture from
  the pool, and the run says how many; ``-inf`` / ``+inf`` stay (they rank lowest / highest).
* **Test set**: ``test_size`` pool architectures (default: half the pool, at most 1,000), fixed
  by the seed; the training sets are drawn from the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from nasbench_cli.analysis.prediction import (
    STATISTICS,
    FeatureSet,
    Pool,
    Trial,
    run_trials,
    split_pool,
    summarise,
)
from nasbench_cli.errors import DataCorruptError, DataMissingError, UsageError
from nasbench_cli.output import format_float, read_float
from nasbench_cli.provenance import file_digests
from nasbench_cli.options import POSITIVE, SEED, TEST_SIZE, TRIALS, RunConfig, check_declared, option

DEFAULT_SIZES: Tuple[int, ...] = (10, 20, 50, 100, 200, 500)
DEFAULT_TRIALS = 20
#: architectures scored for the pool when scores are computed (``--pool``)
DEFAULT_POOL = 2000
#: the default test set: half the pool, at most this many
MAX_DEFAULT_TEST = 1000
MIN_TRAIN = 2
#: score features named one by one in a default output name; more are counted ("6scores")
NAMED_FEATURES = 3
ID_COLUMNS = ("index", "arch_index")

TRIAL_COLUMNS = ("feature_set", "encoding", "features", "model", "train_size", "trial", "train_seed",
                 "kendall_tau", "spearman_rho")
SUMMARY_COLUMNS = ("feature_set", "encoding", "features", "model", "train_size", "trials",
                   *(f"{s}_{part}" for s in STATISTICS for part in ("mean", "lo", "hi", "std")))
TEXT_COLUMNS = ("feature_set", "encoding", "features", "model")


@dataclass(frozen=True)
class PredictJob:
    """What to predict, from what, with which model, how often."""

    #: space, dataset, data dir, store and the engine / proxy settings of computed scores
    #: (its ``proxies`` are ignored: the scores are ``features``)
    run: RunConfig
    features: Tuple[str, ...] = ("naswot",)  # () : encoding only
    encoding: str = "auto"  # a registered encoding, "auto" (the space's own) or "none"
    model: str = "gbt"
    target: Optional[str] = None  # default: the benchmark's final test accuracy on the dataset
    train_sizes: Tuple[int, ...] = DEFAULT_SIZES
    trials: int = option(DEFAULT_TRIALS, "Training sets drawn per size.", bound=TRIALS)
    seed: int = option(0, "Seed of the test split, the training draws and the models.", bound=SEED)
    test_size: Optional[int] = option(None, "Held-out test architectures [default: half the pool, at most 1000].",
                                      bound=TEST_SIZE)
    #: computed scores: architectures sampled for the pool (DEFAULT_POOL)
    pool: Optional[int] = option(None, "Architectures sampled and scored for the labelled pool.", bound=POSITIVE,
                                 cli=False)
    pool_all: bool = False
    scores: Tuple[Path, ...] = ()  # score CSVs to read the features from, instead of computing them
    #: also fit encoding only and scores only (the same training nets), to show what the scores add
    compare: bool = False
    timing: bool = False

    def __post_init__(self) -> None:
        check_declared(self)
        if self.scores and (self.pool is not None or self.pool_all):
            raise UsageError("--pool chooses architectures to score; with --scores the pool is the files' rows")


@dataclass(frozen=True)
class PredictPlan:
    """What a run reads, known before it fits (or computes) anything."""

    inputs: List[Any]
    default_out: Path


@dataclass
class PredictResult:
    """Trial rows and summary rows (as CSV cells and as numbers), notes and the provenance record."""

    columns: List[str]
    rows: List[Dict[str, str]]
    summary_columns: List[str]
    summary_rows: List[Dict[str, str]]
    records: List[Dict[str, Any]]
    summary: List[Dict[str, Any]]
    notes: List[str] = field(default_factory=list)
    #: the sidecar's fields after ``arguments`` (``build_provenance(arguments, **provenance)``)
    provenance: Dict[str, Any] = field(default_factory=dict)
    arguments: Dict[str, Any] = field(default_factory=dict)
    title: str = ""
    #: --compare: per training size, the paired tau differences (``paired_differences``)
    paired: List[Dict[str, Any]] = field(default_factory=list)


# --- parsing -----------------------------------------------------------------------------------------
def parse_features(text: str) -> Tuple[str, ...]:
    """'naswot,synflow' -> ('naswot', 'synflow'); 'none' -> () (an encoding-only predictor)."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise UsageError("--features needs score names, or 'none' for the encoding alone")
    if "none" in names:
        if len(names) > 1:
            raise UsageError(f"--features '{text}': 'none' stands alone (the encoding only)")
        return ()
    return names


def parse_sizes(text: str) -> Tuple[int, ...]:
    """'10,20,50' -> (10, 20, 50): distinct, ascending, each at least 2."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--train-sizes '{text}': give comma-separated integers, e.g. 10,20,50,100") from None
    return check_sizes(sizes)


def check_sizes(sizes: Sequence[int]) -> Tuple[int, ...]:
    """Distinct ascending training sizes, each at least MIN_TRAIN; else a UsageError."""
    if not sizes:
        raise UsageError("--train-sizes needs at least one size")
    bad = [s for s in sizes if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < MIN_TRAIN]
    if bad:
        raise UsageError(f"--train-sizes: {bad[0]!r} is not a training-set size (an integer >= {MIN_TRAIN})")
    return tuple(sorted({int(s) for s in sizes}))


# --- the job -----------------------------------------------------------------------------------------
def feature_sets(job: PredictJob, encoding: Optional[str], features: Tuple[str, ...]) -> List[FeatureSet]:
    """The feature set asked for, or with ``compare`` encoding only, encoding + scores, scores only."""
    if encoding is None and not features:
        raise UsageError("nothing to learn from: --features none and --encoding none; give scores, an encoding "
                         "or both")
    if not job.compare:
        return [FeatureSet(encoding, features)]
    if encoding is None or not features:
        raise UsageError("--compare sets encoding + scores against each alone: give both --features and an "
                         "--encoding (not none)")
    return [FeatureSet(encoding, ()), FeatureSet(encoding, features), FeatureSet(None, features)]


def default_output(job: PredictJob, sets: Sequence[FeatureSet], dataset: str) -> Path:
    """``results/predict-nb201-cifar10-gbt-onehot+naswot-compare-trials20-seed0.csv``: what was
    fitted, so runs of different things never share a default file."""
    main = sets[1] if job.compare else sets[0]
    scores = list(main.features) if len(main.features) <= NAMED_FEATURES else [f"{len(main.features)}scores"]
    what = "+".join(([main.encoding] if main.encoding else []) + scores)
    parts = [job.run.space, dataset, job.model, what] + (["compare"] if job.compare else [])
    return Path("results") / f"predict-{'-'.join(parts)}-trials{job.trials}-seed{job.seed}.csv"


def run_predict(job: PredictJob, notify: Optional[Callable[[str], None]] = None,
                before_compute: Optional[Callable[[PredictPlan], None]] = None,
                progress: Optional[Callable[[int], None]] = None) -> PredictResult:
    """Fit and score the job's predictors. Every input is checked before any score is computed
    or model fitted; ``before_compute(plan)`` runs then (the CLI checks its --out there);
    ``notify`` receives the notes (pool reductions); ``progress(1)`` follows each fit."""
    from nasbench_cli.encodings import resolve_encoding
    from nasbench_cli.paths import resolve_data_dir
    from nasbench_cli.predictors import PREDICTORS, one_thread, require_sklearn
    from nasbench_cli.spaces import SPACES, create_space

    spec = PREDICTORS.get(job.model)
    require_sklearn()
    sizes = check_sizes(job.train_sizes)
    SPACES.get(job.run.space)  # an unknown space: exit 2 before any file is read
    encoding = resolve_encoding(job.encoding, job.run.space)
    features = _checked_features(job)
    sets = feature_sets(job, encoding.name if encoding else None, features)
    data_dir = resolve_data_dir(job.run.data_dir)
    space = create_space(job.run.space, data_dir)
    dataset = _checked_dataset(space, job.run.dataset)
    truth = _load_truth(space, data_dir)
    target = _checked_target(job.target or space.benchmark.final_test_column(dataset), truth)
    default_out = default_output(job, sets, dataset)
    indices, values, notes, source, inputs = _pool_scores(job, space, features, sizes, default_out, truth.source,
                                                          before_compute)
    pool, pool_notes = _labelled_pool(indices, values, features, truth, target, space,
                                      [s.encoding for s in sets if s.encoding])
    notes += pool_notes
    test_size = _checked_split(job, len(pool), sizes)
    notes += overlap_notes(len(pool) - test_size, sizes, job.trials)
    for text in notes if notify is not None else ():
        notify(text)
    if before_compute is not None and (job.scores or not features):  # the engine path checked it already
        before_compute(PredictPlan(inputs, default_out))
    split = split_pool(len(pool), test_size, job.seed)
    with one_thread():
        trials = list(run_trials(spec.build, pool, sets, sizes, job.trials, split, job.seed, progress))
    records = [_record(t, job.model, job.timing) for t in trials]
    baselines = score_baselines(pool, split.test, features)
    # each score's own ranking of the test set, no training: rows of train size 0 after the fits
    summary = [{**row, "model": job.model} for row in summarise(trials)] + baseline_rows(baselines)
    paired = paired_differences(records) if job.compare else []
    columns = [*TRIAL_COLUMNS, *(["seconds"] if job.timing else [])]
    provenance = _provenance(job, spec, space, dataset, target, sets, encoding, features, sizes, pool, test_size,
                             split, baselines, paired, truth, source, notes, len(records))
    title = (f"{space.name} {dataset}: {job.model} predicting {target} on {test_size} held-out nets; "
             f"Kendall tau, mean [95% interval] over {job.trials} trials")
    return PredictResult(columns, [_cells(r, columns) for r in records], list(SUMMARY_COLUMNS),
                         [_cells(r, SUMMARY_COLUMNS, decimals=6) for r in summary], records, summary, notes,
                         provenance, {"data_dir": data_dir, "dataset": dataset, "target": target}, title, paired)



def _provenance(job: PredictJob, spec, space, dataset: str, target: str, sets, encoding, features, sizes, pool,
                test_size: int, split, baselines, paired, truth, source, notes, rows: int) -> Dict[str, Any]:
    """The sidecar record of a predict run: the protocol, its seeds and where every input came from."""
    return dict(
        space=space.name, dataset=dataset, target=target, seed=job.seed, model=job.model,
        model_backend=spec.backend(), model_hyperparameters=spec.hyperparameters(),
        feature_sets=[s.label for s in sets], encoding=encoding.name if encoding else None,
        encoding_columns=len(encoding.columns) if encoding else 0, features=list(features),
        feature_transform="rank fraction among the training set's values (mid-ranks); -inf lowest",
        target_transform="standardised with the training set's mean and std",
        train_sizes=list(sizes), trials=job.trials, pool=len(pool), test_size=test_size,
        training_candidates=len(pool) - test_size, test_indices_sha256=_digest(pool.indices[split.test]),
        split_seed="derive_seed(seed, 'predict', 'test')", train_seeds="derive_seed(seed, 'predict', size, trial)",
        model_seeds="derive_seed(seed, 'predict-model', size, trial)", interval="95% Student-t interval of the mean",
        test_set_score_tau={name: round(b["kendall_tau"], 6) for name, b in baselines.items()},
        test_set_score_rho={name: round(b["spearman_rho"], 6) for name, b in baselines.items()},
        paired_differences=paired,
        ground_truth=str(truth.source), index_order=space.index_order, score_source=source, notes=notes,
        rows=rows, threads=1,
    )

def _checked_target(target: str, truth) -> str:
    if target not in truth.accuracy_columns:
        raise UsageError(f"target '{target}' is not a column of the ground truth {truth.source}; its accuracy "
                         f"columns: {', '.join(truth.accuracy_columns)}")
    return target


def _pool_scores(job: PredictJob, space, features, sizes, default_out: Path, truth_source, before_compute):
    """The pool's indices and feature values, notes, where the scores came from and the files read:
    from the job's score files, else computed through the engine."""
    if not job.scores:
        return _engine_scores(job, space, features, sizes, default_out, truth_source, before_compute)
    indices, values, notes = read_score_files(job.scores, features, space)
    return indices, values, notes, {"files": file_digests(job.scores)}, [*job.scores, truth_source]


def _checked_features(job: PredictJob) -> Tuple[str, ...]:
    """Feature names: as given with score files (checked against them later), else registered
    proxies (groups expanded; an unknown name lists the valid ones)."""
    features = tuple(job.features)
    if job.scores or not features:
        return features
    from nasbench_cli.session import parse_proxy_list

    return parse_proxy_list(",".join(features))


def _checked_dataset(space, dataset: str) -> str:
    from nasbench_cli.datasets import get_dataset

    name = get_dataset(dataset).name  # an unknown dataset lists the valid ones
    if name not in space.datasets:
        raise UsageError(f"space {space.name} has no networks for dataset {dataset} "
                         f"(its datasets: {', '.join(space.datasets)})")
    return name


def _load_truth(space, data_dir: Path):
    from nasbench_cli.search.base import check_alignment

    truth = space.ground_truth()
    if truth is None:
        where = space.benchmark.ground_truth_path(data_dir)
        how = space.benchmark.ground_truth_source or "the benchmark's release"
        raise DataMissingError(f"predict needs the {space.name} accuracies, expected at {where}; make them with "
                               f"{how} --data-dir {data_dir}")
    check_alignment(space, truth)  # another space's table must not be joined by index
    return truth


def read_score_files(paths: Sequence[Path], features: Sequence[str], space) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(indices, values) of the architectures that have every feature in the score CSVs: each
    feature from the first file that has it as a score column, rows keyed by ``index``. A file row
    whose ``arch`` disagrees with the space's string at that index is refused (another space or
    index order)."""
    from nasbench_cli.analysis.score_table import column_roles, numeric_column, read_csv

    columns: Dict[str, Dict[int, float]] = {}
    available: List[str] = []
    listed: Dict[int, None] = {}
    notes: List[str] = []
    for path in map(Path, paths):
        frame = read_csv(path)
        id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
        if id_column is None:
            raise DataCorruptError(f"{path}: no 'index' column: a score CSV names each architecture by its index")
        ids = _checked_ids(frame, id_column, path, space)
        listed.update(dict.fromkeys(ids))
        scores = list(column_roles(path, frame).scores)
        available += [s for s in scores if s not in available]
        for name in [f for f in features if f in scores and f not in columns]:
            values = numeric_column(frame[name], name, path).to_numpy(dtype=np.float64)
            column: Dict[int, float] = {}
            for index, value in zip(ids, values):
                column.setdefault(index, float(value))  # a repeated index keeps its first row
            columns[name] = column
        if len(set(ids)) < len(ids):
            notes.append(f"{path}: {len(ids) - len(set(ids))} repeated architecture indices (first row kept)")
    missing = [f for f in features if f not in columns]
    if missing:
        raise UsageError(f"feature '{missing[0]}' is not a score column of {', '.join(map(str, paths))}; score "
                         f"columns there: {', '.join(available) or 'none'}")
    # encoding only: the pool is every architecture the files list
    common = sorted(set.intersection(*(set(c) for c in columns.values()))) if features else sorted(listed)
    values = np.array([[columns[f][i] for f in features] for i in common], dtype=np.float64)
    return np.asarray(common, dtype=np.int64), values.reshape(len(common), len(features)), notes


def _checked_ids(frame, id_column: str, path: Path, space) -> List[int]:
    """The file's architecture indices as ints in the space's range; its arch strings (if any)
    must be the space's at those indices."""
    from nasbench_cli.untrusted import quote  # a 300 kB cell is quoted in a few words

    ids: List[int] = []
    for row, cell in enumerate(frame[id_column].tolist(), start=2):
        try:
            value = float(cell)
        except (TypeError, ValueError):
            value = float("nan")
        if not value.is_integer() or not 0 <= value < len(space):
            raise DataCorruptError(f"{path}, line {row}: {id_column} {quote(cell)} is not an architecture index of "
                                   f"{space.name} (0..{len(space) - 1})")
        ids.append(int(value))
    if "arch" in frame.columns:
        for row, (index, arch) in enumerate(zip(ids, frame["arch"].tolist()), start=2):
            if isinstance(arch, str) and arch != space.arch_str(index):
                raise DataCorruptError(f"{path}, line {row}: architecture {index} is {quote(arch)} but {space.name} lists "
                                       f"'{space.arch_str(index)}' there (scores of another space or index order)")
    return ids


def _engine_scores(job: PredictJob, space, features: Tuple[str, ...], sizes: Tuple[int, ...], default_out: Path,
                   truth_source, before_compute) -> Tuple[np.ndarray, np.ndarray, List[str], Dict[str, Any], List[Any]]:
    """The pool's scores through the engine and store (as `nasbench score --n POOL --seed
    SCORE_SEED`), computing only what is missing; with no features, just the sampled indices."""
    from nasbench_cli.selection import select_indices
    from nasbench_cli.workflows.score import ScoreJob, ScorePlan, run_score

    n = None if job.pool_all else (job.pool if job.pool is not None else DEFAULT_POOL)
    if n is not None and n < 1:
        raise UsageError("--pool must be at least 1")
    size = len(space.all_indices()) if n is None else n
    _checked_split(job, size, sizes)  # an impossible split fails before hours of scoring
    if not features:
        indices = select_indices(space, job.run.score_seed, n, job.pool_all)
        return (np.asarray(sorted(indices), dtype=np.int64), np.empty((len(indices), 0)), [],
                {"sampled": {"n": n if n is not None else "all", "seed": job.run.score_seed}}, [truth_source])
    inputs: List[Any] = []

    def check(plan: ScorePlan) -> None:
        inputs.extend([*plan.inputs, truth_source])
        if before_compute is not None:
            before_compute(PredictPlan(inputs, default_out))

    result = run_score(ScoreJob(replace(job.run, proxies=features), n=n, everything=job.pool_all), before_compute=check)
    indices = np.array([int(row["index"]) for row in result.rows], dtype=np.int64)
    values = np.array([[read_float(row.get(f, "")) for f in features] for row in result.rows],
                      dtype=np.float64).reshape(len(indices), len(features))
    order = np.argsort(indices, kind="stable")
    record = {k: v for k, v in result.provenance.items() if k not in ("columns", "rows", "resumed_rows")}
    return indices[order], values[order], [], {"engine": record}, inputs


def _labelled_pool(indices: np.ndarray, values: np.ndarray, features: Sequence[str], truth, target: str, space,
                   encodings: Sequence[str]) -> Tuple[Pool, List[str]]:
    """Keep the architectures with the target accuracy and no NaN score; encode them once."""
    from nasbench_cli.encodings import ENCODINGS

    frame = truth.frame
    accuracy = frame[target].reindex(indices).to_numpy(dtype=np.float64)
    failed = np.isnan(values).any(axis=1) if len(features) else np.zeros(len(indices), dtype=bool)
    unlabelled = np.isnan(accuracy)
    keep = ~(failed | unlabelled)
    notes = []
    if failed.any():
        named = ", ".join(f"{f} {int(np.isnan(values[:, k]).sum())}" for k, f in enumerate(features)
                          if np.isnan(values[:, k]).any())
        notes.append(f"{int(failed.sum())} architectures without a score (failed: {named}) left out of the pool")
    if (unlabelled & ~failed).any():
        notes.append(f"{int((unlabelled & ~failed).sum())} architectures without {target} in {truth.source} left "
                     "out of the pool")
    kept = indices[keep]
    scores = {f: values[keep, k] for k, f in enumerate(features)}
    encoded = {name: ENCODINGS.get(name).encode(space, kept.tolist()) for name in dict.fromkeys(encodings)}
    return Pool(kept, accuracy[keep], scores, encoded), notes


def _checked_split(job: PredictJob, pool_size: int, sizes: Sequence[int]) -> int:
    """The test-set size; a UsageError when the pool cannot hold it and the largest training set."""
    if job.test_size is not None:
        test_size = int(job.test_size)
        if test_size < 2:
            raise UsageError(f"--test-size {test_size}: the test set needs at least 2 architectures")
    else:
        test_size = min(MAX_DEFAULT_TEST, pool_size // 2)
    if pool_size < 2 + MIN_TRAIN or test_size >= pool_size:
        raise UsageError(f"the labelled pool has {pool_size} architectures: too few for a test set of {test_size} "
                         "and a training set; give a larger pool or a smaller --test-size")
    left = pool_size - test_size
    if max(sizes) > left:
        raise UsageError(f"--train-sizes {max(sizes)} is larger than the {left} labelled architectures left for "
                         f"training (pool {pool_size}, {test_size} held out as the test set); give smaller "
                         "--train-sizes, a smaller --test-size or a larger pool")
    return test_size


def _record(trial: Trial, model: str, timing: bool) -> Dict[str, Any]:
    record: Dict[str, Any] = {"feature_set": trial.feature_set.label, "encoding": trial.feature_set.encoding_text,
                              "features": trial.feature_set.features_text, "model": model,
                              "train_size": trial.train_size, "trial": trial.trial, "train_seed": trial.train_seed,
                              "kendall_tau": trial.kendall_tau, "spearman_rho": trial.spearman_rho}
    if timing:
        record["seconds"] = round(trial.seconds, 6)
    return record


def _cells(record: Dict[str, Any], columns: Sequence[str], decimals: Optional[int] = None) -> Dict[str, str]:
    """A record as CSV cells: text as is, ints as digits, floats shortest round-trip (or fixed
    ``decimals``), NaN as an empty cell."""
    cells = {}
    for column in columns:
        value = record[column]
        if isinstance(value, str):
            cells[column] = value
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            cells[column] = str(int(value))
        else:
            cells[column] = format_float(float(value), decimals=decimals, nan="")
    return cells


#: the model and feature-set label of a score's own ranking (no predictor, no training)
BASELINE_MODEL = "none"
BASELINE_SUFFIX = " (no training)"
#: training sets larger than this share of the candidates overlap so much that trials are not
#: independent draws (two random sets of n among M share n/M of their nets on average)
MAX_OVERLAP = 0.5


def score_baselines(pool: Pool, test: np.ndarray, features: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Each score's own Kendall tau and Spearman rho with the target on the test set (a "min"
    proxy negated): what a predictor has to beat to add anything to the score alone."""
    from nasbench_cli.analysis.correlation import kendall_tau, spearman_rho
    from nasbench_cli.analysis.score_table import registered_direction

    baselines = {}
    for name in features:
        sign = -1.0 if registered_direction(name) == "min" else 1.0
        x, y = sign * pool.scores[name][test], pool.target[test]
        baselines[name] = {"kendall_tau": kendall_tau(x, y), "spearman_rho": spearman_rho(x, y)}
    return baselines


def baseline_rows(baselines: Dict[str, Dict[str, float]]) -> List[Dict[str, Any]]:
    """Summary rows of the scores' own rankings: train size 0, model "none", one "trial" (no
    interval: the test set is fixed)."""
    nan = float("nan")
    rows = []
    for name, values in baselines.items():
        row: Dict[str, Any] = {"feature_set": name + BASELINE_SUFFIX, "encoding": "none", "features": name,
                               "model": BASELINE_MODEL, "train_size": 0, "trials": 1}
        for statistic in STATISTICS:
            row.update({f"{statistic}_mean": values[statistic], f"{statistic}_lo": nan, f"{statistic}_hi": nan,
                        f"{statistic}_std": nan})
        rows.append(row)
    return rows


def is_baseline(row: Dict[str, Any]) -> bool:
    """Whether a summary row is a score's own ranking rather than a fitted predictor."""
    return str(row.get("model")) == BASELINE_MODEL and int(row.get("train_size", -1)) == 0


def baseline_text(summary: Sequence[Dict[str, Any]]) -> str:
    """"no training, each score alone on the test set: naswot tau 0.604" ("" without one)."""
    parts = [f"{row['features']} tau {float(row['kendall_tau_mean']):.3f}" for row in summary if is_baseline(row)]
    return "no training, each score alone on the same test set: " + ", ".join(parts) if parts else ""


def overlap_notes(candidates: int, sizes: Sequence[int], trials: int) -> List[str]:
    """A note when the training sets of a size are drawn from so few candidates that its trials
    share most of their networks (their interval then understates how much a new draw varies)."""
    crowded = [size for size in sizes if trials > 1 and size > MAX_OVERLAP * candidates]
    if not crowded:
        return []
    return [f"training sets of {', '.join(map(str, crowded))} drawn from a pool of {candidates} candidates: trials "
            f"share {100 * max(crowded) / candidates:.0f}% of their networks on average, not independent draws "
            f"(intervals too narrow); use a larger pool or smaller sizes"]


def paired_differences(records: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """--compare: per training size, the mean over trials of tau(encoding + scores) minus tau of
    the encoding alone and minus tau of the scores alone, fitted on the same training nets, with
    the 95% Student-t interval of the mean ([] without exactly those three feature sets)."""
    from nasbench_cli.analysis.prediction import mean_interval

    sets = list(dict.fromkeys(str(r["feature_set"]) for r in records))
    if len(sets) != 3:
        return []
    encoding, both, scores = sets
    tau = {(str(r["feature_set"]), int(r["train_size"]), int(r["trial"])): float(r["kendall_tau"]) for r in records}
    rows = []
    for size in sorted({int(r["train_size"]) for r in records}):
        trials = sorted({int(r["trial"]) for r in records if int(r["train_size"]) == size})
        row: Dict[str, Any] = {"train_size": size}
        for name, other in (("vs_encoding", encoding), ("vs_scores", scores)):
            gaps = [tau[(both, size, t)] - tau[(other, size, t)] for t in trials
                    if (both, size, t) in tau and (other, size, t) in tau]
            mean, lo, hi, _, k = mean_interval(gaps)
            row.update({f"{name}_mean": _rounded(mean), f"{name}_lo": _rounded(lo), f"{name}_hi": _rounded(hi),
                        f"{name}_trials": k})
        rows.append(row)
    return rows


def _rounded(value: float) -> Optional[float]:
    return None if math.isnan(value) else round(value, 6)


def paired_table(paired: Sequence[Dict[str, Any]], labels: Tuple[str, str]) -> Tuple[List[str], List[List[str]]]:
    """(headers, rows) of the paired differences: ``+0.123 [+0.100, +0.146]`` per size."""
    def cell(row: Dict[str, Any], name: str) -> str:
        mean, lo, hi = (row[f"{name}_{p}"] for p in ("mean", "lo", "hi"))
        if mean is None:
            return "n/a"
        return f"{mean:+.3f}" + ("" if lo is None else f" [{lo:+.3f}, {hi:+.3f}]")

    headers = ["train size", f"both - {labels[0]}", f"both - {labels[1]}"]
    return headers, [[str(row["train_size"]), cell(row, "vs_encoding"), cell(row, "vs_scores")] for row in paired]


def _digest(indices: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(",".join(map(str, indices.tolist())).encode()).hexdigest()


def summary_table(summary: Sequence[Dict[str, Any]],
                  statistic: str = "kendall_tau") -> Tuple[List[str], List[List[str]]]:
    """(headers, rows): one row per training size, one column per feature set, each cell
    ``mean [lo, hi]`` of ``statistic``; for the printed table and reports (the scores' own
    rankings, train size 0, are ``baseline_text``'s)."""
    summary = [row for row in summary if not is_baseline(row)]
    sets = list(dict.fromkeys(str(row["feature_set"]) for row in summary))
    sizes = sorted({int(row["train_size"]) for row in summary})
    cell = {(str(r["feature_set"]), int(r["train_size"])): r for r in summary}
    rows = []
    for size in sizes:
        line = [str(size)]
        for name in sets:
            row = cell.get((name, size))
            line.append(_interval_text(row, statistic) if row is not None else "")
        rows.append(line)
    return ["train size", *(_short_label(cell[(name, sizes[0])]) if (name, sizes[0]) in cell else name
                            for name in sets)], rows


def _short_label(row: Dict[str, Any]) -> str:
    """A feature set's label with more than NAMED_FEATURES scores counted: ``onehot + 7 scores``."""
    names = [f for f in str(row.get("features", "none")).split("+") if f not in ("", "none", "nan")]
    if len(names) <= NAMED_FEATURES:
        return str(row["feature_set"])
    encoding = str(row.get("encoding", "none"))
    counted = f"{len(names)} scores"
    return counted if encoding in ("", "none", "nan") else f"{encoding} + {counted}"


def _interval_text(row: Dict[str, Any], statistic: str) -> str:
    mean, lo, hi = (float(row[f"{statistic}_{p}"]) for p in ("mean", "lo", "hi"))
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if not math.isnan(lo) else "")


def printed_table(result: PredictResult, fmt: str = "text") -> str:
    """What `nasbench predict` prints: the summary table (with its title as text), each score's own
    tau on the test set, and with --compare the paired differences."""
    from nasbench_cli.analysis.tables import render_table

    parts = [render_table(*summary_table(result.summary), fmt)]
    if fmt == "text":
        parts.insert(0, result.title)
    baseline = baseline_text(result.summary)
    if baseline:
        parts.append(("% " if fmt == "latex" else "") + baseline)
    if result.paired:
        sets = [str(row["feature_set"]) for row in result.summary if not is_baseline(row)]
        encoding, _, scores = list(dict.fromkeys(sets))
        parts.append(("% " if fmt == "latex" else "") + "what the scores add: tau(both) minus tau of each alone, "
                     "paired on the same training nets, mean [95% interval] over trials")
        parts.append(render_table(*paired_table(result.paired, (encoding, scores)), fmt))
    return "\n".join(parts)


def result_frames(result: PredictResult):
    """(trials, summary) DataFrames equal to ``pandas.read_csv`` of the CSVs `nasbench predict`
    writes: the CSV cells read back, so the numbers are the files' (summary rounded to 6 decimals)."""
    import io

    import pandas as pd

    def frame(columns: Sequence[str], rows: Sequence[Dict[str, str]]):
        text = ",".join(columns) + "\n" + "".join(",".join(row[c] for c in columns) + "\n" for row in rows)
        return pd.read_csv(io.StringIO(text))

    return frame(result.columns, result.rows), frame(result.summary_columns, result.summary_rows)
