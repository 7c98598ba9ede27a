"""AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity, trainability and complexity.

Paper: "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search". Reference code:
github:cvlab-yonsei/AZ-NAS ``NB201/ZeroShotProxy/compute_az_nas_score.py`` (the three
network proxies), ``NB201/custom/tss_model.py`` (``extract_cell_features``: the stem output and
the output of every cell / residual reduction block) and ``NB201/tss_general.ipynb`` (protocol,
complexity = the benchmark's FLOPs, and the rank aggregation).

Protocol: the network (BatchNorm, train mode) is re-initialised Kaiming-normal (fan_in, ReLU
gain) with BatchNorm weights 1 and biases 0; the input is a batch of B = 64 N(0, 1) images of the
dataset's shape (AZ-NAS uses random inputs for its own proxies, with the loader's batch size,
64 in ``configs/nas-benchmark/algos/weight-sharing.config``). Features f_0 .. f_L are the outputs
of the stem and of each block of ``model.cells`` (L = 17 on NB201).

- ``az_expressivity``: per feature, rows = the B*H*W positions, columns = channels; Sigma = the
  covariance of the centred rows (divided by B*H*W); with its eigenvalues s and p = s / sum(s),
  e_l = sum(-p * ln(p + 1e-8)). Expressivity = sum_l e_l.
- ``az_progressivity``: min over l of (e_l - e_{l-1}).
- ``az_trainability``: for l = L .. 1, a Rademacher (+-1) tensor g_out of f_l's shape is
  back-propagated to f_{l-1}: g_in = (d f_l / d f_{l-1})^T g_out. If g_in equals g_out exactly
  (an identity block) the block scores -inf; otherwise g_in is pixel-unshuffled to g_out's spatial
  size when they differ, M = g_in^T g_out / (B*H*W) over positions (C_in' x C_out), and with
  sigma = its largest singular value the block scores -sigma - 1/(sigma + 1e-6) + 2. Trainability
  = the mean over blocks (so -inf as soon as one block is an identity).
- ``az_complexity``: FLOPs as the benchmark records them (the notebook reads ``flops`` from the
  NATS-Bench API); computed here by ``flops.count_flops_millions``, which reproduces those values.

The inputs are data-free, so the three network components are ``needs_data=False`` and always
draw B = 64 inputs of the dataset's image shape (a run's ``--batch-size`` does not change them).
A NaN component becomes -inf, as in the reference (e.g. a network whose cells output zeros). All four are higher-is-better; the AZ-NAS
score is ``az_nas_aggregate`` of the four columns over a set of architectures.

Deviations: draws (init, inputs, Rademacher signs) come from generators seeded by the context,
and each component is scored on its own draw (each proxy has its own seed), where the reference
computes the three network components from one init and one input batch; eigen/singular values
are computed in float64 (reference: float32). Block gradients that do not reach the block input
count as zeros (the reference would fail). Networks without ``stem`` and ``cells`` blocks raise
a ValueError.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy, proxy_group
from nasbench_cli.proxies.flops import count_flops_millions

#: the reference's batch of random inputs
AZ_BATCH = 64
#: added inside the log of the eigenvalue entropy, and to sigma in trainability (reference)
ENTROPY_EPS = 1e-8
SIGMA_EPS = 1e-6


def trunk_modules(model: nn.Module) -> List[nn.Module]:
    """The stem and the blocks of ``model.cells``, whose outputs are AZ-NAS's features."""
    stem, cells = getattr(model, "stem", None), getattr(model, "cells", None)
    if not isinstance(stem, nn.Module) or not isinstance(cells, (nn.ModuleList, nn.Sequential)) or len(cells) == 0:
        raise ValueError(
            f"AZ-NAS proxies need a cell network with `stem` and `cells` blocks (NB201/NATS-style); "
            f"{type(model).__name__} has none"
        )
    return [stem, *cells]


