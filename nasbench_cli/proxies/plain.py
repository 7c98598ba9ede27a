"""plain: the sum over all weights of W * dL/dW, signed. A gradient-times-weight saliency from
Abdelfattah et al.'s ``zero-cost-nas`` code (ICLR 2021), one of NAS-Bench-Suite-Zero's 13 proxies
(Krishnakumar et al., NeurIPS 2022 Datasets and Benchmarks).

Definition: one cross-entropy forward/backward on the batch (mean loss over the batch), BatchNorm
kept and in train mode; for every Conv2d and Linear module the elementwise product of the weight
and its gradient, summed over the elements and the layers. Unlike snip there is no absolute value,
so terms cancel and the score can be negative. Layers the loss does not reach contribute 0.

Reference: NASLib ``naslib/predictors/utils/pruners/measures/plain.py`` (``Develop`` and
``zerocost`` branches, from Abdelfattah et al.'s ``zero-cost-nas``): ``layer.weight.grad *
layer.weight`` per Conv2d/Linear layer (``bn=True`` copy of the network), summed by
``find_measures``; loss ``F.cross_entropy`` (NB201's ``get_loss_fn``). NAS-Bench-Suite-Zero ran
its NB201 proxies with one batch of 32 training images (its benchmark configs' ``batch_size``:
``scripts/zc/create_configs_benchmarks.py`` default 32; its released values of the batch-sensitive
``epe_nas`` and ``nwot`` fit 32, not 64), hence ``batch_size=32``. Higher is taken as better, as
NASLib does. Deviation: the sum is taken in float64 (NASLib: float32).
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_cli.proxies._layers import cross_entropy, layer_weights
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def plain_score(model: nn.Module, batch: Batch) -> float:
    """sum over Conv2d/Linear weights of W * dL/dW for the mean cross-entropy on ``batch``."""
    weights = layer_weights(model)
    grads = torch.autograd.grad(cross_entropy(model, batch), weights, allow_unused=True)
    total = torch.zeros((), dtype=torch.float64)
    for w, g in zip(weights, grads):
        if g is not None:
            total += (w.detach().double() * g.double()).sum().cpu()
    return float(total)


@proxy(
    "plain",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=32,
    summary="sum of W * dL/dW (signed) over Conv2d/Linear weights, cross-entropy (NAS-Bench-Suite-Zero)",
    paper={"authors": "Mohamed S. Abdelfattah, Abhinav Mehrotra, Łukasz Dudziak, Nicholas D. Lane",
           "title": "Zero-Cost Proxies for Lightweight NAS",
           "venue": "ICLR", "year": 2021, "url": "https://arxiv.org/abs/2101.08134"},
)
def plain(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Plain saliency of an untrained ``model`` on ``batch``."""
    model.train()
    return plain_score(model, batch)
