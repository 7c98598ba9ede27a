"""The executor interface: compute chunks of scores somewhere, hand finished chunks back.

An executor never touches the store: it yields each finished chunk to the driver, in whatever
order chunks finish, and the driver writes it. Executors register by name in EXECUTORS.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from nasbench_cli.engine.config import EngineConfig
from nasbench_cli.engine.work import Chunk, ChunkResult, ScorerSpec
from nasbench_cli.errors import NasbenchError
from nasbench_cli.registry import Registry

#: times a chunk is sent out before a run gives up on it (a worker died on it each time)
MAX_ATTEMPTS = 3


class WorkerFailedError(NasbenchError):
    """A chunk could not be computed: its worker died MAX_ATTEMPTS times, or could not start."""


@dataclass(frozen=True, kw_only=True)
class ExecutorOptions(EngineConfig):
    """The run's engine configuration as one executor gets it: ``executor`` is the one chosen
    (never "auto") and ``workers`` the count it starts; every engine option (threads, devices,
    GPU sharing, Ray address, ...) is inherited, none copied."""

    workers: int = 1
    max_attempts: int = MAX_ATTEMPTS


@dataclass
class ExecutorReport:
    """What an executor did, for the provenance record."""

    retried_chunks: int = 0
    restarted_workers: int = 0
    oom_retries: int = 0
    notes: List[str] = field(default_factory=list)


class Executor(ABC):
    """Computes chunks; usable once as a context manager (workers are stopped on exit)."""

    name: str = ""
    #: computes in the driver's own process (one worker, the driver's scorer reused)
    in_process: bool = False
    #: the driver's scorer, for an executor computing in its process (set by create_executor)
    local_scorer: Optional[Callable[[], Any]] = None

    def __init__(self, options: ExecutorOptions):
        self.options = options
        self.report = ExecutorReport()

    @abstractmethod
    def run(self, spec: ScorerSpec, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        """Yield every chunk's result once, in the order they finish."""

    def describe(self) -> Dict[str, object]:
        """Executor, workers, threads and devices, for provenance."""
        return {"executor": self.name, "workers": self.options.workers, "threads_per_worker": self.options.threads,
                "devices": list(self.options.device_list)}

    def close(self) -> None:
        """Stop any workers (idempotent)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


EXECUTORS: "Registry[Callable[[ExecutorOptions], Executor]]" = Registry("executor")


def executor(name: str) -> Callable[[type], type]:
    """Class decorator registering an Executor subclass under ``name``."""

    def add(cls: type) -> type:
        cls.name = name
        EXECUTORS.add(name, cls)
        return cls

    return add


def create_executor(name: str, options: ExecutorOptions,
                    local_scorer: Optional[Callable[[], Any]] = None) -> Executor:
    """The executor registered as ``name`` (unknown: UsageError listing the valid names);
    ``local_scorer`` gives an in-process executor the caller's scorer instead of a new one."""
    made = EXECUTORS.get(name)(options)
    made.local_scorer = local_scorer
    return made


def check_attempts(chunk: Chunk, failures: int, options: ExecutorOptions, why: str) -> None:
    """Raise WorkerFailedError once ``chunk`` has failed ``options.max_attempts`` times, so a chunk
    that kills every worker it meets cannot keep a run going forever."""
    if failures >= options.max_attempts:
        archs = ", ".join(str(index) for index, _ in chunk.items[:8]) + (", ..." if len(chunk) > 8 else "")
        raise WorkerFailedError(
            f"{why} {failures} times on the chunk of architectures {archs}; gave up (scores already "
            f"computed are in the store: rerun to continue)")