def trunk_features(model: nn.Module, inputs: torch.Tensor) -> List[torch.Tensor]:
    """Outputs of the stem and of each cell block, in call order, with their autograd graph."""
    modules = trunk_modules(model)
    features: Dict[int, torch.Tensor] = {}

    def recorder(position: int):
        def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if position in features:
                raise ValueError("AZ-NAS proxies need each stem/cell block to run once per forward pass")
            features[position] = output
        return record

    handles = [m.register_forward_hook(recorder(i)) for i, m in enumerate(modules)]
    try:
        with torch.enable_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    if len(features) != len(modules):
        raise ValueError("AZ-NAS proxies: some stem/cell blocks were not called in the forward pass")
    return [features[i] for i in range(len(modules))]


def _position_rows(feature: torch.Tensor) -> torch.Tensor:
    """(B, C, ...) -> (B * positions, C) float64: one row per example and spatial position."""
    return feature.detach().movedim(1, -1).reshape(-1, feature.shape[1]).to(torch.float64)


def expressivity_scores(features: List[torch.Tensor]) -> np.ndarray:
    """Per feature, the entropy of the normalised eigenvalues of the channel covariance."""
    scores = []
    for feature in features:
        rows = _position_rows(feature)
        rows = rows - rows.mean(dim=0, keepdim=True)
        cov = rows.T @ rows / rows.shape[0]
        s = torch.linalg.eigvalsh(cov)
        p = s / s.sum()
        scores.append(float((-p * torch.log(p + ENTROPY_EPS)).sum()))
    return np.array(scores)


def block_trainability(f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator) -> float:
    """-sigma_max - 1/(sigma_max + 1e-6) + 2 for one block (-inf for an identity block)."""
    signs = torch.randint(0, 2, f_out.shape, generator=generator, dtype=torch.int64)
    g_out = (signs * 2 - 1).to(device=f_out.device, dtype=f_out.dtype)
    g_in = None
    if f_out.requires_grad:
        (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True)
    if g_in is None:
        g_in = torch.zeros_like(f_in)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -np.inf
    if g_in.dim() == 4 and g_in.shape[2:] != g_out.shape[2:]:
        g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    rows_in, rows_out = _position_rows(g_in), _position_rows(g_out)
    if rows_in.shape[0] != rows_out.shape[0]:
        raise ValueError(f"AZ-NAS trainability: block input {tuple(f_in.shape)} and output "
                         f"{tuple(f_out.shape)} do not align position by position")
    mat = rows_in.T @ rows_out / rows_out.shape[0]
    sigma = float(torch.linalg.svdvals(mat).max())
    return -sigma - 1.0 / (sigma + SIGMA_EPS) + 2.0


def trainability_score(features: List[torch.Tensor], generator: torch.Generator) -> float:
    """Mean block trainability, blocks taken from the last to the first (the reference's order)."""
    scores = [block_trainability(features[i - 1], features[i], generator) for i in reversed(range(1, len(features)))]
    return float(np.mean(scores))


def _nan_to_worst(value: float) -> float:
    return -np.inf if np.isnan(value) else float(value)


def _input_shape(batch: Optional[Batch], ctx: ProxyContext) -> Tuple[int, ...]:
    if batch is not None:
        return tuple(batch.inputs.shape[1:])
    if ctx.input_shape is not None:
        return tuple(ctx.input_shape)
    raise ValueError("AZ-NAS proxies need the input shape: pass a batch or ProxyContext.input_shape")


def az_features(model: nn.Module, batch: Optional[Batch],
                ctx: ProxyContext) -> Tuple[List[torch.Tensor], torch.Generator]:
    """Re-initialise (Kaiming fan_in), draw the N(0, 1) inputs and return the trunk features,
    plus the generator for the trainability signs; all drawn from ``ctx.seed``."""
    trunk_modules(model)  # fail before any work on a network without the blocks
    model.train()
    kaiming_normal_init(model, "fan_in", seeded_generator(ctx.seed, 0))
    first = next(iter(model.parameters()), None)
    dtype = first.dtype if first is not None else torch.float32
    noise = torch.randn((AZ_BATCH,) + _input_shape(batch, ctx), generator=seeded_generator(ctx.seed, 1))
    return trunk_features(model, noise.to(device=ctx.device, dtype=dtype)), seeded_generator(ctx.seed, 2)


