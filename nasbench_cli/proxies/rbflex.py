"""RBFleX-NAS (Yamasaki et al., IEEE TNNLS 2025): RBF kernels of activations and last-layer features.

Paper: "RBFleX-NAS: Training-Free Neural Architecture Search Using Radial Basis Function Kernel
and Hyperparameter Detection" (doi 10.1109/TNNLS.2025.3552693). Reference code:
github:tomomasayamasaki/RBFleX-NAS ``RBFleX_NAS-Bench-201.py`` (the NB201 / NATS-tss score) and
``HDA.py`` (the hyperparameter detection algorithm).

Definition. N = 3 images (``batch_size_NE = 3``), each forwarded ALONE (batch of one; the network
as built, i.e. train mode: BatchNorm normalises with that image's own statistics), no gradients.
- Activation vector of image i: the outputs of every module whose type name contains ``ReLU``
  (the ``nn.ReLU`` modules and the ``ReLUConvBN`` wrappers, whose output is the BN output),
  flattened and concatenated in call order -> row i of X (N x LA).
- Feature vector of image i: the INPUT of the last module in ``named_modules()`` order (NB201:
  the classifier, so the pooled 64-d features) -> row i of Y (N x LQ).
- Each column of X and of Y is min-max normalised over the N rows. A constant column becomes 0,
  except a constant column of exactly 1.0, which stays 1 (the reference sets max to 1 where
  max == min, then min to 0 where the new max equals min).
- K_ij = exp(-gamma_k ||x_i - x_j||^2), Q_ij = exp(-gamma_q ||y_i - y_j||^2).
- Score = N * (log|det K| + log|det Q|) (slogdet, sign ignored). Higher is better.

Constants: gamma_k = 2.68690173088039e-12 and gamma_q = 1.02460061284506e-11, the fixed values
the NB201 / NATS-SSS scripts use (README: "fixed hyperparameters for RBF kernels"). ``HDA.py``
detects them: for each of N_GAMMA = 10 random networks, ONE forward of the N images together,
raw (unnormalised) activation rows; for every pair (i, j) of rows with s_i + s_j != 0 a
candidate (m_i - m_j)^2 / (2 (s_i + s_j)), m and s the mean and (population) variance of a
row; gamma = the smallest candidate over all pairs and networks. ``hda_candidates`` computes
one network's candidates; option ``gamma=detect`` applies HDA to the scored network alone (a
per-network gamma: our variant, not the authors' per-space calibration).

Deviations: the images are the run's batch (the reference takes a shuffled loader batch with
random-crop + flip augmentation); the squared distances are summed directly in float64 (the
reference expands ||a||^2 + ||b||^2 - 2 a.b, equal up to rounding).
"""

from __future__ import annotations

from typing import List, Tuple

import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, ProxyOption, proxy

#: images per score (``batch_size_NE``)
BATCH_SIZE = 3
#: the reference's fixed RBF hyperparameters for the activations (K) and the final input (Q)
GAMMA_K = 2.68690173088039e-12
GAMMA_Q = 1.02460061284506e-11


def is_relu_named(module: nn.Module) -> bool:
    """The reference's test: 'ReLU' in the module's type name."""
    return "ReLU" in str(type(module))


