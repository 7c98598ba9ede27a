"""The scoring engine's driver: plan what the store lacks, have an executor compute it, store it.

    Engine.plan(indices)  ->  (architecture, missing proxies) items   (one store query per proxy)
    make_chunks           ->  chunks
    Executor.run(chunks)  ->  finished chunks, in any order            (sequential | local | ray)
    driver                ->  store.put_many per chunk and proxy      (the only writer of the store)

Every score depends only on its store context and its architecture (networks are seeded from
(seed, index), the batch from the seed, and every executor computes with the same number of torch
threads), so the values, and the CSV built from them, do not depend on the executor, the worker
count or the order chunks finish in. A chunk is committed as soon as it comes back: a killed
driver loses only chunks in flight, and a rerun computes only what is missing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from nasbench_cli.engine.config import EngineConfig
from nasbench_cli.engine.executors import EXECUTORS, ExecutorOptions, ExecutorReport, create_executor
from nasbench_cli.engine.work import ChunkResult, ScorerSpec, build_scorer, chunk_size, make_chunks
from nasbench_cli.proxies.base import ProxySpec
from nasbench_cli.failures import is_environment_message
from nasbench_cli.proxy_settings import ScoreSettings
from nasbench_cli.scoring import ArchitectureScorer, ProxyResult
from nasbench_cli.plugins import manifest
from nasbench_cli.store_keys import UNSTORED_PREFIX, score_context
from nasbench_cli.spaces.base import SearchSpace
from nasbench_cli.store import ScoreContext, ScoreStore, StoredScore

#: "auto" runs in this process when fewer architectures than this many per worker are to be
#: computed: starting a worker (import torch, load the batch) costs seconds
AUTO_MIN_PER_WORKER = 4

Known = Dict[str, Dict[int, StoredScore]]
Item = Tuple[int, Tuple[str, ...]]


@dataclass
class EngineReport:
    """What the engine did, for provenance."""

    executor: str = ""
    computed_scores: int = 0
    chunks: int = 0
    chunk_size: int = 0
    seconds: float = 0.0
    #: seconds from the start of computing to the first finished chunk (workers' start included)
    first_result_s: Optional[float] = None
    executor_info: Dict[str, object] = field(default_factory=dict)
    executor_report: ExecutorReport = field(default_factory=ExecutorReport)

    def describe(self) -> Dict[str, object]:
        return {**self.executor_info, "executor_chosen": self.executor, "chunks": self.chunks,
                "chunk_size": self.chunk_size, "computed_scores": self.computed_scores,
                "retried_chunks": self.executor_report.retried_chunks,
                "restarted_workers": self.executor_report.restarted_workers,
                "oom_retries": self.executor_report.oom_retries, "seconds": round(self.seconds, 3),
                "first_result_s": None if self.first_result_s is None else round(self.first_result_s, 3)}


@dataclass(frozen=True)
class CostEstimate:
    """A run's cost before it starts: worker-seconds from the store's median seconds per proxy."""

    architectures: int
    worker_seconds: float
    workers: int
    per_proxy: Dict[str, Optional[float]]  # median seconds per architecture; None: not timed yet

    def describe(self) -> str:
        timed = ", ".join(f"{name} {value:.2f} s" for name, value in self.per_proxy.items() if value is not None)
        untimed = [name for name, value in self.per_proxy.items() if value is None]
        wall = self.worker_seconds / max(1, self.workers)
        text = (f"estimated cost: {self.architectures} architectures x ({timed} per architecture, medians "
                f"measured in the store) = {_duration(self.worker_seconds)} of worker time, about "
                f"{_duration(wall)} on {self.workers} worker(s)")
        return text + (f"; not yet timed, so not counted: {', '.join(untimed)}" if untimed else "")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


Progress = Callable[[int, int], object]  # (total, initial) -> object with update(n) and close()


class Engine:
    """Scores architectures of one space under one ScoreSettings, through the store."""

    def __init__(self, space: SearchSpace, settings: ScoreSettings, specs: Sequence[ProxySpec],
                 data_dir: Optional[Path], store: Union[ScoreStore, Callable[[], ScoreStore]],
                 config: EngineConfig = EngineConfig(),
                 progress: Optional[Progress] = None, on_failure: Optional[Callable[[str], None]] = None):
        self.space, self.settings, self.specs = space, settings, list(specs)
        # a callable is called when the store is first needed: a run that fails its checks (missing
        # data, a bad --out) before then leaves no store file behind
        self._store_source = store
        self.data_dir, self.config = data_dir, config
        self.progress, self.on_failure = progress, on_failure
        self._contexts: Optional[Dict[str, ScoreContext]] = None
        self.report = EngineReport()
        self._scorer: Optional[ArchitectureScorer] = None
        self._images = None
        self._plugins: Optional[tuple] = None

    @property
    def store(self) -> ScoreStore:
        if not isinstance(self._store_source, ScoreStore):
            self._store_source = self._store_source()
        return self._store_source

    @property
    def contexts(self) -> Dict[str, ScoreContext]:
        """Each proxy's store key; it includes a fingerprint of the batch the proxy sees, so the
        batch is loaded (and missing data reported) on first use."""
        if self._contexts is None:
            scorer, _ = self.data_scorer()
            self._contexts = {s.name: score_context(s, self.settings, scorer.data_fingerprint(s))
                              for s in self.specs}
        return self._contexts

    @property
    def store_opened(self) -> bool:
        return isinstance(self._store_source, ScoreStore)

    # --- what travels -----------------------------------------------------------------------------
    def spec(self) -> ScorerSpec:
        # a data dir that does not exist here means "no data files" to a worker anywhere too
        data_dir = str(self.data_dir) if self.data_dir is not None and Path(self.data_dir).is_dir() else None
        if self._plugins is None:  # checked (a plugin file changed since loaded) and pickled once
            self._plugins = manifest(self.specs)
        return ScorerSpec(self.settings, data_dir,
                          self.config.device_list[0], self.config.threads, type(self.space).__module__,
                          self.space.index_order, self._plugins)

    def local_scorer(self) -> Tuple[ArchitectureScorer, object]:
        """This process's scorer on the run's device and the batch's ImageSet, built once."""
        if self._scorer is None or self._scorer.device != torch.device(self.config.device_list[0]):
            self._scorer, self._images = build_scorer(self.spec())
        return self._scorer, self._images

    def data_scorer(self) -> Tuple[ArchitectureScorer, object]:
        """A scorer in this process that reads the batch (checking the data) without touching a
        GPU: when workers score, the driver then holds no CUDA context beside theirs. The batch is
        built on the CPU on every device (datasets.make_batch), so its fingerprint is the same."""
        if self._scorer is None:  # the run's own data dir even when absent, so that a dataset names it
            spec = replace(self.spec(), data_dir=None if self.data_dir is None else str(self.data_dir))
            self._scorer, self._images = build_scorer(spec.on_device("cpu"))
        return self._scorer, self._images

    # --- plan -------------------------------------------------------------------------------------
    def plan(self, indices: Sequence[int], restart: bool = False) -> Tuple[Known, List[Item]]:
        """Stored scores of ``indices`` per proxy, and the (index, proxies) items still to compute."""
        distinct = list(dict.fromkeys(int(i) for i in indices))
        known: Known = {name: ({} if restart else self.store.get_many(ctx, distinct, arch_of=self.space.arch_str))
                        for name, ctx in self.contexts.items()}
        for name, ctx in self.contexts.items():
            # a failure of the machine stored by an earlier version is not a score: compute it again
            stale = [i for i, s in known[name].items() if s.error is not None and is_environment_message(s.error)]
            if stale:
                self.store.delete(ctx, stale)
                for index in stale:
                    del known[name][index]
        todo = []
        for index in distinct:
            missing = tuple(name for name in self.contexts if index not in known[name])
            if missing:
                todo.append((index, missing))
        return known, todo

    # --- compute ----------------------------------------------------------------------------------
    def choose_executor(self, items: int) -> str:
        """The executor that runs ``items`` architectures ("auto": local unless too few)."""
        if self.config.executor != "auto":
            return self.config.executor
        workers = self.config.worker_count()
        return "local" if workers > 1 and items >= AUTO_MIN_PER_WORKER * workers else "sequential"

    def workers_of(self, name: str) -> int:
        """Workers executor ``name`` runs: one for an executor computing in this process."""
        return 1 if EXECUTORS.get(name).in_process else self.config.worker_count()

    def compute(self, todo: Sequence[Item], known: Optional[Known] = None, restart: bool = False,
                initial: int = 0) -> Known:
        """Compute ``todo``, write every chunk to the store as it arrives; returns ``known`` updated."""
        known = known if known is not None else {name: {} for name in self.contexts}
        if not todo:
            return known
        name = self.choose_executor(len(todo))
        workers = self.workers_of(name)
        size = chunk_size(len(todo), workers, self.seconds_per_item(todo))
        chunks = make_chunks(list(todo), size)
        options = ExecutorOptions.derive(self.config, executor=name, workers=workers)
        # an executor computing in this process reuses this process's scorer (its batch is loaded)
        executor = create_executor(name, options, local_scorer=lambda: self.local_scorer()[0])
        self.report.executor, self.report.chunks, self.report.chunk_size = name, len(chunks), size
        bar = self.progress(len(todo) + initial, initial) if self.progress else None
        start = time.perf_counter()
        try:
            with executor:
                for result in executor.run(self.spec(), chunks):
                    if self.report.first_result_s is None:
                        self.report.first_result_s = time.perf_counter() - start
                    self._store(result, known, restart)
                    if bar is not None:
                        bar.update(len(result.chunk))
        finally:
            self.report.seconds += time.perf_counter() - start
            self.report.executor_report = executor.report
            self.report.executor_info = executor.describe()
            if bar is not None:
                bar.close()
        return known

    def _store(self, result: ChunkResult, known: Known, restart: bool) -> None:
        by_proxy: Dict[str, list] = {}
        for rec in result.records:
            arch = self.space.arch_str(rec.index)
            by_proxy.setdefault(rec.proxy, []).append((rec.index, rec.value, rec.seconds, rec.error, arch))
            known[rec.proxy][rec.index] = StoredScore(rec.value, rec.seconds, rec.error, arch)
            if rec.error is not None and self.on_failure is not None:
                self.on_failure(f"{self.space.name} {rec.index} {rec.proxy}: {rec.error} (recorded as nan)")
        for proxy, rows in by_proxy.items():
            self.report.computed_scores += len(rows)
            if self.contexts[proxy].code.startswith(UNSTORED_PREFIX):
                continue  # code without a faithful fingerprint: never stored (store_keys.unstored_reason)
            self.store.put_many(self.contexts[proxy], rows, device=self.config.device_list[0], replace=restart)

    def score(self, indices: Sequence[int], restart: bool = False) -> Known:
        """Every proxy's score of every index: the store's, and the rest computed now."""
        known, todo = self.plan(indices, restart)
        initial = len(dict.fromkeys(int(i) for i in indices)) - len(todo)
        return self.compute(todo, known, restart, initial=initial)

    def measured_seconds(self, name: str, at_least: int = 5) -> Optional[float]:
        """Median seconds per architecture of proxy ``name`` in this run's store context (network
        build included), from at least ``at_least`` timed scores; None when fewer are stored."""
        seconds = [s.seconds for s in self.store.get_many(self.contexts[name], None).values()
                   if s.seconds is not None and s.error is None]
        return float(np.median(seconds)) if len(seconds) >= at_least else None

    def seconds_per_item(self, todo: Sequence[Item]) -> Optional[float]:
        """Measured seconds of the costliest item of ``todo`` (its proxies' medians summed, from
        this run's store contexts); None while none of its proxies has been timed."""
        names = {name for _, item_names in todo for name in item_names}
        per_proxy = {name: self.measured_seconds(name) for name in sorted(names)}
        if all(value is None for value in per_proxy.values()):
            return None
        return max(sum(per_proxy[name] or 0.0 for name in item_names) for _, item_names in todo)

    def estimate(self, todo: Sequence[Item]) -> Optional["CostEstimate"]:
        """What computing ``todo`` will cost, from the store's measured seconds (None when no proxy
        of it has been timed yet)."""
        per_proxy = {name: self.measured_seconds(name) for name in self.contexts}
        if all(value is None for value in per_proxy.values()):
            return None
        core_seconds = sum(per_proxy[name] or 0.0 for _, names in todo for name in names)
        workers = self.workers_of(self.choose_executor(len(todo)))
        return CostEstimate(len(todo), core_seconds, workers, per_proxy)

    def compute_one_proxy(self, name: str, indices: Sequence[int]) -> Dict[int, ProxyResult]:
        """Compute ``name``'s score for ``indices`` (for search's ProxyScores); index -> result."""
        known = self.compute([(int(i), (name,)) for i in indices])
        return {i: ProxyResult(s.value, s.seconds or 0.0, s.error) for i, s in known[name].items()}

