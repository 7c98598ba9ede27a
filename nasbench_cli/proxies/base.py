"""The proxy interface: one scoring function plus what it needs, registered by name.

A proxy module looks like::

    @proxy("synflow", direction="max", bn=False, loss=None, dtype="float64",
           batch_size=64, summary="sum |W * dR/dW| on an all-ones input, |W|, no BN")
    def synflow(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
        ...

The scoring loop builds each architecture once and hands every proxy a fresh copy of the network
(rebuilt without BatchNorm for ``bn=False``), so one proxy cannot change another's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Tuple

import torch
from torch import nn

from nasbench_cli.batch import Batch  # defined in a neutral module; proxies import it from here
from nasbench_cli.registry import Registry


@dataclass(frozen=True)
class ProxyContext:
    """What a proxy may need beyond the network and the batch."""

    num_classes: int
    device: torch.device
    seed: int = 0
    input_shape: Optional[Tuple[int, ...]] = None  # (C, H, W) of one input; for proxies without data
    # the space proves every ReLU lies on an input-output path (SearchSpace.relus_on_path), so a
    # proxy that restricts itself to such ReLUs (NASWOT) may skip finding them
    relus_on_path: bool = False


ProxyFn = Callable[[nn.Module, Batch, ProxyContext], float]


@dataclass(frozen=True)
class ProxySpec:
    """A registered proxy: the function and the conditions it is defined under."""

    name: str
    fn: ProxyFn
    direction: str = "max"  # "max": higher is better; "min": lower is better
    bn: bool = True  # False: the network is built without BatchNorm
    loss: Optional[str] = None  # e.g. "cross_entropy"; None when no loss is used
    dtype: str = "float32"
    batch_size: Optional[int] = None  # reference code's batch size; None: the run's
    needs_data: bool = True
    summary: str = ""
    head: str = "dataset"  # "one": a 1-unit classifier head (NASWOT authors); "dataset": real classes
    # extra keyword options for the space's network builder, e.g. (("C", 1), ("N", 1)) for a thin
    # NB201 network; pairs (not a dict) keep the spec hashable: use dict(spec.build_options)
    build_options: Tuple[Tuple[str, Any], ...] = ()
    # the reference protocol whose network variant the proxy asks for (e.g. "naswot": the NASWOT
    # authors' reduced NB101 network); each space maps it to build options, "" = the benchmark's own
    reference_build: str = ""
    # bump when a change to the proxy changes its values: stored scores of other versions are
    # not reused (the score store keys scores by package version and this string)
    version: str = "1"


PROXIES: Registry[ProxySpec] = Registry("proxy")


def proxy(name: str, **conditions) -> Callable[[ProxyFn], ProxyFn]:
    """Decorator registering a proxy function under ``name`` with its conditions."""

    def add(fn: ProxyFn) -> ProxyFn:
        PROXIES.add(name, ProxySpec(name=name, fn=fn, **conditions))
        return fn

    return add
