"""VKDNW (Tybl & Neumann, CVPR 2025): entropy of the empirical Fisher information spectrum.

Paper: "Training-free Neural Architecture Search through Variance of Knowledge of Deep Network
Weights" (arXiv 2502.04975). Reference code: github:ondratybl/VKDNW
``NB201/ZeroShotProxy/compute_vkdnw_score.py`` (the score), ``NB201/tss_general_.py`` (removed
from the repository in its last commit; its protocol: batch 64, ``params_grad_len`` 128,
random inputs) and ``NB201/tss_utils.py`` / ``paper_preparation.ipynb`` (the table's ranking:
the "single" score and the aggregate; see ``analysis.derived``).

Protocol of the authors' code on NB201, step by step:

1. Re-initialise: Conv2d/Linear weights Kaiming normal (fan_in, ReLU gain), biases 0, BatchNorm
   weights 1, biases 0. Input: B = 64 standard-normal images of the dataset's shape (VKDNW is
   not among the scripts' real-input proxies), so the proxy is data-free.
2. **Eval mode** (``get_fisher`` calls ``model.eval()``): BatchNorm normalises with its running
   statistics, which are still the initial 0 / 1, so the examples are independent.
3. Parameters: the **first 128 parameter tensors** in ``named_parameters`` order
   (``params_grad_len``), and of each the entry 0 of its flattened values (the code's
   ``p_count = 1``: ``linspace(0, numel - 1, steps=1) = [0]``; its script's default ``--p 0``
   selects no entry and fails, the paper's runs used one entry per tensor). ``J_i`` (C x P) is
   the Jacobian of example i's logits (batch of one) w.r.t. those P <= 128 scalars.
4. ``L_i``: the code's Cholesky-type factor of the covariance of the categorical output with
   probabilities p = 0.95 softmax(z_i) + 0.05 / C (in float16, as the code: ``smoothing``):
   q_j = 1 - (p_1 + .. + p_j) (q_C = 0), d_j = sqrt(p_j q_j / q_{j-1}) (q_0 = 1), L[j, j] = d_j
   and L[i, j] = -p_i d_j / q_j below the diagonal, so that L L^T = diag(p) - p p^T.
5. Fisher F = mean_i (L_i J_i)^T (L_i J_i) (P x P). Note: this is J^T L^T L J, while the Fisher
   of the categorical model is J^T L L^T J; we follow the code, whose numbers were published.
6. lambda = singular values of F (``torch.svd``; all zeros(2) if it fails); the nine deciles
   ``quantile(lambda, arange(0.1, 1, 0.1))`` (linear interpolation); t = deciles / (sum + 1e-10);
   entropy = -sum t ln(t + 1e-10), between 0 and ln 9.
7. ``vkdnw_dim`` = the number of parameter tensors, ``len(named_parameters())`` (what the paper's
   table calls "#trainable layers"; see ``trainable_layers``).

The paper's "VKDNW_single" ranks networks by the pair (vkdnw_dim, entropy), lexicographically
(``rank(method="dense")`` of the tuples). This proxy's value encodes that order in one number,
``vkdnw_dim + entropy / 10`` (the entropy is at most ln 9 < 10): the integer part is the count of
parameter tensors, the fraction a tenth of the entropy. ``vkdnw.score=entropy`` gives the entropy
alone. Options (``--proxy-option vkdnw.KEY=VALUE``): ``layers`` (params_grad_len, 128),
``entries`` (p_count, 1: entries per tensor at ``linspace(0, numel - 1, entries)``), ``score``.

The aggregate of the paper's table ("VKDNW_agg", Kendall tau .750 / .753 / .743) is the proxy
group ``vkdnw_agg``: ``--proxy vkdnw_agg`` scores vkdnw, az_expressivity, az_trainability,
flops and jacob_cov, and ``correlate`` adds a ``vkdnw_agg`` column combining them by the rule
``vkdnw-rank`` (``analysis.derived.vkdnw_log_rank_sum``): ln(dense rank of vkdnw) + the sum of
ln(rank) of the four others. (The code's own AZ-NAS, jacov and FLOPs runs: AZ-NAS's components
on 64 Gaussian inputs, jacov on a real batch of 64, FLOPs from the benchmark, as here.)

Deviations: init and inputs are drawn from generators seeded by the context (the reference uses
the global seed); L, F and the singular values are computed in float64 from the float32
Jacobian (reference: float32), which moves the entropy by ~1e-6 relative.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import nn

from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator
from nasbench_cli.proxies._per_sample import flatten_rows, per_sample_jacobian
from nasbench_cli.proxies.base import Batch, ProxyContext, ProxyOption, proxy, proxy_group
from nasbench_cli.proxies.trainable_layers import count_parameter_tensors

#: random inputs per network (the script's --batch_size)
VKDNW_BATCH = 64
#: parameter tensors whose entries are differentiated (--params_grad_len)
LAYERS = 128
#: entries per tensor (p_count; the paper's runs: one, the first)
ENTRIES = 1
#: label smoothing of the output distribution: the code holds 0.05 as a float16 scalar, so its
#: 1 - alpha and alpha / C are float16 roundings (0.9502 and ~0.005; p then sums to ~1.0002)
ALPHA16 = torch.tensor(0.05, dtype=torch.float16)
#: added to the deciles' sum and inside the log (reference)
EPS = 1e-10
#: the single score is vkdnw_dim + entropy / SCALE; SCALE > ln 9 keeps the order lexicographic
SCALE = 10.0


def selected_entries(model: nn.Module, layers: int = LAYERS, entries: int = ENTRIES) -> Dict[str, torch.Tensor]:
    """{name: flat indices}: of the first ``layers`` parameter tensors, ``entries`` indices each
    at ``linspace(0, numel - 1, entries)`` truncated to integers (the code's selection)."""
    chosen: Dict[str, torch.Tensor] = {}
    for name, p in list(model.named_parameters())[: max(0, int(layers))]:
        idx = torch.linspace(0, p.numel() - 1, steps=int(entries)).long()
        chosen[name] = idx.to(p.device)
    return chosen


def fisher_jacobian(model: nn.Module, inputs: torch.Tensor, chosen: Dict[str, torch.Tensor]) -> torch.Tensor:
    """(B, C, P): per example, the Jacobian of its logits (run alone) w.r.t. the chosen entries."""
    base = {n: p.detach() for n, p in model.named_parameters()}
    values = {n: base[n].reshape(-1)[idx] for n, idx in chosen.items()}

    def substitute(diff: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        full = dict(base)
        for n, v in diff.items():
            # out-of-place scatter keeps the chosen entries differentiable
            full[n] = base[n].reshape(-1).index_put((chosen[n],), v).reshape(base[n].shape)
        return full

    jac = per_sample_jacobian(model, inputs, lambda out: out.squeeze(0), params=values, substitute=substitute)
    return flatten_rows(jac, lead=2)


def smoothing(classes: int) -> Tuple[float, float]:
    """(1 - alpha, alpha / C) as the code computes them, in float16."""
    return float(1 - ALPHA16), float(ALPHA16 / classes)


def covariance_factor(logits: torch.Tensor) -> torch.Tensor:
    """(B, C, C) lower-triangular L with L L^T = diag(p) - p p^T for the smoothed softmax p
    (up to the float16 roundings of the smoothing, which the code has too)."""
    logits = logits.double()
    classes = logits.shape[1]
    keep, shift = smoothing(classes)
    p = torch.softmax(logits, dim=1) * keep + shift
    q = 1.0 - torch.cumsum(p, dim=1)
    q[:, -1] = 0.0
    q_prev = torch.cat([torch.ones_like(q[:, :1]), q[:, :-1]], dim=1)
    d = torch.sqrt(p * q / q_prev)
    safe_q = torch.where(q > 0, q, torch.ones_like(q))
    below = -p.unsqueeze(2) / safe_q.unsqueeze(1)  # [b, i, j] = -p_i / q_j
    lower = torch.tril(torch.ones(classes, classes, dtype=torch.bool, device=logits.device), diagonal=-1)
    factor = torch.where(lower, below, torch.zeros_like(below))
    factor = factor + torch.eye(classes, dtype=factor.dtype, device=factor.device)
    return factor * d.unsqueeze(1)  # scale column j by d_j


def fisher_matrix(jacobian: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """mean_i (L_i J_i)^T (L_i J_i), float64 (the code's product order, see the docstring)."""
    scaled = covariance_factor(logits) @ jacobian.double()
    return torch.einsum("bcp,bcq->pq", scaled, scaled) / jacobian.shape[0]


def decile_entropy(fisher: torch.Tensor) -> float:
    """Entropy of the L1-normalised deciles of the singular values of ``fisher``."""
    try:
        lambdas = torch.linalg.svdvals(fisher.double())
    except RuntimeError:  # the reference scores a failed decomposition as zeros(2)
        lambdas = torch.zeros(2, dtype=torch.float64)
    if lambdas.numel() == 0:
        return float("nan")
    levels = torch.arange(0.1, 1.0, 0.1).to(torch.float64)  # float32 steps, as the reference
    deciles = torch.quantile(lambdas.cpu(), levels)
    t = deciles / (float(deciles.abs().sum()) + EPS)
    return float(-(t * torch.log(t + EPS)).sum())


def vkdnw_entropy(model: nn.Module, inputs: torch.Tensor, layers: int = LAYERS, entries: int = ENTRIES) -> float:
    """Steps 2-6 on an initialised network: eval mode, Jacobian, Fisher, decile entropy."""
    model.eval()
    chosen = selected_entries(model, layers, entries)
    if not chosen:
        return float("nan")
    jacobian = fisher_jacobian(model, inputs, chosen)
    with torch.no_grad():
        logits = model(inputs)
    return decile_entropy(fisher_matrix(jacobian, logits))


def single_score(dim: int, entropy: float) -> float:
    """One number ordered as the pair (dim, entropy): dim + entropy / 10."""
    return float(dim) + entropy / SCALE


def _input_shape(batch: Optional[Batch], ctx: ProxyContext) -> Tuple[int, ...]:
    if batch is not None:
        return tuple(batch.inputs.shape[1:])
    if ctx.input_shape is not None:
        return tuple(ctx.input_shape)
    raise ValueError("vkdnw needs the input shape: pass a batch or ProxyContext.input_shape")


def gaussian_inputs(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> torch.Tensor:
    """B = 64 N(0, 1) images of the dataset's shape, drawn from ``(ctx.seed, 1)``."""
    first = next(iter(model.parameters()), None)
    dtype = first.dtype if first is not None else torch.float32
    noise = torch.randn((VKDNW_BATCH,) + _input_shape(batch, ctx), generator=seeded_generator(ctx.seed, 1))
    return noise.to(device=ctx.device, dtype=dtype)


@proxy(
    "vkdnw",
    direction="max",
    bn=True,
    loss=None,
    batch_size=VKDNW_BATCH,
    needs_data=False,
    options=(
        ProxyOption("layers", LAYERS, "parameter tensors differentiated, the first ones (VKDNW: 128)",
                    minimum=1, maximum=100_000),
        ProxyOption("entries", ENTRIES, "entries per tensor, at linspace(0, numel-1) (VKDNW: 1)", minimum=1,
                    maximum=64),
        ProxyOption("score", "single", "single: #parameter tensors + entropy/10 (the paper's VKDNW_single "
                    "order); entropy: the Fisher decile entropy alone", choices=("single", "entropy")),
    ),
    summary="VKDNW single: #param tensors + entropy/10 of the deciles of the empirical Fisher spectrum "
            "(first 128 tensors, eval BN, 64 Gaussian inputs)",
    paper={"authors": "Ondřej Týbl, Lukáš Neumann",
           "title": "Training-free Neural Architecture Search through Variance of Knowledge of Deep Network Weights",
           "venue": "CVPR", "year": 2025, "url": "https://arxiv.org/abs/2502.04975"},
)
def vkdnw(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """VKDNW of an untrained network after the authors' Kaiming fan-in re-initialisation."""
    kaiming_normal_init(model, "fan_in", seeded_generator(ctx.seed, 0))
    inputs = gaussian_inputs(model, batch, ctx)
    entropy = vkdnw_entropy(model, inputs, int(ctx.options.get("layers", LAYERS)),
                            int(ctx.options.get("entries", ENTRIES)))
    if ctx.options.get("score", "single") == "entropy":
        return entropy
    return single_score(count_parameter_tensors(model), entropy)


#: VKDNW's aggregate ("VKDNW_agg", tau .750 on NB201 CIFAR-10): its single score (dense-ranked)
#: with AZ-NAS's expressivity and trainability, the benchmark's FLOPs and jacov, each entering as
#: ln(rank) (github:ondratybl/VKDNW ``NB201/tss_utils.py``, ``vkdnw_comb_rank``)
VKDNW_AGG_MEMBERS = ("vkdnw", "az_expressivity", "az_trainability", "flops", "jacob_cov")
proxy_group("vkdnw_agg", VKDNW_AGG_MEMBERS, aggregate="vkdnw-rank",
            summary="VKDNW_agg: ln(dense rank) of vkdnw + ln(rank) of az_expressivity, az_trainability, flops, "
                    "jacob_cov, in correlate")
