"""Helpers shared by the gradient-based proxies: which layers count, the loss, seeded re-inits.

The zero-cost proxies (Abdelfattah et al.) score the weights of every ``nn.Conv2d`` and
``nn.Linear`` module (not biases, not BatchNorm); ``weight_layers`` is that selection.
"""

from __future__ import annotations

import math
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from nasbench_cli.proxies.base import Batch

#: module types whose ``weight`` the zero-cost proxies score
WEIGHT_LAYER_TYPES = (nn.Conv2d, nn.Linear)


def weight_layers(model: nn.Module) -> List[nn.Module]:
    """Conv2d and Linear modules of ``model`` in ``modules()`` order (each once)."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYER_TYPES)]


def layer_weights(model: nn.Module) -> List[torch.Tensor]:
    """The ``weight`` tensors of ``weight_layers(model)``, set to require gradients."""
    weights = [m.weight for m in weight_layers(model)]
    for w in weights:
        w.requires_grad_(True)
    return weights


def cross_entropy(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean cross-entropy of the model's logits on the batch (the reference loss)."""
    return F.cross_entropy(model(batch.inputs), batch.targets)


def seeded_generator(seed: int, stream: int = 0) -> torch.Generator:
    """A CPU generator for ``(seed, stream)``: draws on the CPU are the same on every device."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed) * 1_000_003 + int(stream))
    return gen


def _fan(weight: torch.Tensor, mode: str) -> int:
    receptive = weight[0][0].numel() if weight.dim() > 2 else 1
    return (weight.shape[1] if mode == "fan_in" else weight.shape[0]) * receptive


def kaiming_normal_init(model: nn.Module, mode: str, generator: Optional[torch.Generator]) -> None:
    """Re-initialise as TE-NAS does: Conv2d/Linear weights N(0, 2 / fan) (ReLU gain), their biases
    0; BatchNorm weights 1 and biases 0. Draws come from ``generator`` on the CPU."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, WEIGHT_LAYER_TYPES):
                std = math.sqrt(2.0 / _fan(m.weight, mode))
                draw = torch.randn(m.weight.shape, generator=generator, dtype=torch.float32)
                m.weight.copy_(draw.to(m.weight.dtype) * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()

