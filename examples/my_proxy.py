"""actvar: an example plugin proxy (docs/plugins.md) -- how much the ReLU units of an untrained
network vary across a batch of images.

For every ReLU, the variance of each unit's output over the batch, averaged over the layer's
units; the score is the mean over layers of log(1 + that variance). A network whose units respond
alike to every image (a dead or saturated path) scores low. Load it with
``nasbench score --plugin examples/my_proxy.py --proxy actvar`` or ``nb.load_plugin(...)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nasbench_cli import Batch, ProxyContext, proxy


@proxy("actvar", direction="max", dtype="float32", batch_size=64,
       summary="mean over ReLU layers of log(1 + per-unit activation variance across the batch)")
def actvar(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """log(1 + variance) of each ReLU layer's units across ``batch``, averaged over layers."""
    per_layer = []

    def record(_module: nn.Module, _inputs, output: torch.Tensor) -> None:
        flat = output.detach().flatten(1).double()  # one row per image
        per_layer.append(math.log1p(flat.var(dim=0, unbiased=False).mean().item()))

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(batch.inputs)
    finally:
        for hook in hooks:
            hook.remove()
    if not per_layer:
        raise ValueError("the network has no ReLU")  # stored as this network's failure
    return sum(per_layer) / len(per_layer)
