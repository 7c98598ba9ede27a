"""What travels between the engine's driver and its workers: plain, picklable data only.

A worker is rebuilt from a ``ScorerSpec`` (space name, dataset, settings, data dir, device,
threads), never from live objects, so the same spec works in this process, in a spawned local
process and in a Ray actor on another machine. Work goes out as ``Chunk``s of (architecture,
proxies) and comes back as ``ScoreRecord``s; only the driver writes the store.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch

from nasbench_cli.errors import DataCorruptError
from nasbench_cli.runtime import configure_determinism
from nasbench_cli.failures import is_out_of_memory
from nasbench_cli.proxy_settings import ScoreSettings
from nasbench_cli.scoring import ArchitectureScorer, make_scorer

#: attempts at one architecture after a GPU out-of-memory error (cache emptied in between)
OOM_ATTEMPTS = 3


@dataclass(frozen=True)
class ScorerSpec:
    """Everything a worker needs to build the run's scorer."""

    settings: ScoreSettings
    data_dir: Optional[str]
    device: str
    threads: int
    #: module that registers the space (a plugin space outside the package is imported first)
    space_module: str = "nasbench_cli.spaces"
    #: the driver's ``space.index_order``: a worker whose space numbers architectures otherwise
    #: (e.g. a Ray node without the listing file) refuses to score ("" = not checked)
    index_order: str = ""
    #: the run's plugin proxies (nasbench_cli.plugins.PluginRef): files by path and sha256,
    #: packages by entry point, a script's proxies by value; loaded before the scorer is built
    plugins: Tuple[object, ...] = ()

    def on_device(self, device: str) -> "ScorerSpec":
        return replace(self, device=device)


class Chunk(NamedTuple):
    """One unit of work: architectures and, for each, the proxies it still lacks."""

    id: int
    items: Tuple[Tuple[int, Tuple[str, ...]], ...]

    def __len__(self) -> int:
        return len(self.items)


class ScoreRecord(NamedTuple):
    """One computed score, as it goes into the store."""

    index: int
    proxy: str
    value: float
    seconds: float
    error: Optional[str]


class ChunkResult(NamedTuple):
    """A finished chunk: its records and how many out-of-memory retries it needed."""

    chunk: Chunk
    records: List[ScoreRecord]
    oom_retries: int = 0


def make_chunks(items: Sequence[Tuple[int, Tuple[str, ...]]], size: int) -> List[Chunk]:
    """Consecutive chunks of at most ``size`` items, numbered from 0."""
    size = max(1, int(size))
    return [Chunk(n, tuple(items[start:start + size])) for n, start in enumerate(range(0, len(items), size))]


#: the longest a chunk should take where the store has timed its proxies: a crash or Ctrl-C loses
#: the chunks in flight, so a costly proxy (ntk: ~100 s a network on one CPU core) goes one or a few
#: networks a chunk instead of 8 (13 minutes of a worker's work)
CHUNK_TARGET_S = 30.0


def chunk_size(items: int, workers: int, seconds_per_item: Optional[float] = None) -> int:
    """Small enough that every worker gets several chunks (balance, little lost to a crash), large
    enough that dispatch costs nothing next to scoring (a network takes ~0.1-10 s); with a measured
    ``seconds_per_item``, also short enough to take about ``CHUNK_TARGET_S`` at most."""
    size = max(1, min(8, math.ceil(items / max(1, 4 * workers))))
    if seconds_per_item is not None and seconds_per_item > 0:
        size = max(1, min(size, int(CHUNK_TARGET_S // seconds_per_item)))
    return size


def build_scorer(spec: ScorerSpec) -> Tuple[ArchitectureScorer, object]:
    """The scorer a worker uses for the whole run, and the batch's ImageSet (for provenance)."""
    from nasbench_cli.datasets import get_dataset
    from nasbench_cli.proxies import PROXIES
    from nasbench_cli.spaces import create_space

    importlib.import_module(spec.space_module)
    if spec.plugins:  # a worker registers the run's plugin proxies first (the driver has them)
        from nasbench_cli.plugins import install

        install(spec.plugins)
    device = torch.device(spec.device)
    configure_determinism(device, spec.threads)
    settings = spec.settings
    data_dir = Path(spec.data_dir) if spec.data_dir is not None else None
    space = create_space(settings.space, data_dir)
    if spec.index_order and space.index_order != spec.index_order:
        raise DataCorruptError(f"this worker's {settings.space} numbers architectures by {space.index_order}, the "
                               f"driver's by {spec.index_order}: give every worker the same data dir")
    specs = [PROXIES.get(name) for name in settings.proxies]
    return make_scorer(space, get_dataset(settings.dataset), specs, settings, data_dir or Path("."), device)


def score_chunk(scorer: ArchitectureScorer, chunk: Chunk) -> ChunkResult:
    """Score every (architecture, proxies) item of ``chunk``.

    Out of GPU memory: the cache is emptied and the architecture retried, at most OOM_ATTEMPTS
    times; then the error propagates and the engine reports it.
    """
    records: List[ScoreRecord] = []
    retries = 0
    for index, names in chunk.items:
        for attempt in range(OOM_ATTEMPTS):
            try:
                results = scorer.score_proxies(index, names)
                break
            except (RuntimeError, torch.cuda.OutOfMemoryError) as err:
                if not is_out_of_memory(err) or attempt == OOM_ATTEMPTS - 1:
                    raise
                retries += 1
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
        records.extend(ScoreRecord(index, name, r.value, r.seconds, r.error) for name, r in results.items())
    return ChunkResult(chunk, records, retries)

