"""The engine's options resolved for this machine: ``EngineConfig`` derives from the job's
``EngineOptions`` (nasbench_cli.options) and adds the devices the run was placed on; the executors'
``ExecutorOptions`` derive from it in turn (engine/executors/base.py). Nothing is copied by hand:
a new engine option declared in ``EngineOptions`` reaches both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple

from nasbench_cli.engine.gpu_share import mps_possible
from nasbench_cli.errors import UsageError
from nasbench_cli.options import EngineOptions, derive
from nasbench_cli.runtime import cpu_cores

#: local workers per core beyond which processes only compete (each also imports torch: ~300 MB)
WORKERS_PER_CORE = 4
#: threads per Ray worker and Ray workers at most (cluster nodes are not this machine)
CLUSTER_LIMIT = 4096


@dataclass(frozen=True, kw_only=True)
class EngineConfig(EngineOptions):
    """The engine options, with the devices the run computes on (``device_list``: "cpu",
    "cuda:0", ...), checked against what this machine (or a Ray cluster) can use."""

    device_list: Tuple[str, ...] = ("cpu",)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "device_list", tuple(self.device_list))
        self._check_bounds()
        if self.ray_address and self.executor != "ray":
            raise UsageError(f"--ray-address is for --executor ray (this run uses --executor {self.executor})")
        if self.ray_address:
            from nasbench_cli.engine.executors.ray import parse_ray_address

            parse_ray_address(self.ray_address)  # malformed: exit 2 before any data is read

    @classmethod
    def derive(cls, options: EngineOptions, **resolved: Any) -> "EngineConfig":
        """This class made from ``options`` (a RunConfig, or an EngineConfig for ExecutorOptions)
        and the values it resolves."""
        return derive(cls, options, **resolved)

    @property
    def use_gpus(self) -> bool:
        """Ray actors take a GPU each where the cluster has them (not with --device cpu)."""
        return self.device != "cpu"

    def _check_bounds(self) -> None:
        """Threads and processes beyond what the machine has only thrash (or fail to start and
        would turn every score into a failure): on this machine at most its cores per worker and
        WORKERS_PER_CORE workers per core; on a Ray cluster, whose nodes may be larger,
        CLUSTER_LIMIT of each."""
        cores = cpu_cores()
        threads_limit = CLUSTER_LIMIT if self.executor == "ray" else cores
        if self.threads > threads_limit:
            where = "a Ray worker" if self.executor == "ray" else f"this machine ({cores} cores)"
            raise UsageError(f"--threads {self.threads} is more than {where} can use: give at most {threads_limit}")
        workers_limit = CLUSTER_LIMIT if self.executor == "ray" else WORKERS_PER_CORE * cores
        if self.workers is not None and self.workers > workers_limit:
            raise UsageError(f"--workers {self.workers} is more than {workers_limit} "
                             f"({'a cluster bound' if self.executor == 'ray' else f'{WORKERS_PER_CORE} per core'}): "
                             f"give fewer")

    def worker_count(self) -> int:
        """Workers asked for; else, on GPUs, as many as the cores hold where MPS lets them share
        the GPUs (one per GPU where it does not); else as many as the cores hold."""
        if self.workers is not None:
            return self.workers
        gpus = sum(1 for d in self.device_list if d.startswith("cuda"))
        if gpus and not mps_possible(self.gpu_share):
            return gpus
        return max(gpus, cpu_cores() // self.threads)

