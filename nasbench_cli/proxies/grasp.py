"""GraSP (Wang et al. 2020) as a NAS proxy (Abdelfattah et al., ICLR 2021).

With g = dL/dW over all Conv2d/Linear weights and H the Hessian of the cross-entropy loss in those
weights, the reference computes the Hessian-gradient product Hg by differentiating z = g_const . g
(g_const a detached copy of the gradient, g taken with create_graph), and scores -W * Hg, summed.
The sign follows the reference code (its authors flipped GraSP's sign because the unflipped value
correlated negatively with accuracy), so higher is better. The reference runs two identical forward
passes for g_const and g; one pass with create_graph gives the same two gradients.
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_cli.proxies._layers import cross_entropy, layer_weights
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def hessian_gradient_products(model: nn.Module, batch: Batch) -> list:
    """(weights, Hg) pairs for the Conv2d/Linear weights the loss reaches (Hg may be None)."""
    weights = layer_weights(model)
    grads = torch.autograd.grad(cross_entropy(model, batch), weights, create_graph=True, allow_unused=True)
    z = None
    for g in grads:
        if g is not None:
            term = (g.detach() * g).sum()
            z = term if z is None else z + term
    if z is None or not z.requires_grad:
        return [(w, None) for w in weights]
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    return list(zip(weights, hg))


@proxy(
    "grasp",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=64,
    summary="sum of -W * Hg over Conv2d/Linear weights (Hessian-gradient product), cross-entropy",
    paper={"authors": "Chaoqi Wang, Guodong Zhang, Roger Grosse",
           "title": "Picking Winning Tickets Before Training by Preserving Gradient Flow",
           "venue": "ICLR", "year": 2020, "url": "https://arxiv.org/abs/2002.07376"},
)
def grasp(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Summed GraSP saliency -W * Hg of an untrained ``model`` on ``batch``."""
    model.train()
    total = 0.0
    for w, hg in hessian_gradient_products(model, batch):
        if hg is not None:
            total += float((-w.detach() * hg.detach()).double().sum())
    return total
