"""NEAR (Husistein, Reiher, Eckhoff, ICLR 2025): network expressivity by activation rank.

Paper: "NEAR: A Training-Free Pre-Estimator of Machine Learning Model Performance" (arXiv
2408.08776). Reference code: github:ReiherGroup/NEAR ``src/near_score/near_score.py``
(``get_effective_rank``, ``__get_near_score``, ``get_near_score``), release 1.0.0. The NAS
protocol scripts and hyperparameters are on Zenodo (cited by the paper), not on GitHub; they
could not be read here.

Definition. Effective rank (Roy & Vetterli 2007) of a matrix A: s = singular values of A,
p = s / sum(s), erank(A) = exp(-sum p log p) (0 log 0 = 0); a zero matrix (sum s = 0) gives 0
(the reference's ``nan_to_num`` of a NaN).

Which layers: every module that has a ``weight`` attribute (Conv2d, Linear, BatchNorm, also a
non-affine BatchNorm whose weight is None) -- their outputs are the pre-activations -- and every
module that is an instance of a ``torch.nn`` activation class (``torch.nn.modules.activation``),
whose outputs are the post-activations; in ``named_modules()`` order.

Activation matrix of a layer: a forward hook takes the module's output (a tuple's first item).
A feature map (B, C, H, W) is transposed to (B, W, H, C) and flattened to rows = positions of
all examples, columns = the C channels; a vector output (B, F) is used as it is. Rows accumulate
over calls until there are at least as many rows as columns; then a contiguous block of
``columns`` rows is cut out, starting at ``k * size`` (``size`` = the output's last dimension
before the transpose, W or F) with k drawn uniformly from [0, rows // size - 1) (0 when that
range is empty), and the layer's hook is removed. A layer that gets fewer rows than columns keeps
all its rows. NEAR = sum over the layers that were called of erank(matrix).

Protocol (reference: the network as built, i.e. in train mode, BatchNorm on batch statistics;
default initialisation; no labels). Our choices where the public code is silent:
- one forward pass of a batch of 128 training images: every NB201 layer fills its square matrix
  within it (the widest feature map needs 1 image, the IN16-120 head 120 rows). The reference
  loops over a loader until every called layer is full; its example uses a loader of batch 1.
- one initialisation (the reference's ``repetitions`` default; its MLP example averages 10).
- the block start is drawn from ``numpy.random.RandomState(seed)`` (the reference uses numpy's
  global RNG): the same draws as ``np.random.seed(seed)`` before the reference's loop.

Implementation: the block is cut from the few examples it spans, without materialising the
transposed copy of the whole output; singular values in float64 (the reference: float32
``svdvals`` and scipy's entropy in float64).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

#: the batch the proxy is registered with (see the module docstring)
BATCH_SIZE = 128


def effective_rank(matrix: torch.Tensor) -> float:
    """exp(entropy of the normalised singular values); 0 for a matrix without a nonzero one."""
    s = torch.linalg.svdvals(matrix.detach().to(torch.float64))
    total = float(s.sum())
    if not np.isfinite(total) or total <= 0.0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * torch.log(p)).sum()))


def activation_classes() -> Tuple[type, ...]:
    """The ``torch.nn`` activation module classes (the reference's post-activation layers)."""
    return tuple(getattr(nn, name) for name in nn.modules.activation.__all__ if hasattr(nn, name))


def near_layers(model: nn.Module) -> List[nn.Module]:
    """Modules with a ``weight`` attribute or of an activation class, in ``named_modules`` order."""
    kinds = activation_classes()
    return [m for _, m in model.named_modules() if hasattr(m, "weight") or isinstance(m, kinds)]


def _rows_view(output: torch.Tensor) -> Tuple[int, int, int]:
    """(rows, columns, size) of the output's activation matrix, without building it."""
    size = output.shape[-1]
    if output.dim() > 2:
        # (B, C, H, W) -> (B, W, H, C) -> (B*W*H, C): rows per example = product of the rest
        columns = output.shape[1]
        rows = output.numel() // columns
        return rows, columns, size
    return output.shape[0], output.shape[1], size


def _block(output: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """Rows [start, start + length) of the output's activation matrix, built from the examples
    they come from only (rows are example-major, so a block spans few examples)."""
    if output.dim() <= 2:
        return output[start:start + length]
    per_example = output[0].numel() // output.shape[1]
    first, last = start // per_example, (start + length - 1) // per_example
    part = torch.transpose(output[first:last + 1], 1, 3).flatten(0, 2)
    offset = start - first * per_example
    return part[offset:offset + length]


def _matrix(output: torch.Tensor) -> torch.Tensor:
    """The whole activation matrix of one output."""
    if output.dim() > 2:
        return torch.transpose(output, 1, 3).flatten(0, 2)
    return output


class _Layer:
    """Rows gathered so far for one layer, and whether its matrix is complete."""

    def __init__(self) -> None:
        self.pieces: List[torch.Tensor] = []
        self.rows = 0
        self.done = False
        self.matrix: Optional[torch.Tensor] = None

    def add(self, output: torch.Tensor, draw: np.random.RandomState) -> None:
        rows, columns, size = _rows_view(output)
        total = self.rows + rows
        if total < columns:
            self.pieces.append(_matrix(output).detach())
            self.rows = total
            return
        last = total // size - 1
        start = int(draw.randint(0, last)) * size if last > 0 else 0
        if self.pieces:  # rows from earlier calls: assemble everything (small, rare)
            whole = torch.cat(self.pieces + [_matrix(output).detach()], dim=0)
            self.matrix = whole[start:start + columns]
        else:
            self.matrix = _block(output.detach(), start, columns)
        self.pieces, self.done = [], True

    def final(self) -> Optional[torch.Tensor]:
        if self.matrix is not None:
            return self.matrix
        return torch.cat(self.pieces, dim=0) if self.pieces else None


def near_score(model: nn.Module, inputs: torch.Tensor, seed: int = 0) -> float:
    """NEAR of ``model`` on one batch: the sum of the effective ranks of the layers' matrices."""
    draw = np.random.RandomState(seed)
    layers: Dict[int, _Layer] = {}
    handles = []

    def hook_for(index: int):
        def hook(_module: nn.Module, _args: tuple, output: object) -> None:
            if isinstance(output, tuple):
                output = output[0]
            if not isinstance(output, torch.Tensor) or output.dim() < 2:
                return  # no example axis: the reference would fail on it
            state = layers.setdefault(index, _Layer())
            if not state.done:
                state.add(output, draw)
        return hook

    for index, module in enumerate(near_layers(model)):
        handles.append(module.register_forward_hook(hook_for(index)))
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    total = 0.0
    for index in sorted(layers):
        matrix = layers[index].final()
        if matrix is not None and matrix.numel():
            total += effective_rank(matrix)
    return total


@proxy(
    "near",
    direction="max",
    bn=True,
    loss=None,
    batch_size=BATCH_SIZE,
    summary="sum over pre-/post-activation layers of the effective rank of a channels x channels "
            "activation block (NEAR)",
    paper={"authors": "Raphael T. Husistein, Markus Reiher, Marco Eckhoff",
           "title": "NEAR: A Training-Free Pre-Estimator of Machine Learning Model Performance",
           "venue": "ICLR", "year": 2025, "url": "https://arxiv.org/abs/2408.08776"},
)
def near(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """NEAR of an untrained ``model`` (train mode, BatchNorm on batch statistics) on ``batch``."""
    model.train()
    return near_score(model, batch.inputs, ctx.seed)
