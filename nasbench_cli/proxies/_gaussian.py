"""The Gaussian re-initialisation Zen-NAS and SWAP score networks with (their
``network_weight_gaussian_init``): one rule, shared by proxies/zen.py and proxies/swap.py."""

from __future__ import annotations

import torch
from torch import nn

from nasbench_cli.proxies._layers import WEIGHT_LAYER_TYPES

#: the norm layers the references reset (scale 1, shift 0); other norm layers keep their values
NORM_LAYER_TYPES = (nn.BatchNorm2d, nn.GroupNorm)


def gaussian_init(model: nn.Module, generator: torch.Generator) -> None:
    """Conv2d/Linear weights N(0, 1) and biases 0; BatchNorm2d/GroupNorm scales 1 and shifts 0 (an
    affine-free one is left alone), as the references do. Draws are made in float32 on the CPU from
    ``generator`` in ``modules()`` order, so every device and dtype gets the same weights."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, WEIGHT_LAYER_TYPES):
                draw = torch.randn(m.weight.shape, generator=generator, dtype=torch.float32)
                m.weight.copy_(draw.to(m.weight.dtype))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, NORM_LAYER_TYPES) and m.weight is not None:
                m.weight.fill_(1.0)
                m.bias.zero_()
