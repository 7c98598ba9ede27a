"""The scoring loop: architectures -> networks -> proxy scores, computed once and kept in the store.

Each architecture's networks are built from a seed derived from (run seed, architecture index),
and each proxy takes a prefix of one seeded batch, so a score depends only on its store context
(space, dataset, proxy, batch size, seed, head, split, code version) and the architecture: a
resumed, reordered or partial run, or another command, reuses it unchanged.

Every score is committed to the store (nasbench_cli/store.py) as soon as it is computed: a killed
run loses at most the architecture it was on, and rerunning computes only what is missing.
"""

from __future__ import annotations

import copy
import csv
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch

from nasbench_cli.errors import UsageError
from torch import nn

import nasbench_cli
from nasbench_cli.proxies.base import Batch, ProxyContext, ProxySpec
from nasbench_cli.runtime import derive_seed
from nasbench_cli.spaces.base import SearchSpace
from nasbench_cli.store import ScoreContext, ScoreStore, StoredScore

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class ScoreSettings:
    """Everything that decides a row's values, for the requested set of proxies."""

    space: str
    dataset: str
    proxies: Tuple[str, ...]
    seed: int
    batch_size: Optional[int]  # None: each proxy's reference batch size
    head: str  # "auto" (each proxy's reference head), "one" or "dataset"
    split: str

    def key(self) -> Dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def proxy_batch_size(spec: ProxySpec, settings: ScoreSettings) -> int:
    """The batch size a proxy runs with: --batch-size, else the proxy's reference size."""
    return settings.batch_size or spec.batch_size or 64


def resolved_head(spec: ProxySpec, settings: ScoreSettings) -> str:
    """"one" or "dataset": the run's --head, or the proxy's reference head for "auto"."""
    return spec.head if settings.head == "auto" else settings.head


def head_classes(spec: ProxySpec, settings: ScoreSettings, num_classes: int) -> int:
    """Width of the classifier head for a proxy (NASWOT's authors use a single unit)."""
    return 1 if resolved_head(spec, settings) == "one" else num_classes


def score_context(spec: ProxySpec, settings: ScoreSettings) -> ScoreContext:
    """The store key of ``spec``'s scores under ``settings`` (all but the architecture)."""
    return ScoreContext(
        space=settings.space,
        dataset=settings.dataset,
        proxy=spec.name,
        batch_size=proxy_batch_size(spec, settings) if spec.needs_data else 0,
        seed=settings.seed,
        head=resolved_head(spec, settings),
        split=settings.split if spec.needs_data else "",
        code_version=nasbench_cli.__version__,
        proxy_version=getattr(spec, "version", "1"),
    )


def format_value(value: float) -> str:
    """Shortest round-trip text of a float ('-inf', 'nan' kept), identical across runs."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return repr(float(value))


class ProxyResult(NamedTuple):
    """One proxy's outcome on one architecture: value (NaN on failure), seconds, error text."""

    value: float
    seconds: float
    error: Optional[str] = None


