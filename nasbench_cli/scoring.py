"""The scoring loop's core: architectures -> networks -> proxy scores.

Each architecture's networks are built from a seed derived from (run seed, architecture index),
and each proxy takes a prefix of one seeded batch, so a score depends only on its store context
(store_keys.py: space, dataset, proxy, batch size, seed, head, split, code, the proxy's options and
the network variant) and the architecture: a resumed, reordered or partial run, or another
command, reuses it unchanged.

This module computes the scores of one architecture (``ArchitectureScorer``), and of a caller's
own module through the same path (``ArchitectureScorer.score_module``); which architectures are
computed where, and the writing of the store, belong to the engine (nasbench_cli/engine/). The
other concerns live beside it: a proxy's settings (proxy_settings.py), store keys and code
fingerprints (store_keys.py), failure classes (failures.py) and search's view of the scores
(search/proxy_scores.py); their names are re-exported here for callers of the older layout.
"""

from __future__ import annotations

import copy
import numbers
import time
from collections import Counter
from pathlib import Path
from types import MappingProxyType
from typing import Dict, NamedTuple, Optional, Sequence

import torch
from torch import nn

from nasbench_cli.batch import Batch
from nasbench_cli.device_network import DeviceNetwork
from nasbench_cli.errors import NasbenchError, ProxyCodeError
from nasbench_cli.failures import (  # noqa: F401  (re-exported)
    ENVIRONMENT_MARKERS,
    environment_failure,
    first_line,
    is_environment_failure,
    is_environment_message,
    is_out_of_memory,
)
from nasbench_cli.proxies.base import ProxyContext, ProxySpec
from nasbench_cli.proxy_settings import (  # noqa: F401  (re-exported)
    NETWORK_VARIANTS,
    OFFICIAL,
    ProxyOptionValues,
    ScoreSettings,
    build_options,
    check_buildable,
    head_classes,
    options_key,
    parse_proxy_options,
    proxy_batch_size,
    proxy_option_specs,
    resolved_head,
    resolved_options,
)
from nasbench_cli.runtime import derive_seed
from nasbench_cli.spaces.base import SearchSpace
from nasbench_cli.store_keys import batch_fingerprint, code_fingerprint, project_imports, score_context  # noqa: F401

DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: older name of failures.is_out_of_memory
_is_out_of_memory = is_out_of_memory


class ProxyResult(NamedTuple):
    """One proxy's outcome on one architecture: value (NaN on failure), seconds, error text."""

    value: float
    seconds: float
    error: Optional[str] = None


