"""Chunks as tasks of Ray actors: this machine (a local Ray started for the run) or a cluster.

Each actor builds its scorer once from the ScorerSpec (the data dir must exist at the same path
on every node: a shared file system) and takes chunk after chunk; results stream back with
``ray.wait`` so progress follows finished chunks. One GPU per actor where the cluster has GPUs.
An actor that dies has its chunk sent to a fresh actor, at most MAX_ATTEMPTS times. Ray is an
optional extra: ``pip install 'nasbench-cli[ray]'``.
"""

from __future__ import annotations

import re
import socket
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from nasbench_cli.engine.executors.base import (
    Executor,
    ExecutorOptions,
    WorkerFailedError,
    check_attempts,
    executor,
)
from nasbench_cli.engine.work import Chunk, ChunkResult, ScorerSpec
from nasbench_cli.errors import NasbenchError, UsageError

INSTALL_HINT = "pip install 'nasbench-cli[ray]' (or pip install ray)"
#: seconds to wait for a cluster's head node to accept a connection before giving up
CONNECT_TIMEOUT_S = 10.0
_ADDRESS = re.compile(r"^(?P<scheme>ray://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})$")


def parse_ray_address(text: str) -> Optional[Tuple[str, int]]:
    """``--ray-address``: "auto" (a cluster started on this machine with `ray start`; None is
    returned) or ``[ray://]HOST:PORT`` -> (host, port); anything else is a UsageError."""
    if text == "auto":
        return None
    match = _ADDRESS.match(text)
    port = int(match["port"]) if match else 0
    if not match or not 1 <= port <= 65535:
        raise UsageError(f"--ray-address '{text}' is not a Ray address: give auto, HOST:PORT "
                         "(e.g. 10.0.0.5:6379) or ray://HOST:PORT (port 1..65535)")
    return match["host"].strip("[]"), port


def check_reachable(text: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail in one line, within ``timeout`` seconds, when the cluster's head does not accept a
    TCP connection (Ray itself would retry for a long time)."""
    target = parse_ray_address(text)
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=timeout).close()
    except OSError as err:
        why = "timed out" if isinstance(err, socket.timeout) else (err.strerror or str(err))
        raise NasbenchError(f"cannot reach the Ray cluster at {text} ({why} within {timeout:.0f} s): "
                            "check --ray-address, or start the head with `ray start --head`") from None


def import_ray():
    """The ray module; UsageError saying how to install it when it is absent."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


class _ScorerActor:
    """The actor body: one scorer, many chunks."""

    def __init__(self, spec: ScorerSpec):
        from pathlib import Path

        from nasbench_cli.engine.work import build_scorer
        from nasbench_cli.errors import DataMissingError

        if spec.data_dir is not None and not Path(spec.data_dir).is_dir():
            raise DataMissingError(f"data directory {spec.data_dir} does not exist on this Ray node; "
                                   f"put the data at the same path on every node")
        self.scorer = build_scorer(spec)[0]

    def score(self, chunk: Chunk) -> ChunkResult:
        from nasbench_cli.engine.work import score_chunk

        return score_chunk(self.scorer, chunk)


def _last_error_line(err: BaseException) -> str:
    """The line of a Ray error naming the exception that killed the actor, else its first line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    named = [line for line in lines if "Error:" in line and not line.startswith("File ")]
    return (named[-1] if named else lines[0] if lines else type(err).__name__)[:300]


@executor("ray")
class RayExecutor(Executor):
    """``workers`` actors, each with ``threads`` CPUs (and one GPU where there are GPUs)."""

    def __init__(self, options: ExecutorOptions):
        super().__init__(options)
        self.ray = import_ray()
        self._started = False
        self._actors: List[object] = []
        self._info: Dict[str, object] = {}

    def _init(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            pass
        elif self.options.ray_address:
            check_reachable(self.options.ray_address)
            try:
                ray.init(address=self.options.ray_address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise NasbenchError(f"cannot connect to the Ray cluster at {self.options.ray_address}: "
                                    f"{_last_error_line(err)}") from None
        else:
            ray.init(num_cpus=max(1, self.options.workers * self.options.threads), include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
            self._started = True
        self._info = {"ray_address": self.options.ray_address or "local (started for this run)",
                      "ray_version": ray.__version__,
                      "ray_gpus": float(ray.cluster_resources().get("GPU", 0))}

    def _actor(self, spec: ScorerSpec):
        gpus = 1 if self.options.use_gpus and self.ray.cluster_resources().get("GPU", 0) >= 1 else 0
        if gpus:
            spec = spec.on_device("cuda")  # Ray sets CUDA_VISIBLE_DEVICES to the actor's GPU
        cls = self.ray.remote(_ScorerActor).options(num_cpus=self.options.threads, num_gpus=gpus, max_restarts=0)
        return cls.remote(spec)

    def run(self, spec: ScorerSpec, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        ray = self.ray
        self._init()
        from ray.exceptions import RayActorError, RayTaskError

        queue: List[Chunk] = list(reversed(chunks))
        failures: Dict[int, int] = {}
        self._actors = [self._actor(spec) for _ in range(min(self.options.workers, len(chunks)))]
        running: Dict[object, tuple] = {}  # object ref -> (actor slot, chunk)

        def submit(slot: int) -> None:
            if queue:
                chunk = queue.pop()
                running[self._actors[slot].score.remote(chunk)] = (slot, chunk)

        try:
            for slot in range(len(self._actors)):
                submit(slot)
            while running:
                (ref,), _ = ray.wait(list(running), num_returns=1)
                slot, chunk = running.pop(ref)
                try:
                    result = ray.get(ref)
                except RayTaskError as err:
                    cause = err.cause if getattr(err, "cause", None) is not None else err
                    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
                    raise WorkerFailedError(f"a Ray scoring actor failed: {text}") from None
                except RayActorError as err:
                    failures[chunk.id] = failures.get(chunk.id, 0) + 1
                    check_attempts(chunk, failures[chunk.id], self.options,
                                   f"a Ray actor died ({_last_error_line(err)})")
                    self.report.retried_chunks += 1
                    self.report.restarted_workers += 1
                    self._actors[slot] = self._actor(spec)
                    queue.append(chunk)
                    submit(slot)
                    continue
                self.report.oom_retries += result.oom_retries
                yield result
                submit(slot)
        finally:
            self.close()

    def describe(self):
        return {**super().describe(), **self._info}

    def close(self) -> None:
        for actor in self._actors:
            self.ray.kill(actor)  # an actor that is already dead is simply forgotten
        self._actors = []
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
            self._started = False