class ArchitectureScorer:
    """Scores one architecture with several proxies, sharing construction and the data batch."""

    def __init__(
        self,
        space: SearchSpace,
        specs: Sequence[ProxySpec],
        batch: Batch,
        num_classes: int,
        settings: ScoreSettings,
        device: torch.device,
    ):
        self.space, self.specs, self.batch = space, list(specs), batch
        self.num_classes, self.settings, self.device = num_classes, settings, device
        for spec in self.specs:
            wanted = set(dict(spec.build_options))
            if wanted and not wanted <= set(space.build_option_names):
                raise UsageError(
                    f"proxy {spec.name} needs networks built with {sorted(wanted)}, which space "
                    f"{space.name} cannot build; it applies to spaces whose builder takes those options"
                )

    def _network(self, index: int, spec: ProxySpec, built: Dict[tuple, nn.Module]) -> nn.Module:
        # the space's reference variant for this proxy (e.g. NASWOT's reduced NB101), then the
        # proxy's own needs (e.g. linear_regions' thin network)
        options = tuple(sorted({**self.space.build_options(spec.name), **dict(spec.build_options)}.items()))
        key = (spec.bn, head_classes(spec, self.settings, self.num_classes), options)
        if key not in built:
            # same seed for every variant: BN and head differences leave the other weights equal
            torch.manual_seed(derive_seed(self.settings.seed, "arch", index))
            built[key] = self.space.build(index, key[1], bn=key[0], **dict(options))
        # each proxy gets its own copy: one proxy cannot change what another sees
        return copy.deepcopy(built[key]).to(self.device, DTYPES[spec.dtype])

    def _batch_for(self, spec: ProxySpec) -> Batch:
        size = proxy_batch_size(spec, self.settings)
        dtype = DTYPES[spec.dtype]
        return Batch(self.batch.inputs[:size].to(dtype), self.batch.targets[:size])

    def score_proxies(self, index: int, names: Optional[Sequence[str]] = None) -> Dict[str, ProxyResult]:
        """Proxy name -> result for ``names`` (all when None); a failing proxy gives NaN and its error.

        A proxy's seconds include building the network when it is the first to need it.
        """
        wanted = None if names is None else set(names)
        built: Dict[tuple, nn.Module] = {}
        results: Dict[str, ProxyResult] = {}
        for spec in self.specs:
            if wanted is not None and spec.name not in wanted:
                continue
            ctx = ProxyContext(
                num_classes=head_classes(spec, self.settings, self.num_classes),
                device=self.device,
                seed=derive_seed(self.settings.seed, "proxy", spec.name, index),
                input_shape=tuple(self.batch.inputs.shape[1:]),
            )
            start = time.perf_counter()
            try:
                model = self._network(index, spec, built)
                model.train()
                value, error = float(spec.fn(model, self._batch_for(spec), ctx)), None
            except (RuntimeError, ValueError, ArithmeticError) as err:
                text = str(err).splitlines()[0] if str(err) else ""
                value, error = float("nan"), f"{type(err).__name__}: {text}"
            results[spec.name] = ProxyResult(value, time.perf_counter() - start, error)
        return results

    def score(self, index: int) -> Tuple[Dict[str, float], Dict[str, str]]:
        """Proxy name -> value, and proxy name -> error message for those that failed (NaN)."""
        results = self.score_proxies(index)
        return ({n: r.value for n, r in results.items()},
                {n: r.error for n, r in results.items() if r.error is not None})


