"""A scoring run's objects, opened from its options: the one path from options to an engine.

``RunConfig`` (nasbench_cli.options) is the typed, checked form of the options every scoring
command shares; ``ScoringSession`` resolves it against the registries (space, dataset, proxies and
their options), opens the space, dataset, store and engine, and says for the provenance how
scores were computed. `score`, `search` and the scripts all go through it.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional, Tuple

import torch

from nasbench_cli.engine import Engine, EngineConfig
from nasbench_cli.errors import UsageError
from nasbench_cli.logs import get_logger, note
from nasbench_cli.paths import resolve_data_dir
from nasbench_cli.plugins import load_plugins
from nasbench_cli.store_keys import unstored_reason
from nasbench_cli.runtime import pick_devices, precision_record
from nasbench_cli.options import RunConfig
from nasbench_cli.store import ScoreStore
from nasbench_cli.proxy_settings import (
    ScoreSettings,
    build_options,
    check_buildable,
    parse_proxy_options,
    proxy_batch_size,
    resolved_options,
)

_log = get_logger("session")


def run_settings(config: RunConfig, dataset: str) -> ScoreSettings:
    """The run's ScoreSettings; a bad --proxy-option is a UsageError (exit 2)."""
    return ScoreSettings(config.space, dataset, config.proxies, config.score_seed, config.batch_size, config.head,
                         config.split, parse_proxy_options(config.proxy_options, config.proxies),
                         config.network_variant, config.augment)


def parse_proxy_list(text: str) -> Tuple[str, ...]:
    """'naswot,synflow', 'all' or a group such as 'az_nas' (its member proxies) -> registered proxy
    names (unknown names: exit 2, listing the valid proxies and groups)."""
    from nasbench_cli.errors import UnknownNameError
    from nasbench_cli.proxies import PROXIES, PROXY_GROUPS

    if text.strip() == "all":
        return tuple(PROXIES.names())
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError("--proxy needs at least one name")
    expanded = []
    for name in names:
        if name in PROXY_GROUPS:
            expanded.extend(PROXY_GROUPS.get(name).members)
        elif name in PROXIES:
            expanded.append(name)
        else:
            raise UnknownNameError("proxy", name, [*PROXIES.names(), *PROXY_GROUPS.names()])
    return tuple(dict.fromkeys(expanded))


class ScoringSession:
    """The space, dataset, proxies, store and engine of one run; a context manager closing the store."""

    def __init__(self, config: RunConfig):
        from nasbench_cli.datasets import get_dataset
        from nasbench_cli.proxies import PROXIES
        from nasbench_cli.spaces import SPACES, create_space

        SPACES.get(config.space)  # unknown space: exit 2 before anything is loaded
        self.config = config
        load_plugins(config.plugins)  # loaded once per process: the CLI's --plugin already did
        self.dataset = get_dataset(config.dataset)
        self.specs = [PROXIES.get(name) for name in config.proxies]
        for spec in self.specs:
            reason = unstored_reason(spec)
            if reason:
                note(_log, f"proxy '{spec.name}' is computed without the store: {reason}")
        self.settings = run_settings(config, self.dataset.name)  # bad --proxy-option: exit 2 before any work
        self.devices = pick_devices(config.device, config.devices)
        self.engine_config = EngineConfig.derive(config, device_list=tuple(str(d) for d in self.devices))
        if config.executor == "ray":
            from nasbench_cli.engine.executors.ray import import_ray

            import_ray()  # not installed: exit 2 saying how, before any data is read
        self.data_dir = resolve_data_dir(config.data_dir)
        self.space = create_space(config.space, self.data_dir)
        if self.dataset.name not in self.space.datasets and self.dataset.name != "synthetic":
            raise UsageError(f"space {config.space} has no networks for dataset {config.dataset}")
        check_buildable(self.specs, self.settings, self.space)
        self.store_name: Optional[str] = None
        self.engine: Optional[Engine] = None

    def __enter__(self) -> "ScoringSession":
        from nasbench_cli.store import resolve_store

        # the path is checked now; the file is opened (created) only when scores are first read
        location, self.store_name, note = resolve_store(self.config.store_path, self.data_dir,
                                                        enabled=not self.config.no_store)
        if note:
            self.notify(f"note: {note}")
        self.engine = Engine(self.space, self.settings, self.specs, self.data_dir, lambda: ScoreStore(location),
                             self.engine_config, progress=None if self.config.quiet else self._progress,
                             on_failure=self._warn)
        return self

    @property
    def store(self) -> "ScoreStore":
        """The run's score store, opened on first use."""
        return self.engine.store

    def __exit__(self, *exc: object) -> None:
        if self.engine is not None and self.engine.store_opened:
            self.engine.store.close()

    # --- user feedback ----------------------------------------------------------------------------
    def notify(self, message: str) -> None:
        """A note for the user (stderr through the ``nasbench`` logger; off with quiet)."""
        if not self.config.quiet:
            _log.info(message)

    def _warn(self, message: str) -> None:
        _log.warning(message)

    def _progress(self, total: int, initial: int):
        from nasbench_cli.logs import progress_bar

        return progress_bar(total=total, initial=initial, desc=f"{self.space.name}/{self.dataset.name}", unit="arch",
                            file=sys.stderr, dynamic_ncols=True)

    # --- provenance -------------------------------------------------------------------------------
    def device_record(self) -> Dict[str, Any]:
        """Devices, names, threads and how the engine ran, for provenance."""
        names = [torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu" for d in self.devices]
        record: Dict[str, Any] = {"device": str(self.devices[0]), "device_name": names[0],
                                  "torch_threads": self.engine_config.threads,
                                  # what every scoring process sets (runtime.configure_determinism)
                                  "precision": precision_record()}
        if len(self.devices) > 1:
            record["devices"] = [str(d) for d in self.devices]
        if self.engine is not None:
            record["engine"] = self.engine.report.describe() if self.engine.report.executor else \
                {"executor_chosen": None, "computed_scores": 0, "note": "every score came from the store"}
        return record

    def _batch_used(self, spec) -> int:
        """The inputs a proxy actually sees: the run's batch prefix for a proxy that reads data; for
        a data-free one (zen, az_*: Gaussian inputs) its own count, which --batch-size does not set."""
        own = None if spec.needs_data else resolved_options(spec, self.settings).get("batch_size", spec.batch_size)
        return int(own) if own is not None else proxy_batch_size(spec, self.settings)

    def proxy_record(self) -> Dict[str, Any]:
        """Each proxy's resolved settings and store context, for provenance."""
        head = self.config.head
        return {
            "proxies": {s.name: s.direction for s in self.specs},
            "proxy_settings": {s.name: {"batch_size": self._batch_used(s), "bn": s.bn, "loss": s.loss,
                                        "dtype": s.dtype, "head": s.head if head == "auto" else head,
                                        "version": s.version, "options": resolved_options(s, self.settings),
                                        # the network actually built (reference protocol, variant, options)
                                        "network": build_options(s, self.settings, self.space)}
                               for s in self.specs},
            "network_variant": self.settings.network_variant,
            "store": self.store_name,
            "store_contexts": {name: ctx.describe() for name, ctx in self.engine.contexts.items()},
        }

