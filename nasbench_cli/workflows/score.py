"""The score job, written once: select architectures, align the ground truth, compute through the
engine (under several seeds if asked), join accuracies, and say what every column is and where
every number came from. `nasbench score` and ``nasbench_cli.api.score`` are thin faces of it.

``run_score(ScoreJob) -> ScoreResult``: no Click, no files written; the caller writes the rows and
the provenance record (``build_provenance(arguments, **result.provenance)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from nasbench_cli.engine.rows import join_accuracies, score_rows, seconds_column
from nasbench_cli.errors import UsageError
from nasbench_cli.output import ROLE_TIMING, format_float, score_csv_roles
from nasbench_cli.provenance import file_digests
from nasbench_cli.search.base import check_alignment
from nasbench_cli.selection import DEFAULT_SAMPLE, select_indices
from nasbench_cli.options import RunConfig
from nasbench_cli.session import ScoringSession, parse_proxy_list  # noqa: F401  (parse_proxy_list: for the faces)

ArchRef = Union[int, str]


@dataclass(frozen=True)
class ScoreJob:
    """What to score: the run's options, which architectures, and what to add to the rows."""

    run: RunConfig
    n: Optional[int] = None  # sampled with run.score_seed (100 when nothing else selects)
    everything: bool = False
    arch_file: Optional[Path] = None  # a file of strings or indices ("-": stdin)
    archs: Optional[Sequence[ArchRef]] = None  # indices and/or strings given directly
    ground_truth: Optional[Path] = None  # a compact table to join, else the space's own
    restart: bool = False
    seeds: Tuple[int, ...] = ()  # several init/batch seeds: mean, std and per-seed columns
    #: how a proxy column combines the seeds: "mean" of the values, or "rank" (mean of per-seed ranks)
    seed_aggregate: str = "mean"
    timing: bool = False


@dataclass(frozen=True)
class ScorePlan:
    """What a run will read, known before it computes anything (for the caller's checks)."""

    #: the files the run reads (store, ground truth, arch file, data files): never an output
    inputs: List[Any]
    #: the CSV `nasbench score` writes without --out
    default_out: Path


@dataclass
class ScoreResult:
    """The rows `nasbench score` writes, their columns and roles, and the provenance record."""

    columns: List[str]
    rows: List[Dict[str, str]]
    roles: Dict[str, Dict[str, str]]
    failures: Dict[str, Dict[int, str]]
    #: the sidecar's fields after ``arguments`` (``build_provenance(arguments, **provenance)``)
    provenance: Dict[str, Any] = field(default_factory=dict)
    #: resolved values the sidecar's ``arguments`` record (data dir, dataset, proxy columns)
    arguments: Dict[str, Any] = field(default_factory=dict)
    resumed: int = 0
    has_truth: bool = False
    dataset: str = ""


#: architectures to compute from which a run says what it will cost before it starts
ESTIMATE_FROM = 50
#: proxies named one by one in a default output name; more are counted ("7proxies")
NAMED_PROXIES = 3


def default_output(job: ScoreJob, dataset: str) -> Path:
    """The CSV `nasbench score` writes without --out; its name says what was computed (space,
    dataset, proxies, selection, seeds), so runs of different things never share a default file:
    ``results/score-nb201-cifar10-naswot-n300-seed0.csv``."""
    from nasbench_cli.proxies import PROXIES

    proxies = list(job.run.proxies)
    if len(proxies) == len(PROXIES.names()) and set(proxies) == set(PROXIES.names()):
        what = "allproxies"
    elif len(proxies) <= NAMED_PROXIES:
        what = "+".join(proxies)
    else:
        what = f"{len(proxies)}proxies"
    if job.everything:
        selection = "all"
    elif job.arch_file is not None:
        selection = "archs" if str(job.arch_file) == "-" else f"archs-{Path(job.arch_file).stem}"
    elif job.archs is not None:
        selection = f"archs{len(job.archs)}"
    else:
        selection = f"n{job.n if job.n is not None else DEFAULT_SAMPLE}"
    seeds = f"seed{job.run.score_seed}" + (f"-seeds{'-'.join(map(str, job.seeds))}" if job.seeds else "") \
        + ("-rank" if job.seeds and job.seed_aggregate == "rank" else "")
    return Path("results") / f"score-{job.run.space}-{dataset}-{what}-{selection}-{seeds}.csv"


