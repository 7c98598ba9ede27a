"""TE-NAS NTK condition number (Chen et al., ICLR 2021).

For one batch, in train mode: each example's logits are summed and back-propagated on their own;
the gradients of every parameter whose name ends in ``weight`` (Conv2d, Linear and BatchNorm
scales, as in TE-NAS's ``'weight' in name``) are concatenated into one row of G. The empirical NTK
is Theta = G G^T and the score is kappa = lambda_max / lambda_min (``eigvalsh``, float64); lower
is better. A Theta that is not positive definite (lambda_min <= 0) gives inf.

Initialisation: TE-NAS re-initialises before each measurement (Kaiming normal, fan_out, ReLU gain;
biases 0, BatchNorm 1/0) and averages kappa over ``--repeat 3`` re-initialisations. This proxy
re-initialises the same way from a generator seeded by ``ctx.seed`` (the network's incoming
initialisation is replaced) and averages over ``REPEATS`` re-initialisations, 1 by default: one
init per call, fixed by the scoring seed; averaging runs with several seeds approximates TE-NAS.
"""

from __future__ import annotations

from typing import List

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

#: re-initialisations averaged per call. TE-NAS averages 3; one keeps a CPU call near 15 s on
#: NB201 (B backward passes each); set 3 for TE-NAS's average.
REPEATS = 1


def ntk_weights(model: nn.Module) -> List[torch.Tensor]:
    """Parameters named ``...weight`` (TE-NAS takes these and no biases)."""
    return [p for name, p in model.named_parameters() if name.rsplit(".", 1)[-1] == "weight"]


def per_example_gradients(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """G (B x P): row i = d(sum of example i's logits)/d(weights), P = sizes of reached weights.

    The whole batch goes through one forward pass (BatchNorm couples the examples, as in TE-NAS);
    the B backward passes run as one vmapped backward, or one by one where vmap is unsupported.
    """
    weights = ntk_weights(model)
    logits = model(inputs)
    batch = logits.shape[0]
    # seeds[i] selects example i's logits: backward of its sum
    seeds = torch.zeros((batch,) + tuple(logits.shape), dtype=logits.dtype, device=logits.device)
    seeds[torch.arange(batch), torch.arange(batch)] = 1.0
    try:
        grads = torch.autograd.grad(
            logits, weights, grad_outputs=seeds, is_grads_batched=True, retain_graph=True, allow_unused=True
        )
        return torch.cat([g.reshape(batch, -1) for g in grads if g is not None], dim=1)
    except RuntimeError:
        return per_example_gradients_loop(logits, weights)


def per_example_gradients_loop(logits: torch.Tensor, weights: List[torch.Tensor]) -> torch.Tensor:
    """G as ``per_example_gradients``, one backward pass per example (the graph is kept)."""
    rows = []
    for i in range(logits.shape[0]):
        seed = torch.zeros_like(logits)
        seed[i] = 1.0
        grads = torch.autograd.grad(logits, weights, grad_outputs=seed, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]))
    return torch.stack(rows)


def condition_number(theta: torch.Tensor) -> float:
    """lambda_max / lambda_min of a symmetric matrix (float64); inf unless positive definite."""
    eig = torch.linalg.eigvalsh(theta.double())
    low, high = float(eig[0]), float(eig[-1])
    if not np.isfinite(low) or not np.isfinite(high) or low <= 0.0:
        return float("inf")
    return high / low


def ntk_condition(model: nn.Module, inputs: torch.Tensor) -> float:
    """kappa of the empirical NTK of ``model`` on ``inputs`` (no re-initialisation)."""
    grads = per_example_gradients(model, inputs).double()
    return condition_number(grads @ grads.T)


@proxy(
    "ntk",
    direction="min",
    bn=True,
    loss=None,
    batch_size=32,
    summary="TE-NAS condition number of the empirical NTK G G^T (per-example weight grads), Kaiming fan_out",
)
def ntk(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Mean NTK condition number over ``REPEATS`` seeded Kaiming fan-out re-initialisations."""
    model.train()
    kappas = []
    for repeat in range(REPEATS):
        kaiming_normal_init(model, "fan_out", seeded_generator(ctx.seed, repeat))
        kappas.append(ntk_condition(model, batch.inputs))
    return float(np.mean(kappas))