def _record(model: nn.Module, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(activations, final input) of one forward of ``inputs``, each (B, features) float64."""
    acts: List[torch.Tensor] = []
    final: List[torch.Tensor] = []
    batch = inputs.shape[0]

    def act_hook(_m: nn.Module, _args: tuple, output: torch.Tensor) -> None:
        acts.append(output.detach().reshape(batch, -1).to(torch.float64))

    def final_hook(_m: nn.Module, args: tuple, _out: object) -> None:
        final.append(args[0].detach().reshape(batch, -1).to(torch.float64))

    modules = [m for _, m in model.named_modules()]
    handles = [m.register_forward_hook(act_hook) for m in modules if is_relu_named(m)]
    handles.append(modules[-1].register_forward_hook(final_hook))
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    empty = torch.zeros(batch, 0, dtype=torch.float64, device=inputs.device)
    return (torch.cat(acts, dim=1) if acts else empty), (torch.cat(final, dim=1) if final else empty)


def feature_rows(model: nn.Module, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """X (N x LA) and Y (N x LQ): one forward per image, each alone (as the reference)."""
    rows = [_record(model, inputs[i:i + 1]) for i in range(inputs.shape[0])]
    return torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows])


def minmax_columns(x: torch.Tensor) -> torch.Tensor:
    """Per-column (x - min) / (max - min) over the rows, with the reference's constant-column rule."""
    low = x.min(dim=0, keepdim=True).values
    high = x.max(dim=0, keepdim=True).values
    flat = high == low
    high = torch.where(flat, torch.ones_like(high), high)
    low = torch.where(high == low, torch.zeros_like(low), low)  # only a constant column of 1.0
    return (x - low) / (high - low)


def rbf_logdet(rows: torch.Tensor, gamma: float) -> float:
    """log|det K|, K_ij = exp(-gamma ||r_i - r_j||^2) (squared distances summed in float64)."""
    n = rows.shape[0]
    dist = torch.zeros(n, n, dtype=torch.float64, device=rows.device)
    for i in range(n):  # pair by pair: an n x n x features difference tensor would be large
        for j in range(i + 1, n):
            d = rows[i] - rows[j]
            dist[i, j] = dist[j, i] = torch.dot(d, d)
    kernel = torch.exp(-gamma * dist)
    return float(torch.linalg.slogdet(kernel)[1])


def hda_candidates(rows: torch.Tensor) -> List[float]:
    """HDA's gamma candidates of one network: (m_i - m_j)^2 / (2 (s_i + s_j)) per row pair i < j
    with s_i + s_j != 0; m, s the mean and population variance of a raw activation row."""
    x = rows.to(torch.float64)
    means = x.mean(dim=1)
    variances = ((x - means[:, None]) ** 2).mean(dim=1)
    out = []
    for i in range(x.shape[0] - 1):
        for j in range(i + 1, x.shape[0]):
            spread = float(variances[i] + variances[j])
            if spread != 0:
                out.append(float((means[i] - means[j]) ** 2) / (spread * 2))
    return out


def detect_gammas(model: nn.Module, inputs: torch.Tensor) -> Tuple[float, float]:
    """(gamma_k, gamma_q) by HDA on this one network: one joint forward of the images, the
    smallest candidate of each matrix (the fixed constant where there is none)."""
    acts, final = _record(model, inputs)
    k, q = hda_candidates(acts), hda_candidates(final)
    # no candidate (every row constant, e.g. a network whose cells output zeros): the fixed value
    return (min(k) if k else GAMMA_K), (min(q) if q else GAMMA_Q)


def rbflex_score(model: nn.Module, inputs: torch.Tensor, gamma_k: float = GAMMA_K,
                 gamma_q: float = GAMMA_Q) -> float:
    """N * (log|det K| + log|det Q|) of ``model`` on the N images of ``inputs``."""
    x, y = feature_rows(model, inputs)
    k = rbf_logdet(minmax_columns(x), gamma_k)
    q = rbf_logdet(minmax_columns(y), gamma_q)
    return inputs.shape[0] * (k + q)


@proxy(
    "rbflex",
    direction="max",
    bn=True,
    loss=None,
    batch_size=BATCH_SIZE,
    options=(ProxyOption("gamma", "fixed", "fixed: the authors' NB201 constants; detect: HDA on the "
                         "scored network alone (our variant)", choices=("fixed", "detect")),),
    summary="N*(logdet RBF kernel of min-max-normalised ReLU outputs + of last-layer inputs), "
            "3 images one at a time (RBFleX-NAS)",
    paper={"authors": "Tomomasa Yamasaki, Zhehui Wang, Tao Luo, Niangjun Chen, Bo Wang",
           "title": "RBFleX-NAS: Training-Free Neural Architecture Search Using Radial Basis Function Kernel "
                    "and Hyperparameter Detection",
           "venue": "IEEE TNNLS", "year": 2025, "url": "https://arxiv.org/abs/2503.22733"},
)
def rbflex(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """RBFleX-NAS score of an untrained ``model`` (train mode) on the batch's images."""
    if batch.inputs.shape[0] < 2:
        raise ValueError("rbflex needs a batch of at least 2 images (a kernel between images)")
    model.train()
    gamma_k, gamma_q = GAMMA_K, GAMMA_Q
    if ctx.options.get("gamma", "fixed") == "detect":
        gamma_k, gamma_q = detect_gammas(model, batch.inputs)
    return rbflex_score(model, batch.inputs, gamma_k, gamma_q)