class ArchitectureScorer:
    """Scores one architecture with several proxies, sharing construction and the data batch."""

    def __init__(
        self,
        space: Optional[SearchSpace],
        specs: Sequence[ProxySpec],
        batch: Batch,
        num_classes: int,
        settings: ScoreSettings,
        device: torch.device,
    ):
        self.space, self.specs, self.batch = space, list(specs), batch
        self.num_classes, self.settings, self.device = num_classes, settings, device
        if space is not None:  # None: the caller's own modules are scored (score_module)
            check_buildable(self.specs, settings, space)
        # read-only views: one mapping serves every architecture, a proxy must not change it
        self.options = {spec.name: MappingProxyType(resolved_options(spec, settings)) for spec in self.specs}

    def _variant(self, spec: ProxySpec) -> tuple:
        """The network variant ``spec`` scores: (BN kept, head width, build options)."""
        options = build_options(spec, self.settings, self.space)
        return (spec.bn, head_classes(spec, self.settings, self.num_classes), tuple(sorted(options.items())))

    def _build(self, index: int, key: tuple, dtype: torch.dtype, shared: bool) -> DeviceNetwork:
        # same seed for every variant: BN and head differences leave the other weights equal
        torch.manual_seed(derive_seed(self.settings.seed, "arch", index))
        return DeviceNetwork(self.space.build(index, key[1], bn=key[0], **dict(key[2])), self.device, dtype, shared)

    def _network(self, index: int, key: tuple, dtype: torch.dtype, built: Dict[tuple, DeviceNetwork],
                 shared: bool = False) -> nn.Module:
        """The network of ``key`` on the device in ``dtype``, with its initial values: each proxy
        gets them afresh (written back in place), so one proxy cannot change what another sees.
        ``shared``: other proxies of this architecture score the same network."""
        model = built[key].fresh(dtype) if key in built else None
        if model is None:  # first use, or a proxy replaced parts of the module: build it again
            built[key] = self._build(index, key, dtype, shared)
            model = built[key].fresh(dtype)
        return model

    def network_for(self, spec: ProxySpec, index: int) -> nn.Module:
        """The network ``spec`` scores for architecture ``index``: built, on the device, in the
        proxy's dtype, in train mode, exactly as ``score_proxies`` hands it to the proxy."""
        model = self._network(index, self._variant(spec), DTYPES[spec.dtype], {})
        model.train()
        return model

    def relus_on_path(self, spec: ProxySpec) -> bool:
        """Whether every ReLU of ``spec``'s network lies on an input-output path (the space
        proves it for its plain networks; a special build, e.g. a thin cell, is not covered)."""
        return self.space.relus_on_path and not self._variant(spec)[2]

    def batch_for(self, spec: ProxySpec) -> Batch:
        """The batch prefix ``spec`` scores on, in its dtype."""
        return self._batch_for(spec)

    def data_fingerprint(self, spec: ProxySpec) -> str:
        """The :func:`batch_fingerprint` of the batch prefix ``spec`` scores on."""
        size = proxy_batch_size(spec, self.settings)
        return batch_fingerprint(Batch(self.batch.inputs[:size], self.batch.targets[:size]))

    def _batch_for(self, spec: ProxySpec) -> Batch:
        size = proxy_batch_size(spec, self.settings)
        dtype = DTYPES[spec.dtype]
        return Batch(self.batch.inputs[:size].to(dtype), self.batch.targets[:size])

    def apply(self, spec: ProxySpec, model: nn.Module, index: int, num_classes: int, relus_on_path: bool) -> float:
        """``spec``'s value on ``model`` (already on the device in the proxy's dtype) for
        architecture ``index``: train mode, the proxy's batch prefix, options and seed. Every score
        goes through here: the engine's networks and the caller's own (``score_module``)."""
        model.train()
        ctx = ProxyContext(
            num_classes=num_classes,
            device=self.device,
            seed=derive_seed(self.settings.seed, "proxy", spec.name, index),
            input_shape=tuple(self.batch.inputs.shape[1:]),
            relus_on_path=relus_on_path,
            options=self.options[spec.name],
        )
        return proxy_value(spec.name, spec.fn(model, self._batch_for(spec), ctx))

    def score_module(self, model: nn.Module, index: int = 0) -> float:
        """The first proxy's value on a copy of the caller's ``model`` (moved to the device and the
        proxy's dtype; the caller's module is left as it is). Errors are raised, not stored."""
        spec = self.specs[0]
        net = copy.deepcopy(model).to(self.device, DTYPES[spec.dtype])
        # the network's ReLUs are not known to lie on input-output paths: a proxy checks itself
        return self.apply(spec, net, index, self.num_classes, relus_on_path=False)

    def score_proxies(self, index: int, names: Optional[Sequence[str]] = None) -> Dict[str, ProxyResult]:
        """Proxy name -> result for ``names`` (all when None); a failing proxy gives NaN and its error.

        A proxy's seconds include building the network when it is the first to need it.
        """
        wanted = [s for s in self.specs if names is None or s.name in set(names)]
        keys = {spec.name: self._variant(spec) for spec in wanted}
        users = Counter(keys.values())
        built: Dict[tuple, DeviceNetwork] = {}
        results: Dict[str, ProxyResult] = {}
        for spec in wanted:
            key = keys[spec.name]
            start = time.perf_counter()
            try:
                model = self._network(index, key, DTYPES[spec.dtype], built, shared=users[key] > 1)
                value, error = self.apply(spec, model, index, key[1], self.relus_on_path(spec)), None
            except (RuntimeError, ValueError, ArithmeticError) as err:
                if is_out_of_memory(err):
                    raise  # the engine frees memory and retries; never stored as a failed score
                if is_environment_failure(err):
                    raise environment_failure(spec.name, index, err) from err
                value, error = float("nan"), f"{type(err).__name__}: {first_line(err)}"
            except (MemoryError, OSError, ImportError) as err:
                raise environment_failure(spec.name, index, err) from err
            except NasbenchError:
                raise  # a broken contract (proxy_value) or the machine's failure: its own line
            except Exception as err:  # TypeError, NameError, ...: the proxy's code, not the network
                if not _where(err, spec):
                    raise  # not raised in the proxy's own file (e.g. a network builder): as it is
                raise ProxyCodeError(f"proxy '{spec.name}' raised {type(err).__name__}: {first_line(err) or '-'}"
                                     f"{_where(err, spec)} on architecture {index}: a bug in the proxy (a failure "
                                     f"for this network is RuntimeError, ValueError or ArithmeticError, stored as "
                                     f"its failure); nothing stored for it") from None
            results[spec.name] = ProxyResult(value, time.perf_counter() - start, error)
        return results


def proxy_value(name: str, value: object) -> float:
    """A proxy's return value as a float; anything but a real number (None, a tensor, a string,
    a bool) breaks the contract: a one-line ProxyCodeError, nothing stored."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    hint = " (return value.item())" if isinstance(value, torch.Tensor) and value.numel() == 1 else ""
    raise ProxyCodeError(f"proxy '{name}' returned {type(value).__name__}, not a number{hint}: a proxy returns "
                         f"a float (raise ValueError where a network has no score); nothing stored for it")


def _where(err: BaseException, spec: ProxySpec) -> str:
    """`` (file.py, line N)`` of the deepest frame in the proxy's own file, where there is one."""
    path = getattr(spec.fn, "__code__", None) and spec.fn.__code__.co_filename
    found, tb = "", err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            found = f" ({Path(path).name}, line {tb.tb_lineno})"
        tb = tb.tb_next
    return found


def make_scorer(space: SearchSpace, dataset, specs: Sequence[ProxySpec], settings: ScoreSettings,
                data_dir: Path, device: torch.device):
    """An ArchitectureScorer with the run's seeded batch (large enough for every proxy).

    Returns the scorer and the batch's ImageSet (files and note, for provenance).
    """
    from nasbench_cli.datasets import make_batch

    sizes = [proxy_batch_size(spec, settings) for spec in specs if spec.needs_data]
    largest = max(sizes) if sizes else 2
    batch, images = make_batch(dataset, data_dir, largest, derive_seed(settings.seed, "batch"),
                               split=settings.split, device=device, with_source=True, augment=settings.augment)
    return ArchitectureScorer(space, specs, batch, dataset.num_classes, settings, device), images


def __getattr__(name: str):
    # search's adapter lives with search; imported on demand (it imports this module)
    if name == "ProxyScores":
        from nasbench_cli.search.proxy_scores import ProxyScores

        return ProxyScores
    raise AttributeError(f"module 'nasbench_cli.scoring' has no attribute {name!r}")
