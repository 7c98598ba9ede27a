"""The VKDNW authors' score (``compute_vkdnw_score.py``, NB201), re-implemented step by step.

Used as the test oracle of ``proxies/vkdnw.py``; it follows the reference's order of operations,
in float32, with plain loops where the reference vectorises (so the two paths share no code):

1. ``model.eval()``; of the first ``params_grad_len`` entries of ``named_parameters()``, the
   entries ``linspace(0, numel - 1, steps=p_count).long()`` of each flattened tensor.
2. For each example i and class c: a forward pass of the example alone, backward of logit c, and
   the gradient entries at those indices: J[i, c, :] (the reference: vmap of jacrev).
3. ``cholesky_covariance``: prob = softmax * (1 - alpha) + alpha / C with alpha = float16 0.05;
   q = 1 - cumsum(prob), q[:, -1] = 0; q_shift = roll(q, 1), q_shift[:, 0] = 1;
   d = sqrt(prob * q / q_shift); L = -prob q^-T (outer), -inf -> 0, diagonal 1, upper part 0,
   columns times d.
4. jacobian = L @ J; fisher = mean_i jacobian_i^T jacobian_i.
5. lambdas = ``torch.svd(fisher).S``; quantiles at ``arange(0.1, 1., 0.1)``;
   temp = quantiles / (L1 norm + 1e-10); entropy = -sum temp * log(temp + 1e-10).
6. ``vkdnw_dim`` = ``len(list(model.named_parameters()))``; the paper's single score ranks the
   pairs (vkdnw_dim, entropy).
"""

from __future__ import annotations

from typing import Tuple

import torch
from torch import nn


def jacobian_loop(model: nn.Module, inputs: torch.Tensor, params_grad_len: int = 128, p_count: int = 1) -> torch.Tensor:
    """(B, C, P) by one forward/backward per example and class (eval mode)."""
    model.eval()
    named = list(model.named_parameters())[:params_grad_len]
    indices = [torch.linspace(0, v.numel() - 1, steps=int(p_count)).long() for _, v in named]
    rows = []
    for i in range(inputs.shape[0]):
        out = model(inputs[i:i + 1])
        per_class = []
        for c in range(out.shape[1]):
            grads = torch.autograd.grad(out[0, c], [v for _, v in named], retain_graph=True, allow_unused=True)
            entries = [(torch.zeros_like(v) if g is None else g).flatten()[idx] for g, (_, v), idx in
                       zip(grads, named, indices)]
            per_class.append(torch.cat(entries))
        rows.append(torch.stack(per_class))
    return torch.stack(rows).detach()


def cholesky_covariance(output: torch.Tensor) -> torch.Tensor:
    """The reference's L (B, C, C) with L L^T = diag(prob) - prob prob^T."""
    alpha = torch.tensor(0.05, dtype=torch.float16)
    prob = torch.nn.functional.softmax(output, dim=1) * (1 - alpha) + alpha / output.shape[1]
    q = torch.ones_like(prob) - torch.cumsum(prob, dim=1)
    q[:, -1] = torch.zeros_like(q[:, -1])
    q_shift = torch.roll(q, shifts=1, dims=1)
    q_shift[:, 0] = torch.ones_like(q_shift[:, 0])
    d = torch.sqrt(prob * q / q_shift)
    L = -torch.matmul(prob.unsqueeze(2), 1 / q.unsqueeze(2).transpose(1, 2))
    L = torch.nan_to_num(L, neginf=0.0)
    eye = torch.eye(L.shape[1], dtype=output.dtype).repeat(L.shape[0], 1, 1)
    L = L * (1 - eye) + eye
    upper = torch.triu(torch.ones(L.shape[1], L.shape[2], dtype=output.dtype), diagonal=1).repeat(L.shape[0], 1, 1)
    L = L * (1 - upper)
    return torch.matmul(L, torch.diag_embed(d)).detach()


def entropy_of(model: nn.Module, inputs: torch.Tensor, params_grad_len: int = 128, p_count: int = 1) -> float:
    """The reference's ``vkdnw_entropy`` of an already initialised ``model`` on ``inputs``."""
    jacobian = jacobian_loop(model, inputs, params_grad_len, p_count)
    with torch.no_grad():
        logits = model(inputs)
    jacobian = torch.matmul(cholesky_covariance(logits), jacobian)
    fisher = torch.mean(torch.matmul(jacobian.transpose(1, 2), jacobian), dim=0)
    try:
        lambdas = torch.svd(fisher).S
    except RuntimeError:
        lambdas = torch.zeros((2,))
    quantiles = torch.quantile(lambdas, torch.arange(0.1, 1.0, 0.1).to(lambdas.dtype))
    temp = quantiles / (torch.linalg.norm(quantiles, ord=1).item() + 1e-10)
    return float(-(temp * torch.log(temp + 1e-10)).sum())


def single_pair(model: nn.Module, inputs: torch.Tensor) -> Tuple[int, float]:
    """(vkdnw_dim, vkdnw_entropy): the pair the paper's single score ranks lexicographically."""
    return len(list(model.named_parameters())), entropy_of(model, inputs)
