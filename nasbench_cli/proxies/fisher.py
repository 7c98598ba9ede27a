"""Fisher (Theis et al. 2018; Turner et al. 2020) as a NAS proxy (Abdelfattah et al., ICLR 2021).

For every call of a Conv2d/Linear layer, with a = its output and d = dL/da (cross-entropy,
BatchNorm kept, train mode): per example n and output channel k, g_nk = sum over the remaining
(spatial) dimensions of a * d; the channel's value is 0.5 * mean_n g_nk^2, added up over calls.
The reference gives each channel's |value| to every weight of that channel and sums all weights,
i.e. each channel counts weight[k].numel() times. Layers the loss does not reach contribute 0.
Reference code: github.com/SamsungLabs/zero-cost-nas, ``foresight/pruners/measures/fisher.py``.

Why the zero-cost paper's NB201 fisher (Spearman rho 0.36 on CIFAR-10) is lower than this proxy
gives on the benchmark's network (~0.55): that paper scored its code's own re-implementation of
the network (``--network-variant zc``, see nasbench_cli.models.nb201), whose cell convolutions
carry a bias and whose cell BatchNorms are non-affine and always use the batch's statistics.
In 14.7% of NB201 cells (2,290 of 15,625) a convolution reads a node that is all zero (every
edge into the node is ``none`` or comes from such a node); that convolution outputs its bias
alone, the same value for every example and position. In the benchmark's network (no bias) that output is exactly 0
and adds nothing. In the ``zc`` network the next BatchNorm sees a constant channel: its variance
is 0, so it divides by sqrt(eps) (eps = 1e-5) and scales the gradient reaching the convolution's
output by ~316, while the activation a (the bias) is not 0. Each such channel's value
0.5 * mean_n (sum a * dL/da)^2 is then ~1e5 times a normal channel's, and the net's fisher is
inflated: on the 50 such nets among 300 (seed 0), zc / official has median 324x, quartiles
96x-856x, little (0.7x) where the convolution's node does not reach the cell's output and up to
1e13x where the cell outputs nothing at all (10% accuracy: the official fisher is ~0 there).
Those nets are low-accuracy ones, so inflating them scrambles the ranking: Spearman rho 0.35
(zc) against 0.63 (official) over the 300 nets, 0.61 and 0.62 without those 50
(scripts/bench_fidelity.py, CIFAR-10 ``ori-test@200``).
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from nasbench_cli.proxies._layers import weight_layers
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def channel_fisher(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """0.5 * mean over the batch of (sum over dims >= 2 of act * grad)^2, one value per channel."""
    prod = act * grad
    g_nk = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
    return g_nk.double().pow(2).mean(0).mul(0.5)


def fisher_per_layer(model: nn.Module, batch: Batch) -> List[Tuple[nn.Module, torch.Tensor]]:
    """(layer, per-channel Fisher values) for every Conv2d/Linear layer the loss reaches."""
    calls: List[Tuple[nn.Module, torch.Tensor]] = []

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        calls.append((module, output))
        # later in-place ops act on the copy, so the recorded activation stays intact
        return output.clone()

    handles = [m.register_forward_hook(record) for m in weight_layers(model)]
    try:
        loss = F.cross_entropy(model(batch.inputs), batch.targets)
    finally:
        for handle in handles:
            handle.remove()
    grads = torch.autograd.grad(loss, [act for _, act in calls], allow_unused=True)
    totals: Dict[nn.Module, torch.Tensor] = {}
    for (module, act), grad in zip(calls, grads):
        if grad is None:
            continue
        value = channel_fisher(act.detach(), grad.detach())
        totals[module] = totals[module] + value if module in totals else value
    return list(totals.items())


@proxy(
    "fisher",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=64,
    summary="sum over Conv2d/Linear channels of 0.5*mean_n(sum act*dL/dact)^2, times weights per channel",
    paper={"authors": "Lucas Theis, Iryna Korshunova, Alykhan Tejani, Ferenc Huszár",
           "title": "Faster gaze prediction with dense networks and Fisher pruning",
           "venue": "arXiv", "year": 2018, "url": "https://arxiv.org/abs/1801.05787"},
)
def fisher(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Summed Fisher saliency of an untrained ``model`` on ``batch``."""
    model.train()
    total = 0.0
    for layer, values in fisher_per_layer(model, batch):
        per_channel = layer.weight[0].numel()  # weights that share channel k's value
        total += float(values.abs().sum()) * per_channel
    return total