def check_seeds(seeds: Sequence[int]) -> Tuple[int, ...]:
    """Two or more distinct seeds in 0..2**63-1 (or none); else a UsageError."""
    seeds = tuple(int(s) for s in seeds)
    if seeds and (len(seeds) < 2 or len(set(seeds)) != len(seeds) or any(not 0 <= s < 2**63 for s in seeds)):
        raise UsageError(f"--seeds '{','.join(map(str, seeds))}': give two or more distinct seeds in 0..2**63-1")
    return seeds


def load_accuracies(search_space, truth_path: Optional[Path]):
    """Ground truth for the rows: ``truth_path``, else the space's own table (None if absent)."""
    from nasbench_cli.groundtruth import GroundTruth

    return GroundTruth.read(truth_path) if truth_path is not None else search_space.ground_truth()


def select(job: ScoreJob, session: ScoringSession) -> List[int]:
    """The job's architecture indices, in order, each once."""
    space = session.space
    if job.archs is not None:
        if job.n is not None or job.everything or job.arch_file is not None:
            raise UsageError("give archs, or n / all / an arch file, not several")
        indices = list(dict.fromkeys(space.parse_ref(str(a)) for a in job.archs))
        if not indices:
            raise UsageError("archs lists no architectures")
        return indices
    return select_indices(space, job.run.score_seed, job.n, job.everything, job.arch_file)


def run_score(job: ScoreJob, before_compute: Optional[Callable[[ScorePlan], None]] = None) -> ScoreResult:
    """Score the job's architectures; ``before_compute(plan)`` runs once the data is found and
    before any score is computed (the CLI checks its --out there)."""
    seeds = check_seeds(job.seeds)
    session = ScoringSession(job.run)
    indices = select(job, session)
    truth = load_accuracies(session.space, job.ground_truth)  # a damaged table fails before any scoring
    if truth is not None:
        check_alignment(session.space, truth)  # another space's table must not be joined by index
    with session:
        engine = session.engine
        _, images = engine.data_scorer()  # loads the batch: missing data fails before any worker starts
        inputs = [session.store_name, truth.source if truth is not None else None, job.arch_file,
                  *(session.data_dir / name for name in images.files)]
        if before_compute is not None:
            before_compute(ScorePlan(inputs, default_output(job, session.dataset.name)))
        known, todo = engine.plan(indices, job.restart)
        resumed = len(dict.fromkeys(indices)) - len(todo)
        if len(todo) >= ESTIMATE_FROM:
            estimate = engine.estimate(todo)
            if estimate is not None:
                session.notify(estimate.describe())
        engine.compute(todo, known, job.restart, initial=resumed)
    rows, failures = score_rows(session.space, indices, known, job.timing)
    names = list(job.run.proxies)
    score_columns = {s.name: s.direction for s in session.specs}
    metadata: List[str] = []
    if seeds:
        per_seed = {seed: _known_under_seed(job.run, seed, indices, job.restart) for seed in seeds}
        score_columns, metadata = add_seed_columns(rows, per_seed, session.specs, job.seed_aggregate)
        names = list(score_columns) + metadata
    accuracy_columns, metadata_columns = join_accuracies(rows, truth, session.dataset.name)
    timing_columns = ["seconds", *map(seconds_column, job.run.proxies)] if job.timing else []
    columns = ["index", "arch", *names, *accuracy_columns, *metadata_columns, *timing_columns]
    roles = score_csv_roles(score_columns, accuracy_columns, [*metadata, *metadata_columns], job.timing)
    roles.update({name: {"role": ROLE_TIMING} for name in timing_columns})
    provenance = dict(
        seed=job.run.score_seed,
        **session.device_record(),
        **session.proxy_record(),
        computed_scores=engine.report.computed_scores,
        data_files=list(images.files),
        data_sha256=file_digests(session.data_dir / name for name in images.files),
        data_note=images.note,
        index_order=session.space.index_order,
        ground_truth=str(truth.source) if truth is not None else None,
        columns=roles,
        score_seeds=list(seeds) if seeds else [job.run.score_seed],
        **({"seed_aggregate": SEED_AGGREGATES[job.seed_aggregate]} if seeds else {}),
        rows=len(rows),
        resumed_rows=resumed,
        failures=failures,
        seconds=round(engine.report.seconds, 3),
    )
    arguments = {"data_dir": session.data_dir, "dataset": session.dataset.name, "proxies": names}
    return ScoreResult(columns, rows, roles, failures, provenance, arguments, resumed, truth is not None,
                       session.dataset.name)


