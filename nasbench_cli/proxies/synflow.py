"""SynFlow (Tanaka et al. 2020) as a NAS proxy (Abdelfattah et al., ICLR 2021).

Reference: the network without BatchNorm, converted to float64, every parameter (and buffer)
replaced by its absolute value; input a single all-ones image of the data's shape [1, C, H, W];
R = sum of the output; score = sum over Conv2d/Linear weights of |W * dR/dW|. Values reach
1e30..1e60, hence float64; an overflow gives inf. The copy is modified and not restored.
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_cli.proxies._layers import layer_weights
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def linearize(model: nn.Module) -> nn.Module:
    """Float64 copy semantics in place: cast to double and take |.| of every floating tensor."""
    model.double()
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            if tensor.is_floating_point():
                tensor.abs_()
    return model


def synflow_score(model: nn.Module, input_shape: torch.Size, device: torch.device) -> float:
    """sum |W * dR/dW| for R = sum(model(ones)), after ``linearize`` (modifies ``model``)."""
    linearize(model)
    weights = layer_weights(model)
    ones = torch.ones((1,) + tuple(input_shape), dtype=torch.float64, device=device)
    grads = torch.autograd.grad(model(ones).sum(), weights, allow_unused=True)
    total = torch.zeros((), dtype=torch.float64)
    for w, g in zip(weights, grads):
        if g is not None:
            total += (w.detach() * g.detach()).abs().sum().cpu()
    return float(total)


@proxy(
    "synflow",
    direction="max",
    bn=False,
    loss=None,
    dtype="float64",
    batch_size=64,
    summary="sum |W * dR/dW|, R = sum of outputs on an all-ones input, |W|, no BN, float64",
    paper={"authors": "Hidenori Tanaka, Daniel Kunin, Daniel L. K. Yamins, Surya Ganguli",
           "title": "Pruning neural networks without any data by iteratively conserving synaptic flow",
           "venue": "NeurIPS", "year": 2020, "url": "https://arxiv.org/abs/2006.05467"},
)
def synflow(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Synaptic-flow score of an untrained ``model`` (only the batch's image shape is used)."""
    model.train()
    return synflow_score(model, batch.inputs.shape[1:], batch.inputs.device)
