"""Parameter count in millions, as NAS-Bench-201 / NATS-Bench record it (``params``).

The benchmarks' ``count_parameters_in_MB`` sums ``numel`` over all parameters of the network
(BatchNorm scales and shifts and the classifier included; the head has the dataset's classes)
and divides by 1e6. A data-free proxy: only the network is used.
"""

from __future__ import annotations

from typing import Optional

from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def count_params_millions(model: nn.Module) -> float:
    """Sum of ``numel`` over the model's parameters, / 1e6."""
    return sum(p.numel() for p in model.parameters()) / 1e6


@proxy(
    "params",
    direction="max",
    bn=True,
    loss=None,
    needs_data=False,
    summary="parameters in millions (all parameters, as NB201/NATS count them)",
    paper={"authors": "Arjun Krishnakumar, Colin White, Arber Zela, Renbo Tu, Mahmoud Safari, Frank Hutter",
           "title": "NAS-Bench-Suite-Zero: Accelerating Research on Zero Cost Proxies",
           "venue": "NeurIPS Datasets and Benchmarks", "year": 2022, "url": "https://arxiv.org/abs/2210.03230"},
)
def params(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """Parameter count of ``model`` in millions (the batch is not used)."""
    return count_params_millions(model)