def _known_under_seed(config: RunConfig, seed: int, indices, restart: bool):
    """Every proxy's stored-or-computed scores of ``indices`` with init/batch seed ``seed``."""
    with ScoringSession(replace(config, score_seed=seed)) as session:
        engine = session.engine
        known, todo = engine.plan(indices, restart)
        engine.compute(todo, known, restart, initial=len(dict.fromkeys(indices)) - len(todo))
    return known


#: --seed-aggregate choices -> what the proxy column then holds (stated in the provenance)
SEED_AGGREGATES = {
    "mean": "mean of the per-seed values",
    "rank": "mean of the per-seed ranks among this run's networks (1 = lowest value, ties averaged, "
            "-inf lowest; NaN where a seed failed); comparable within this CSV only",
}


def check_seed_aggregate(name: str) -> str:
    """``name`` if it is a seed aggregation, else a one-line UsageError listing them."""
    if name not in SEED_AGGREGATES:
        raise UsageError(f"seed aggregation '{name}' is not one of {', '.join(SEED_AGGREGATES)}")
    return name


def _seed_ranks(values: np.ndarray) -> np.ndarray:
    """Per column (seed), the average ranks of the rows' values; NaN stays NaN."""
    from scipy import stats

    ranks = np.full(values.shape, np.nan)
    for column in range(values.shape[1]):
        defined = ~np.isnan(values[:, column])
        ranks[defined, column] = stats.rankdata(values[defined, column])
    return ranks


def add_seed_columns(rows, per_seed, specs, aggregate: str = "mean") -> Tuple[Dict[str, str], List[str]]:
    """Replace each proxy's value in ``rows`` by its mean over seeds (``aggregate`` "rank": the
    mean of its per-seed ranks among the rows, so that a multiplicative proxy such as synflow,
    whose values span 1e19..1e49 across seeds, is not decided by one seed) and add
    ``<proxy>@seed<k>`` (scores) and ``<proxy>:std`` (population std of the values); returns the
    score columns with directions and the std columns. A proxy failing under one seed gives NaN."""
    check_seed_aggregate(aggregate)
    if aggregate == "rank":
        ranked = {spec.name: _seed_ranks(np.array(
            [[per_seed[seed][spec.name][int(row["index"])].value for seed in per_seed] for row in rows],
            dtype=np.float64).reshape(len(rows), len(per_seed))) for spec in specs}
    score_columns: Dict[str, str] = {}
    std_columns = []
    for spec in specs:
        score_columns[spec.name] = spec.direction
        for seed in per_seed:
            score_columns[f"{spec.name}@seed{seed}"] = spec.direction
        std_columns.append(f"{spec.name}:std")
    for number, row in enumerate(rows):
        index = int(row["index"])
        for spec in specs:
            values = np.array([per_seed[seed][spec.name][index].value for seed in per_seed], dtype=np.float64)
            for seed, value in zip(per_seed, values):
                row[f"{spec.name}@seed{seed}"] = format_float(value)
            combined = ranked[spec.name][number] if aggregate == "rank" else values
            row[spec.name] = format_float(float(combined.mean()))  # NaN if a seed failed; -inf kept (mean)
            row[f"{spec.name}:std"] = format_float(float(values.std()) if np.isfinite(values).all() else float("nan"))
    return score_columns, std_columns
