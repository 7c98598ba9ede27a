"""jacob_cov (Mellor et al. 2020, v1 of NASWOT) as computed by Abdelfattah et al. (ICLR 2021).

J = d(sum of all outputs)/d(input), one row per example (BatchNorm kept in train mode, so the
rows include the batch-statistics coupling, as in the reference, which back-propagates the whole
batch at once). C = corrcoef of the rows; with eigenvalues l of C and k = 1e-5 the score is
-sum(log(l + k) + 1/(l + k)). A Jacobian row without variance (an output that ignores the input)
makes C undefined: the score is then nan, as in the reference.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

EPS = 1e-5


def input_jacobian(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """d(sum of outputs)/d(inputs), flattened per example, float64 (B x D)."""
    x = inputs.detach().clone().requires_grad_(True)
    (jac,) = torch.autograd.grad(model(x).sum(), x)
    return jac.reshape(jac.shape[0], -1).double().cpu().numpy()


def jacob_cov_score(jacobian: np.ndarray) -> float:
    """-sum(log(l + k) + 1/(l + k)) over eigenvalues l of the rows' correlation matrix."""
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(jacobian)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    shifted = np.linalg.eigvalsh(corr) + EPS
    if np.any(shifted <= 0):
        return float("nan")  # log of a non-positive value, as the reference would produce
    return float(-np.sum(np.log(shifted) + 1.0 / shifted))


@proxy(
    "jacob_cov",
    direction="max",
    bn=True,
    loss=None,
    batch_size=64,
    summary="-sum(log(l+k)+1/(l+k)), l eigenvalues of corrcoef of per-example input Jacobians",
    paper={"authors": "Joseph Mellor, Jack Turner, Amos Storkey, Elliot J. Crowley",
           "title": "Neural Architecture Search without Training (first version)",
           "venue": "arXiv", "year": 2020, "url": "https://arxiv.org/abs/2006.04647v1"},
)
def jacob_cov(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Jacobian-covariance score of an untrained ``model`` on ``batch``."""
    model.train()
    return jacob_cov_score(input_jacobian(model, batch.inputs))