def write_rows_atomically(out: Path, columns: Sequence[str], rows: Iterable[Dict[str, str]]) -> None:
    """Write a CSV via a temporary file and rename, so readers never see half a table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    os.replace(tmp, out)


@dataclass
class RunSummary:
    """What a scoring run did, for the provenance record."""

    rows: int = 0
    resumed_rows: int = 0  # rows whose every score came from the store
    computed_scores: int = 0
    failures: Dict[str, Dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0


def run_scoring(
    scorer: ArchitectureScorer,
    indices: Sequence[int],
    store: ScoreStore,
    restart: bool,
    timing: bool,
    progress: Callable[..., Iterable],
    on_failure: Callable[[str], None],
    device: Optional[str] = None,
) -> Tuple[List[Dict[str, str]], RunSummary]:
    """Rows for ``indices`` in order, computing (and storing) only scores the store lacks.

    ``restart``: recompute every score of the selection and overwrite the stored ones.
    """
    space = scorer.space
    contexts = {spec.name: score_context(spec, scorer.settings) for spec in scorer.specs}
    distinct = list(dict.fromkeys(int(i) for i in indices))
    known: Dict[str, Dict[int, StoredScore]] = {
        name: ({} if restart else store.get_many(ctx, distinct, arch_of=space.arch_str))
        for name, ctx in contexts.items()
    }
    todo = [i for i in distinct if any(i not in known[name] for name in contexts)]
    summary = RunSummary(resumed_rows=len(distinct) - len(todo))
    start = time.perf_counter()
    for index in progress(todo, initial=summary.resumed_rows):
        missing = [name for name in contexts if index not in known[name]]
        arch = space.arch_str(index)
        for name, result in scorer.score_proxies(index, missing).items():
            store.put(contexts[name], index, result.value, result.seconds, result.error, arch=arch,
                      device=device, replace=restart)
            known[name][index] = StoredScore(result.value, result.seconds, result.error, arch)
            summary.computed_scores += 1
            if result.error is not None:
                on_failure(f"{space.name} {index} {name}: {result.error} (recorded as nan)")
    summary.seconds = time.perf_counter() - start
    rows = []
    for index in indices:
        row = {"index": str(index), "arch": space.arch_str(index)}
        seconds = 0.0
        for name in contexts:
            stored = known[name][index]
            row[name] = format_value(stored.value)
            seconds += stored.seconds or 0.0
            if stored.error is not None:
                summary.failures.setdefault(name, {})[str(index)] = stored.error
        if timing:
            # the time the scores took when they were computed, resumed or not
            row["seconds"] = f"{seconds:.4f}"
        rows.append(row)
    summary.rows = len(rows)
    return rows, summary


def make_scorer(space: SearchSpace, dataset, specs: Sequence[ProxySpec], settings: ScoreSettings,
                data_dir: Path, device: torch.device):
    """An ArchitectureScorer with the run's seeded batch (large enough for every proxy).

    Returns the scorer and the batch's ImageSet (files and note, for provenance).
    """
    from nasbench_cli.datasets import make_batch

    sizes = [proxy_batch_size(spec, settings) for spec in specs if spec.needs_data]
    largest = max(sizes) if sizes else 2
    batch, images = make_batch(dataset, data_dir, largest, derive_seed(settings.seed, "batch"),
                               split=settings.split, device=device, with_source=True)
    return ArchitectureScorer(space, specs, batch, dataset.num_classes, settings, device), images


class ProxyScores:
    """One proxy's scores over a whole space: stored ones loaded in one query, missing ones computed.

    ``rank_values`` orients scores so that higher is better, with NaN (a failed proxy) and -inf
    (a singular NASWOT kernel) both the worst possible value.
    """

    def __init__(self, store: ScoreStore, context: ScoreContext, space: SearchSpace, direction: str,
                 make_scorer: Callable[[], ArchitectureScorer], device: Optional[str] = None):
        self.store, self.context, self.space, self.direction = store, context, space, direction
        self._make_scorer, self._scorer, self.device = make_scorer, None, device
        size = len(space)
        self.values = np.full(size, np.nan)
        self.seconds = np.zeros(size)
        self.known = np.zeros(size, dtype=bool)
        self.computed = 0
        stored = store.get_many(context, None, arch_of=space.arch_str)
        for index, score in stored.items():
            if 0 <= index < size:
                self._set(index, score.value, score.seconds)
        self.loaded = len(stored)

    def _set(self, index: int, value: float, seconds: Optional[float]) -> None:
        self.values[index] = value
        self.seconds[index] = seconds or 0.0
        self.known[index] = True

    def missing(self, indices: Iterable[int]) -> List[int]:
        """Distinct indices (first-seen order) without a score yet."""
        return [i for i in dict.fromkeys(int(i) for i in indices) if not self.known[i]]

    def ensure(self, indices: Iterable[int], progress: Optional[Callable[..., Iterable]] = None,
               on_failure: Optional[Callable[[str], None]] = None) -> int:
        """Compute and store the scores ``indices`` lack; returns how many were computed."""
        todo = self.missing(indices)
        if not todo:
            return 0
        if self._scorer is None:
            self._scorer = self._make_scorer()  # loads the dataset only when something is missing
        name = self.context.proxy
        for index in (progress(todo) if progress else todo):
            result = self._scorer.score_proxies(index, [name])[name]
            self.store.put(self.context, index, result.value, result.seconds, result.error,
                           arch=self.space.arch_str(index), device=self.device)
            self._set(index, result.value, result.seconds)
            self.computed += 1
            if result.error is not None and on_failure is not None:
                on_failure(f"{self.space.name} {index} {name}: {result.error} (counted as the worst score)")
        return len(todo)

    def rank_values(self, indices: Sequence[int]) -> np.ndarray:
        """Scores of ``indices`` (computing missing ones), higher is better, NaN/-inf -> -inf."""
        idx = np.asarray(indices, dtype=np.int64)
        if not self.known[idx].all():
            self.ensure(idx.tolist())
        values = self.values[idx]
        if self.direction == "min":
            values = -values
        return np.where(np.isnan(values), -np.inf, values)

    def cost(self, indices: Sequence[int]) -> float:
        """Seconds the scores of ``indices`` took when computed (each listed index counted)."""
        return float(self.seconds[np.asarray(indices, dtype=np.int64)].sum())
