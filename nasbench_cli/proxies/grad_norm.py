"""grad_norm (Abdelfattah et al., ICLR 2021): the L2 norm of each layer's weight gradient, summed.

Reference: one cross-entropy forward/backward on the batch, BatchNorm kept (train mode); for every
Conv2d and Linear layer the Euclidean norm of dL/dW (whole tensor, not per channel), summed over
layers. Layers the loss does not reach contribute 0.
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_cli.proxies._layers import cross_entropy, layer_weights
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


@proxy(
    "grad_norm",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=64,
    summary="sum over Conv2d/Linear layers of ||dL/dW||_2, cross-entropy loss",
    paper={"authors": "Mohamed S. Abdelfattah, Abhinav Mehrotra, Łukasz Dudziak, Nicholas D. Lane",
           "title": "Zero-Cost Proxies for Lightweight NAS",
           "venue": "ICLR", "year": 2021, "url": "https://arxiv.org/abs/2101.08134"},
)
def grad_norm(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Sum of per-layer gradient norms of an untrained ``model`` on ``batch``."""
    model.train()
    weights = layer_weights(model)
    grads = torch.autograd.grad(cross_entropy(model, batch), weights, allow_unused=True)
    return float(sum(float(g.double().norm()) for g in grads if g is not None))
