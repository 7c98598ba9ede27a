"""SNIP (Lee et al. 2019) as a NAS proxy (Abdelfattah et al., ICLR 2021).

The reference multiplies each Conv2d/Linear weight by a mask of ones and takes |dL/dmask|; at
mask = 1 that derivative is exactly dL/dW * W, which is what is computed here (no mask needed).
Cross-entropy loss, BatchNorm kept (train mode); the score sums |dL/dW * W| over all those weights.
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_cli.proxies._layers import cross_entropy, layer_weights
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


@proxy(
    "snip",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=64,
    summary="sum |dL/dW * W| over Conv2d/Linear weights (connection sensitivity), cross-entropy",
    paper={"authors": "Namhoon Lee, Thalaiyasingam Ajanthan, Philip H. S. Torr",
           "title": "SNIP: Single-shot Network Pruning based on Connection Sensitivity",
           "venue": "ICLR", "year": 2019, "url": "https://arxiv.org/abs/1810.02340"},
)
def snip(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Summed SNIP saliency of an untrained ``model`` on ``batch``."""
    model.train()
    weights = layer_weights(model)
    grads = torch.autograd.grad(cross_entropy(model, batch), weights, allow_unused=True)
    total = 0.0
    for w, g in zip(weights, grads):
        if g is not None:
            total += float((g.detach() * w.detach()).abs().double().sum())
    return total