@proxy(
    "az_expressivity",
    direction="max",
    bn=True,
    loss=None,
    batch_size=AZ_BATCH,
    needs_data=False,
    summary="sum over stem/cell features of the entropy of normalised channel-covariance eigenvalues (AZ-NAS)",
    paper={"authors": "Junghyup Lee, Bumsub Ham",
           "title": "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search",
           "venue": "CVPR", "year": 2024, "url": "https://arxiv.org/abs/2403.19232"},
)
def az_expressivity(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """AZ-NAS expressivity on 64 Gaussian inputs after a Kaiming re-init."""
    features, _ = az_features(model, batch, ctx)
    return _nan_to_worst(float(expressivity_scores(features).sum()))


@proxy(
    "az_progressivity",
    direction="max",
    bn=True,
    loss=None,
    batch_size=AZ_BATCH,
    needs_data=False,
    summary="min over consecutive stem/cell features of the expressivity increase (AZ-NAS)",
    paper={"authors": "Junghyup Lee, Bumsub Ham",
           "title": "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search",
           "venue": "CVPR", "year": 2024, "url": "https://arxiv.org/abs/2403.19232"},
)
def az_progressivity(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """AZ-NAS progressivity: the smallest step of the per-feature expressivity."""
    features, _ = az_features(model, batch, ctx)
    scores = expressivity_scores(features)
    if scores.size < 2:
        raise ValueError("az_progressivity needs at least one cell block after the stem")
    return _nan_to_worst(float(np.min(np.diff(scores))))


@proxy(
    "az_trainability",
    direction="max",
    bn=True,
    loss=None,
    batch_size=AZ_BATCH,
    needs_data=False,
    summary="mean over cell blocks of -s-1/s+2, s = top singular value of the block's Jacobian probe (AZ-NAS)",
    paper={"authors": "Junghyup Lee, Bumsub Ham",
           "title": "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search",
           "venue": "CVPR", "year": 2024, "url": "https://arxiv.org/abs/2403.19232"},
)
def az_trainability(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """AZ-NAS trainability (-inf when some block is an exact identity)."""
    features, generator = az_features(model, batch, ctx)
    return _nan_to_worst(trainability_score(features, generator))


@proxy(
    "az_complexity",
    direction="max",
    bn=True,
    loss=None,
    needs_data=False,
    summary="FLOPs in millions as the benchmark counts them (AZ-NAS complexity)",
    paper={"authors": "Junghyup Lee, Bumsub Ham",
           "title": "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search",
           "venue": "CVPR", "year": 2024, "url": "https://arxiv.org/abs/2403.19232"},
)
def az_complexity(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """AZ-NAS complexity: the benchmark's FLOPs of ``model`` (millions)."""
    return count_flops_millions(model, _input_shape(batch, ctx), ctx.device)


def az_nas_aggregate(columns: Dict[str, np.ndarray]) -> np.ndarray:
    """The AZ-NAS score of each architecture: sum over columns of ln(rank / n).

    ``columns`` maps each component's name to its values over the same n architectures, every
    column higher-is-better (the four AZ-NAS components are). Ranks are scipy's ``rankdata``
    (ascending, 1 = worst, ties get their average rank), as the reference notebook; NaN counts as
    -inf (the reference's proxies turn NaN into -inf). The best possible score is 0. The same rule
    gives ``correlate``'s ``az_nas`` column and ``--ensemble-rule log-rank``.
    """
    from nasbench_cli.analysis.derived import log_rank_sum

    if not columns:
        raise ValueError("az_nas_aggregate needs at least one column")
    return log_rank_sum(columns)


#: the components in the paper's order; ``--proxy az_nas`` scores these four
AZ_COMPONENTS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
proxy_group("az_nas", AZ_COMPONENTS, aggregate="log-rank",
            summary="AZ-NAS: its four components, combined in correlate by the sum of ln(rank/n)")
