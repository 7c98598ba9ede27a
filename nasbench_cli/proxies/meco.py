"""MeCo and MeCo_opt (Jiang et al., NeurIPS 2023): minimum eigenvalues of feature-map correlations.

Paper: "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue of
Correlation". Reference code: github:HamsterMimi/MeCo ``correlation/NAS_Bench_201.py``
(``get_score``, measures ``meco`` and ``meco_opt``; the script behind the NAS-Bench-201
correlations) and ``zero-cost-nas/foresight/pruners/measures/meco.py``.

Definition (``meco``). One forward pass of a batch of ONE image (the script's default
``--batch_size 1``, a real training image), BatchNorm in train mode, the network's default
initialisation. A forward hook on EVERY module (``named_modules()``: containers and the network
itself included) takes, for each module call, the module's output for the first example,
``out[0]``, reshaped to rows = its first dimension (the channels of a feature map) and columns =
everything else (the spatial positions). P = the Pearson correlation matrix of those rows
(C x C); NaN/inf entries of P (constant rows, e.g. a ReLU'd-off channel or a ``none`` edge) are
set to 0; the module's value is the smallest eigenvalue of P. MeCo is the sum over all module
calls (NaN values dropped). Outputs with one column (pooled vectors, logits) give an all-zero P
and contribute 0.

``meco_opt``: the same, but per module call 8 of the C rows are drawn at random (without
replacement), P is their 8 x 8 correlation matrix and the value is lambda_min(P) * C / 8.

Constants: batch size 1; ``meco_opt`` samples 8 channels with multiplier C / 8.

Network: the reference scores the zero-cost code's NB201 re-implementation (``foresight``
``NAS201Model``: cell convolutions with a bias, non-affine cell BatchNorms), so both proxies
declare ``reference_build="zc"``; a space that maps that protocol to its ``variant="zc"`` network
gives them that network (NB201 and NATS-tss do, whatever ``--network-variant`` says), any other
space its own.

Deviations:
- a feature map is counted once per module that returns it, as in the reference; the total
  therefore depends on how modules are nested. Our NB201 network nests ReLU-Conv-BN one level
  less deep than the reference's ``foresight`` NAS201Model (whose ``ReLUConvBN`` wraps an
  ``nn.Sequential``; ours is the ``nn.Sequential``), has a ``Sequential`` stem without a wrapper,
  and no ``nn.Sequential`` around each stage of cells: the reference counts each ReLU-Conv-BN
  output and the stem output once more, and the last cell of each stage twice.
- P and its eigenvalues are computed in float64 with a symmetric solver (the reference: float32,
  general ``torch.linalg.eig``, real part); values near 0 differ in the last bits.
- random draws for ``meco_opt`` come from a generator seeded by the context (the reference uses
  Python's global ``random``); with fewer than 8 rows all rows are used (multiplier 1), where
  the reference would fail.
- a module output that is not a tensor (or a tuple starting with one) is skipped.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies._layers import seeded_generator
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

#: channels sampled per feature map by meco_opt
OPT_CHANNELS = 8


def correlation_min_eigenvalue(rows: torch.Tensor) -> float:
    """Smallest eigenvalue of the rows' Pearson correlation matrix, NaN/inf entries set to 0."""
    x = rows.detach().to(torch.float64)
    if x.shape[1] < 2:  # one value per row: every correlation is NaN, so P = 0
        return 0.0
    x = x - x.mean(dim=1, keepdim=True)
    cov = x @ x.T
    scale = torch.sqrt(torch.diagonal(cov))
    corr = cov / scale[:, None] / scale[None, :]
    # torch.corrcoef clips to [-1, 1]; the reference then zeroes NaN/inf entries
    corr = torch.nan_to_num(corr.clamp(-1.0, 1.0), nan=0.0, posinf=0.0, neginf=0.0)
    corr = 0.5 * (corr + corr.T)  # exactly symmetric for the symmetric solver
    return float(torch.linalg.eigvalsh(corr)[0])


def _first_tensor(output: object) -> Optional[torch.Tensor]:
    """The module output the reference indexes: the tensor itself, or a tuple's first item."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def first_example_rows(output: torch.Tensor) -> Optional[torch.Tensor]:
    """``out[0]`` reshaped to (first dim, rest); None for a 1-D output (no example axis)."""
    if output.dim() < 2:
        return None
    example = output[0]
    if example.dim() == 0:
        return None
    return example.reshape(example.shape[0], -1)


def meco_values(model: nn.Module, inputs: torch.Tensor, channels: Optional[int] = None,
                generator: Optional[torch.Generator] = None) -> List[float]:
    """Per module call, lambda_min of the first example's feature correlation (``meco_opt`` when
    ``channels`` is given: that many random rows, times rows / channels)."""
    values: List[float] = []

    def record(module: nn.Module, args: tuple, output: object) -> None:
        tensor = _first_tensor(output)
        rows = first_example_rows(tensor) if tensor is not None else None
        if rows is None:
            return
        if channels is None or rows.shape[0] <= channels:
            values.append(correlation_min_eigenvalue(rows))
            return
        n = rows.shape[0]
        pick = torch.randperm(n, generator=generator)[:channels].to(rows.device)
        values.append(correlation_min_eigenvalue(rows[pick]) * n / channels)

    handles = [m.register_forward_hook(record) for m in model.modules()]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return values


def total(values: List[float]) -> float:
    """Sum of the values, NaN dropped (as the reference)."""
    kept = [v for v in values if not np.isnan(v)]
    return float(np.sum(kept)) if kept else 0.0


@proxy(
    "meco",
    direction="max",
    bn=True,
    loss=None,
    batch_size=1,
    reference_build="zc",
    version="2",  # 2: the zc network on NB201 / NATS-tss (1 scored the official one)
    summary="sum over module outputs of lambda_min of the channel correlation matrix, 1 image (MeCo)",
    paper={"authors": "Tangyu Jiang, Haodi Wang, Rongfang Bie",
           "title": "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue of Correlation",
           "venue": "NeurIPS", "year": 2023,
           "url": "https://proceedings.neurips.cc/paper_files/paper/2023/hash/"
                  "bfa815ac6f08f4ada34fe22be054f2b9-Abstract-Conference.html"},
)
def meco(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """MeCo of an untrained ``model`` on the batch's first example."""
    model.train()
    return total(meco_values(model, batch.inputs))


@proxy(
    "meco_opt",
    direction="max",
    bn=True,
    loss=None,
    batch_size=1,
    reference_build="zc",
    version="2",  # 2: the zc network on NB201 / NATS-tss (1 scored the official one)
    summary="MeCo on 8 random channels per module output, times C/8 (MeCo_opt)",
    paper={"authors": "Tangyu Jiang, Haodi Wang, Rongfang Bie",
           "title": "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue of Correlation",
           "venue": "NeurIPS", "year": 2023,
           "url": "https://proceedings.neurips.cc/paper_files/paper/2023/hash/"
                  "bfa815ac6f08f4ada34fe22be054f2b9-Abstract-Conference.html"},
)
def meco_opt(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """MeCo_opt of an untrained ``model``: channel subsets drawn from ``ctx.seed``."""
    model.train()
    return total(meco_values(model, batch.inputs, OPT_CHANNELS, seeded_generator(ctx.seed, 0)))
