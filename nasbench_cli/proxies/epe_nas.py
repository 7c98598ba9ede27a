"""EPE-NAS (Lopes, Alirezazadeh & Alexandre, ICANN 2021, arXiv:2102.08099): per-class correlation
of the input Jacobians of an untrained network.

Definition: J = d(sum of all outputs)/d(input), one row per example (BatchNorm kept in train mode,
the whole batch back-propagated at once, as for jacob_cov). The rows are grouped by target class;
for each class c with rows J_c, C_c = corrcoef(J_c) and, with k = 1e-5,
s_c = sum over all entries (diagonal included) of log(|C_c| + k). Then, with K = the model's number
of outputs:

* K <= 100: score = sum_c |s_c|;
* K > 100: s_c is first divided by the number of rows of c, and
  score = sum_{c, c'} |s_c - s_c'| / (number of classes scored).

A class with a single example in the batch has C_c = 1 (a 1x1 matrix; NaN if its row is constant),
so it adds log(1 + k) when K <= 100; when K > 100 it is left out (the reference's ``len()`` of a
scalar raises and the class is skipped). A Jacobian row without variance gives NaN entries and a
NaN score, as in the reference (NASLib then maps NaN to -1e8; the ranking treats NaN as worst).

Reference: NASLib ``naslib/predictors/utils/pruners/measures/epe_nas.py`` (``Develop``; same code
in ``naslib/predictors/pruners/measures/`` on the ``zerocost`` branch), which takes
``eval_score_perclass`` from the authors' ``VascoLopes/EPE-NAS`` ``search.py``. NB201 specifics:
the benchmark network with BatchNorm (affine, running statistics) in train mode, the dataset's
classes as head, one batch of training images; NAS-Bench-Suite-Zero used 32 images (its benchmark
configs' ``batch_size``: ``scripts/zc/create_configs_benchmarks.py`` default 32), hence
``batch_size=32``. Its released NB201 values (``naslib/data/zc_nasbench201.json``, NASLib
a06ba0e9) fit 32, not 64: on CIFAR-10 their median is 362 (10-90%: 174-472), this score's on 16
cells 278 at 32 images and 1220 at 64 (a class's sum has about four times the entries); on
ImageNet16-120 6% of them are exactly 0 (at most one class seen twice: ~8% of 32-image batches,
practically never with 64). Higher is better.

Deviations: K is the model's output width as in NASLib; the authors' ``search.py`` always passes
its default ``n_classes=10`` (so on ImageNet16-120 it uses the K <= 100 rule) and uses 256 images.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

K = 1e-5
MANY_CLASSES = 100  # above this many outputs the reference switches to the pairwise-difference rule


def output_jacobian(model: nn.Module, inputs: torch.Tensor) -> Tuple[np.ndarray, int]:
    """(d(sum of outputs)/d(inputs) flattened per example as float64 B x D, output width)."""
    x = inputs.detach().clone().requires_grad_(True)
    y = model(x)
    (jac,) = torch.autograd.grad(y.sum(), x)
    return jac.reshape(jac.shape[0], -1).double().cpu().numpy(), int(y.shape[-1])


def class_correlation_score(rows: np.ndarray, many_classes: bool) -> Optional[float]:
    """s_c for one class's Jacobian rows; None when the reference skips the class."""
    if rows.shape[0] == 1:
        if many_classes:
            return None
        # corrcoef of one row is the scalar var/var: 1, or NaN for a constant row
        corr = np.array(1.0 if np.var(rows[0]) > 0 else np.nan)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.corrcoef(rows)
    score = float(np.sum(np.log(np.abs(corr) + K)))
    return score / rows.shape[0] if many_classes else score


def epe_nas_score(jacobian: np.ndarray, labels: np.ndarray, num_outputs: int) -> float:
    """The EPE-NAS score of per-example Jacobian rows grouped by ``labels``."""
    many = num_outputs > MANY_CLASSES
    per_class: Dict[int, float] = {}
    for label in dict.fromkeys(labels.tolist()):  # first-seen order, as the reference's dict
        score = class_correlation_score(jacobian[labels == label], many)
        if score is not None:
            per_class[label] = score
    values = np.array(list(per_class.values()), dtype=np.float64)
    if not many:
        return float(np.sum(np.abs(values)))
    if values.size == 0:
        return 0.0
    return float(np.sum(np.abs(values[:, None] - values[None, :])) / values.size)


@proxy(
    "epe_nas",
    direction="max",
    bn=True,
    loss=None,
    batch_size=32,
    summary="EPE-NAS: per-class sum log(|corrcoef of input Jacobians| + 1e-5), |.| summed over classes",
    paper={"authors": "Vasco Lopes, Saeid Alirezazadeh, Luís A. Alexandre",
           "title": "EPE-NAS: Efficient Performance Estimation Without Training for Neural Architecture Search",
           "venue": "ICANN", "year": 2021, "url": "https://arxiv.org/abs/2102.08099"},
)
def epe_nas(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """EPE-NAS score of an untrained ``model`` on ``batch`` (targets group the examples)."""
    model.train()
    jacobian, width = output_jacobian(model, batch.inputs)
    labels = batch.targets.detach().cpu().numpy().reshape(-1)
    return epe_nas_score(jacobian, labels, width)
