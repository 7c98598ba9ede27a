"""FLOPs in millions, counted as NAS-Bench-201 / NATS-Bench count them (their records' ``flop``).

The convention, that of the benchmarks' counter (``get_model_infos`` in AutoDL-Projects'
``xautodl/utils/flop_benchmark.py``, which produced the records):

* one forward pass, network in eval mode, of one input of the dataset's image shape: 3x32x32 for
  CIFAR-10/100, 3x16x16 for ImageNet16-120 (the benchmark divides a batch's count by its size, so
  both are per image); the classifier is the network's own head, i.e. the dataset's 10 / 100 / 120
  classes under the default ``--head``;
* a multiply-add counts as one FLOP (no factor 2): every call of a Conv2d or Conv1d counts
  prod(kernel) * C_in / groups * C_out per output position, plus C_out per output position when it
  has a bias; every Linear call in * out, plus out with a bias (per row);
* nothing else counts: BatchNorm, ReLU, pooling (the benchmark hooks avg/max pooling but leaves it
  out of the sum), global average pooling, the additions joining a cell's edges, zero and identity
  edges;
* the sum is divided by 1e6.

Measured: equal to the records' ``flop`` in every digit they carry for NATS-tss 0, 11, 284 and
NATS-sss 0, 11, 284 on cifar10, cifar100 and ImageNet16-120 (18 values; e.g. tss 284 on CIFAR-10:
11.71521), so this proxy is the benchmark's count and no other convention is needed. It counts the
network the run builds: under ``--network-variant zc`` the cell convolutions carry biases, which
add C_out per output position.

Not the same count: NAS-Bench-Suite-Zero's released ``flops`` (NASLib, through tensorwatch) also
count pooling and the ReLU and BatchNorm element operations; on NB201 they are larger than these by
0.16 + 0.43008 * (convolution edges) + 1.29024 * (average-pooling edges) on CIFAR, a quarter of
that on ImageNet16-120 (exact on 200 cells of each of its three NB201 datasets).
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

#: the layer types the benchmark's counter sums (it hooks pooling too, but leaves it out)
COUNTED_CONVS = (nn.Conv1d, nn.Conv2d)


def conv_flops(conv: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one image through a Conv1d/Conv2d ``conv`` (bias adds one per output element)."""
    positions = output[0, 0].numel()
    per_position = math.prod(conv.kernel_size) * conv.in_channels * conv.out_channels // conv.groups
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
        if isinstance(module, COUNTED_CONVS):
            counts.append(conv_flops(module, output))
        else:
            counts.append(linear_flops(module, output))

    counted = COUNTED_CONVS + (nn.Linear,)
    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, counted)]
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
    summary="conv + linear multiply-adds per image in millions, the benchmark's count (NB201/NATS flop)",
    paper={"authors": "Arjun Krishnakumar, Colin White, Arber Zela, Renbo Tu, Mahmoud Safari, Frank Hutter",
           "title": "NAS-Bench-Suite-Zero: Accelerating Research on Zero Cost Proxies",
           "venue": "NeurIPS Datasets and Benchmarks", "year": 2022, "url": "https://arxiv.org/abs/2210.03230"},
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
