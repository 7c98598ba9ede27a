"""FLOPs in millions, as NAS-Bench-201 / NATS-Bench record them (``flop``).

The benchmarks' counter (``get_model_infos``) runs one forward pass of an input of the dataset's
shape and counts, per image, multiply-adds of every Conv2d call (k_h * k_w * C_in / groups * C_out
per output position, plus C_out per output position when the conv has a bias) and every Linear
call (in * out, plus out with a bias). Pooling, BatchNorm, ReLU and additions count nothing (the
counter hooks pooling but leaves it out of the sum). The total is divided by 1e6.
E.g. NATS-tss arch 284 on CIFAR-10 gives 11.71521, the value in its record.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def conv_flops(conv: nn.Conv2d, output: torch.Tensor) -> int:
    """Multiply-adds of one image through ``conv`` (bias adds one per output element)."""
    kh, kw = conv.kernel_size
    positions = output.shape[-1] * output.shape[-2]
    per_position = kh * kw * conv.in_channels * conv.out_channels // conv.groups
    bias = conv.out_channels if conv.bias is not None else 0
    return (per_position + bias) * positions


def linear_flops(linear: nn.Linear, output: torch.Tensor) -> int:
    """Multiply-adds of one input row through ``linear`` (times any extra leading dims)."""
    rows = output[0].numel() // linear.out_features
    bias = linear.out_features if linear.bias is not None else 0
    return (linear.in_features * linear.out_features + bias) * rows


def count_flops_millions(model: nn.Module, input_shape: Tuple[int, ...], device: torch.device) -> float:
    """Per-image conv and linear multiply-adds of one forward pass, / 1e6 (eval mode)."""
    counts: List[int] = []

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            counts.append(conv_flops(module, output))
        else:
            counts.append(linear_flops(module, output))

    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        model.eval()  # as the benchmark's counter; BatchNorm then works on a single image
        first = next(iter(model.parameters()), None)
        dtype = first.dtype if first is not None else torch.float32
        with torch.no_grad():
            model(torch.zeros((1,) + tuple(input_shape), dtype=dtype, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return sum(counts) / 1e6


@proxy(
    "flops",
    direction="max",
    bn=True,
    loss=None,
    needs_data=False,
    summary="conv + linear multiply-adds per image in millions (as NB201/NATS count FLOPs)",
)
def flops(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """FLOPs of ``model`` in millions for one input of the batch's shape (or ``ctx.input_shape``)."""
    if batch is not None:
        shape = tuple(batch.inputs.shape[1:])
    elif ctx.input_shape is not None:
        shape = tuple(ctx.input_shape)
    else:
        raise ValueError("flops needs the input shape: pass a batch or ProxyContext.input_shape")
    return count_flops_millions(model, shape, ctx.device)
