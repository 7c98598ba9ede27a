"""The RBFleX-NAS authors' NB201 score (github:tomomasayamasaki/RBFleX-NAS,
``RBFleX_NAS-Bench-201.py``) and hyperparameter detection (``HDA.py``), step by step.

Score:
1. A forward hook on every module whose ``str(type(module))`` contains 'ReLU' appends its output,
   flattened, to a float64 vector K; a hook on the last module of ``named_modules()`` appends its
   input to a vector Q.
2. One forward of image 0 alone gives the lengths; then for i in range(N) a forward of image i
   alone fills row i of the N x LA and N x LQ matrices.
3. Min-max normalisation of each column (max set to 1 where max == min, then min set to 0 where
   max == min).
4. RBF kernels exp(-gamma (|a|^2 + |b|^2 - 2 a.b)) with the fixed gammas; score = N (logdet K +
   logdet Q) from ``torch.linalg.slogdet``.
HDA: one forward of the N images together, rows of the raw activations, per pair the candidate
(m1 - m2)^2 / ((s1 + s2) 2) when s1 + s2 != 0, numpy float32 statistics as in the reference.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import torch
from torch import nn

GAMMA_K = 2.68690173088039e-12
GAMMA_Q = 1.02460061284506e-11


def normalize(x: torch.Tensor, axis=None) -> torch.Tensor:
    x_min = torch.min(x, dim=axis, keepdim=True).values
    x_max = torch.max(x, dim=axis, keepdim=True).values
    x_max[x_max == x_min] = 1
    x_min[x_max == x_min] = 0
    return (x - x_min) / (x_max - x_min)


def similarity_matrix(matrix: torch.Tensor, gamma: float) -> torch.Tensor:
    x_norm = torch.sum(matrix ** 2, dim=-1)
    a = x_norm[:, None]
    b = x_norm[None, :]
    c = torch.matmul(matrix, matrix.T)
    return torch.exp(-gamma * (a + b - 2 * c))


def _hooked(network: nn.Module, state: dict) -> list:
    def counting_forward_hook(module, inp, out):
        state["K"] = torch.concatenate([state["K"], out.reshape(-1).to(torch.float64)])

    def counting_forward_hook_fc(module, inp, out):
        state["Q"] = torch.concatenate([state["Q"], inp[0].reshape(-1).to(torch.float64)])

    handles = []
    named = list(network.named_modules())
    for count, (_, module) in enumerate(named, start=1):
        if "ReLU" in str(type(module)):
            handles.append(module.register_forward_hook(counting_forward_hook))
        if count == len(named):
            handles.append(module.register_forward_hook(counting_forward_hook_fc))
    return handles


def rbflex_score(network: nn.Module, x: torch.Tensor, gamma_k: float = GAMMA_K,
                 gamma_q: float = GAMMA_Q) -> float:
    """The reference score of ``network`` on the images of ``x`` (N = len(x))."""
    batch_size_ne = x.shape[0]
    kw = {"dtype": torch.float64}
    state: dict = {}
    handles = _hooked(network, state)
    try:
        with torch.no_grad():
            state["K"], state["Q"] = torch.tensor([], **kw), torch.tensor([], **kw)
            network(torch.clone(x[0:1]))
            la, laq = len(state["K"]), len(state["Q"])
            output_matrix = torch.zeros([batch_size_ne, la], **kw)
            last_matrix = torch.zeros([batch_size_ne, laq], **kw)
            for i in range(batch_size_ne):
                state["K"], state["Q"] = torch.tensor([], **kw), torch.tensor([], **kw)
                network(torch.clone(x[i:i + 1]))
                output_matrix[i, :] = state["K"]
                last_matrix[i, :] = state["Q"]
            output_matrix = normalize(output_matrix, axis=0)
            last_matrix = normalize(last_matrix, axis=0)
            k_matrix = similarity_matrix(output_matrix, gamma_k)
            q_matrix = similarity_matrix(last_matrix, gamma_q)
            _, k = torch.linalg.slogdet(k_matrix)
            _, q = torch.linalg.slogdet(q_matrix)
    finally:
        for handle in handles:
            handle.remove()
    return float(batch_size_ne * (k + q))


def hda_candidates(matrix: np.ndarray) -> List[float]:
    """``HDA.py``'s candidate loop over the row pairs of one network's matrix."""
    out = []
    n = matrix.shape[0]
    for i in range(n - 1):
        for j in range(i + 1, n):
            z1, z2 = matrix[i, :], matrix[j, :]
            m1, m2 = np.mean(z1), np.mean(z2)
            big_m = (m1 - m2) ** 2
            z1, z2 = z1 - m1, z2 - m2
            s1, s2 = np.mean(z1 ** 2), np.mean(z2 ** 2)
            if s1 + s2 != 0:
                out.append(big_m / ((s1 + s2) * 2))
    return out


def hda_matrices(network: nn.Module, x: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
    """HDA's raw activation rows (one joint forward) and final-input rows, as numpy arrays."""
    n = x.shape[0]
    store: dict = {"K": torch.empty(n, 0), "Q": torch.empty(0)}

    def counting_forward_hook(module, inp, out):
        store["K"] = torch.cat((store["K"], out.reshape(n, -1)), 1)

    def counting_forward_hook_fc(module, inp, out):
        store["Q"] = inp[0] if isinstance(inp, tuple) else inp

    handles = []
    named = list(network.named_modules())
    for count, (_, module) in enumerate(named, start=1):
        if "ReLU" in str(type(module)):
            handles.append(module.register_forward_hook(counting_forward_hook))
        if count == len(named):
            handles.append(module.register_forward_hook(counting_forward_hook_fc))
    try:
        with torch.no_grad():
            network(x)
    finally:
        for handle in handles:
            handle.remove()
    return store["K"].numpy(), store["Q"].numpy()
