"""GradSign (Zhang & Jia, ICLR 2022): how much the per-sample gradients agree in sign.

Paper: "GradSign: Model Performance Inference with Theoretical Insights". Reference code:
github:cmu-catalyst/GradSign ``zero-cost-nas-code/foresight/pruners/measures/grad_conflict.py``
(the Spearman-rho experiments, run by ``build.py`` inside the zero-cost-nas framework), also
``naswot-code/gradsign.py`` (Kendall-tau experiments) and the port in github:ondratybl/VKDNW
``NB201/ZeroShotProxy/compute_gradsign_score.py``.

Definition (the reference loop): for each example i of the batch, alone (a batch of one, the
network in train mode, so BatchNorm normalises it with its own spatial statistics), the
cross-entropy gradient g_i of every Conv2d and Linear **weight** (biases and BatchNorm left out;
a weight the loss does not reach counts as zeros). With s = sign(g_i) summed over the examples,
per weight entry, the score is sum over all entries of |s| (``reduction=sum``, the
grad_conflict measure behind the paper's NB201 rho .765 / .793 / .783; ``nansum``). The naswot
and AZ-NAS/VKDNW ports take the mean over entries instead (``gradsign.reduction=mean``), which
ranks differently: the number of entries differs between networks.

Protocol of the rho experiments: batch 128 (``--batch_size 128``, one random training batch),
seed 42, the framework's default initialisation, BatchNorm kept (``bn=True``), on the zero-cost
code's own NB201 network (``foresight/models/nasbench2.py``): this proxy declares
``reference_build="zc"``, so NB201/NATS-tss build that variant for it (cell convolutions with
bias, non-affine cell BatchNorms that always use batch statistics). Higher is better.

The per-example gradients come from the shared vectorised helper (``_per_sample``: ``vmap`` of
``jacrev`` over examples run alone, the reference's semantics), reduced chunk by chunk so that
B copies of the weights are never held. Deviation: BatchNorm running statistics are not updated
by the per-example passes (no train-mode output depends on them).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_cli.proxies._layers import weight_layers
from nasbench_cli.proxies._per_sample import per_sample_chunks
from nasbench_cli.proxies.base import Batch, ProxyContext, ProxyOption, proxy

#: the reference's batch (``201_results_batch_128``)
GRADSIGN_BATCH = 128
#: examples per vmapped chunk (bounds memory: a chunk holds that many copies of the weights)
CHUNK = 16


def weight_names(model: nn.Module) -> list:
    """Names of the ``weight`` of every Conv2d/Linear module, in ``modules()`` order."""
    ids = {id(m.weight) for m in weight_layers(model)}
    return [n for n, p in model.named_parameters() if id(p) in ids]


def sign_sums(model: nn.Module, batch: Batch, chunk: int = CHUNK) -> torch.Tensor:
    """Per Conv2d/Linear weight entry, the sum over examples of sign(per-example CE gradient)."""
    names = weight_names(model)
    params = {n: p.detach() for n, p in model.named_parameters() if n in set(names)}
    params = {n: params[n] for n in names}

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, target)

    total = None
    for part in per_sample_chunks(model, batch.inputs, loss, (batch.targets,), params, chunk=chunk):
        signs = torch.cat([torch.sign(part[n]).reshape(part[n].shape[0], -1) for n in names], dim=1).sum(0)
        total = signs if total is None else total + signs
    return total if total is not None else torch.zeros(0)


def gradsign_from_sums(sums: np.ndarray, reduction: str = "sum") -> float:
    """sum (or mean) over entries of |sum of signs|, NaN entries ignored (nansum / nanmean)."""
    values = np.abs(np.asarray(sums, dtype=np.float64))
    if reduction == "mean":
        return float(np.nanmean(values)) if values.size else float("nan")
    return float(np.nansum(values))


@proxy(
    "gradsign",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=GRADSIGN_BATCH,
    reference_build="zc",
    options=(
        ProxyOption("reduction", "sum", "sum: the grad_conflict measure (paper's rho); mean: the naswot/AZ-NAS "
                    "ports", choices=("sum", "mean")),
    ),
    summary="sum over Conv2d/Linear weight entries of |sum of per-example gradient signs| (GradSign), "
            "examples run alone, batch 128",
    paper={"authors": "Zhihao Zhang, Zhihao Jia",
           "title": "GradSign: Model Performance Inference with Theoretical Insights",
           "venue": "ICLR", "year": 2022, "url": "https://arxiv.org/abs/2110.08616"},
)
def gradsign(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """GradSign of an untrained ``model`` on ``batch``."""
    model.train()
    sums = sign_sums(model, batch)
    return gradsign_from_sums(sums.double().cpu().numpy(), str(ctx.options.get("reduction", "sum")))
