"""A scoring run's configuration and the objects it opens: the one path from options to an engine.

``RunConfig`` is the typed form of the options every scoring command shares; ``ScoringSession``
checks it against the registries, opens the space, dataset, store and engine, and says for the
provenance how scores were computed. `score`, `search` and the scripts all go through it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch

from nasbench_cli.engine import Engine, EngineConfig
from nasbench_cli.errors import UsageError
from nasbench_cli.paths import resolve_data_dir
from nasbench_cli.runtime import pick_devices
from nasbench_cli.scoring import ScoreSettings, proxy_batch_size, score_context


@dataclass(frozen=True)
class RunConfig:
    """Everything a scoring run is asked to do, as typed values."""

    space: str
    dataset: str
    proxies: Tuple[str, ...]
    score_seed: int = 0
    batch_size: Optional[int] = None
    head: str = "auto"
    split: str = "train"
    data_dir: Optional[Path] = None
    store_path: Optional[Path] = None
    no_store: bool = False
    device: str = "auto"
    devices: Optional[str] = None
    executor: str = "auto"
    workers: Optional[int] = None
    threads: int = 1
    ray_address: str = ""
    quiet: bool = False

    @classmethod
    def from_options(cls, proxies: Sequence[str], **options: Any) -> "RunConfig":
        """From the Click options of options.py (unknown keys ignored: commands have their own)."""
        names = {f for f in cls.__dataclass_fields__}
        return cls(proxies=tuple(proxies), **{k: v for k, v in options.items() if k in names})

    def settings(self, dataset: str) -> ScoreSettings:
        return ScoreSettings(self.space, dataset, self.proxies, self.score_seed, self.batch_size, self.head,
                             self.split)


def parse_proxy_list(text: str) -> Tuple[str, ...]:
    """'naswot,synflow' or 'all' -> registered proxy names (unknown names: exit 2, list valid)."""
    from nasbench_cli.proxies import PROXIES

    if text.strip() == "all":
        return tuple(PROXIES.names())
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError("--proxy needs at least one name")
    for name in names:
        PROXIES.get(name)
    return tuple(dict.fromkeys(names))


class ScoringSession:
    """The space, dataset, proxies, store and engine of one run; a context manager closing the store."""

    def __init__(self, config: RunConfig):
        from nasbench_cli.datasets import get_dataset
        from nasbench_cli.proxies import PROXIES
        from nasbench_cli.spaces import SPACES, create_space

        SPACES.get(config.space)  # unknown space: exit 2 before anything is loaded
        self.config = config
        self.dataset = get_dataset(config.dataset)
        self.specs = [PROXIES.get(name) for name in config.proxies]
        if config.batch_size is not None and config.batch_size < 2:
            raise UsageError("--batch-size must be at least 2")
        self.devices = pick_devices(config.device, config.devices)
        self.engine_config = EngineConfig(config.executor, config.workers, config.threads,
                                          tuple(str(d) for d in self.devices), config.ray_address,
                                          use_gpus=config.device != "cpu")
        if config.executor == "ray":
            from nasbench_cli.engine.executors.ray import import_ray

            import_ray()  # not installed: exit 2 saying how, before any data is read
        self.data_dir = resolve_data_dir(config.data_dir)
        self.space = create_space(config.space, self.data_dir)
        if self.dataset.name not in self.space.datasets and self.dataset.name != "synthetic":
            raise UsageError(f"space {config.space} has no networks for dataset {config.dataset}")
        for spec in self.specs:
            wanted = set(dict(spec.build_options))
            if wanted and not wanted <= set(self.space.build_option_names):
                raise UsageError(
                    f"proxy {spec.name} needs networks built with {sorted(wanted)}, which space "
                    f"{self.space.name} cannot build; it applies to spaces whose builder takes those options")
        self.settings = config.settings(self.dataset.name)
        self.store = None
        self.store_name: Optional[str] = None
        self.engine: Optional[Engine] = None

    def __enter__(self) -> "ScoringSession":
        from nasbench_cli.store import open_store

        self.store, self.store_name, note = open_store(self.config.store_path, self.data_dir,
                                                       enabled=not self.config.no_store)
        if note:
            self.notify(f"note: {note}")
        self.engine = Engine(self.space, self.settings, self.specs, self.data_dir, self.store, self.engine_config,
                             progress=None if self.config.quiet else self._progress, on_failure=self._warn)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.store is not None:
            self.store.close()

    # --- user feedback ----------------------------------------------------------------------------
    def notify(self, message: str) -> None:
        if not self.config.quiet:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)

    def _warn(self, message: str) -> None:
        from tqdm import tqdm

        tqdm.write(f"warning: {message}", file=sys.stderr)

    def _progress(self, total: int, initial: int):
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=f"{self.space.name}/{self.dataset.name}", unit="arch",
                    file=sys.stderr, dynamic_ncols=True)

    # --- provenance -------------------------------------------------------------------------------
    def device_record(self) -> Dict[str, Any]:
        """Devices, names, threads and how the engine ran, for provenance."""
        names = [torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu" for d in self.devices]
        record: Dict[str, Any] = {"device": str(self.devices[0]), "device_name": names[0],
                                  "torch_threads": self.engine_config.threads}
        if len(self.devices) > 1:
            record["devices"] = [str(d) for d in self.devices]
        if self.engine is not None:
            record["engine"] = self.engine.report.describe() if self.engine.report.executor else \
                {"executor_chosen": None, "computed_scores": 0, "note": "every score came from the store"}
        return record

    def proxy_record(self) -> Dict[str, Any]:
        """Each proxy's resolved settings and store context, for provenance."""
        head = self.config.head
        return {
            "proxies": {s.name: s.direction for s in self.specs},
            "proxy_settings": {s.name: {"batch_size": proxy_batch_size(s, self.settings), "bn": s.bn, "loss": s.loss,
                                        "dtype": s.dtype, "head": s.head if head == "auto" else head,
                                        "version": s.version} for s in self.specs},
            "store": self.store_name,
            "store_contexts": {s.name: score_context(s, self.settings).describe() for s in self.specs},
        }

