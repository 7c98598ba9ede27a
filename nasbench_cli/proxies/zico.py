"""ZiCo (Li et al., ICLR 2023): inverse coefficient of variation of the weight gradients.

Paper: "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients". Reference code:
github:SLDGroup/ZiCo ``ZeroShotProxy/compute_zico.py`` (``getgrad``, ``caculate_zico``,
``getzico``), and its NAS-Bench-201 port in the AZ-NAS code (github:cvlab-yonsei/AZ-NAS
``NB201/ZeroShotProxy/compute_zico_score.py`` with ``NB201/tss_general.ipynb``).

Definition. The batch is split into K = 2 sub-batches (the reference takes the first
``maxbatch = 2`` / ``batch_iter = 2`` batches of a loader). For each sub-batch k: zero the
gradients, one mean cross-entropy forward/backward (BatchNorm in train mode), and keep g_k, the
flattened ``weight`` gradient of every Conv2d and Linear layer. Per layer, over the entries θ:

    mean_θ = mean_k |g_k,θ|,   std_θ = std_k g_k,θ   (population std, ddof = 0, as np.std)
    layer value = ln( sum over the entries with std_θ != 0 of mean_θ / std_θ )

A layer whose sum is 0 (no entry with a nonzero std, e.g. a layer behind a ``none`` edge or one
the loss never reaches) is skipped; ZiCo is the sum of the natural logs over the other layers.

Constants: K = 2 sub-batches; the reference NB201 batch size is 64 per sub-batch (AZ-NAS's
``configs/nas-benchmark/algos/weight-sharing.config``), so ZiCo registers ``batch_size=128``
and scores the first and second halves of the received batch. With an odd batch size the
halves are ``[0, n // 2)`` and ``[n // 2, n)``, as the MeCo port's split does.

Deviations: the reference draws its two batches from a shuffled, augmented training loader;
here they are the two halves of the run's seeded batch. Layers whose gradient is None (not in
the graph) are skipped as in the AZ-NAS port (the original would fail on them). Statistics are
taken in float64 from the float32 gradients. (The ZiCo port in the MeCo repository,
``measures/zico.py``, does not zero the gradients between its two halves, so its second
"batch" gradient is the sum of both; we follow the original, which zeroes them.)
"""

from __future__ import annotations

from typing import List

import numpy as np
import torch.nn.functional as F
from torch import nn

from nasbench_cli.proxies._layers import weight_layers
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

#: number of sub-batches the received batch is split into (the reference's two loader batches)
SPLITS = 2


def split_bounds(size: int, parts: int = SPLITS) -> List[tuple]:
    """[start, end) of ``parts`` consecutive sub-batches covering ``size`` examples."""
    return [(k * size // parts, (k + 1) * size // parts) for k in range(parts)]


def per_batch_gradients(model: nn.Module, batch: Batch, parts: int = SPLITS) -> List[List[np.ndarray]]:
    """For every Conv2d/Linear layer, its flattened weight gradient on each sub-batch (float64).

    Layers the loss never reaches (gradient None on some sub-batch) are left out."""
    layers = weight_layers(model)
    grads: List[List[np.ndarray]] = [[] for _ in layers]
    reached = [True] * len(layers)
    for start, end in split_bounds(batch.inputs.shape[0], parts):
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(batch.inputs[start:end]), batch.targets[start:end])
        loss.backward()
        for i, layer in enumerate(layers):
            if layer.weight.grad is None:
                reached[i] = False
            else:
                grads[i].append(layer.weight.grad.detach().reshape(-1).double().cpu().numpy())
    model.zero_grad(set_to_none=True)
    return [g for g, ok in zip(grads, reached) if ok]


def zico_from_gradients(layer_grads: List[List[np.ndarray]]) -> float:
    """Sum over layers of ln(sum over nonzero-std entries of mean|g| / std(g)); 0-sum layers skip."""
    total = 0.0
    for per_batch in layer_grads:
        stacked = np.stack(per_batch)  # (batches, entries)
        std = stacked.std(axis=0)
        keep = std != 0
        inv_cv = np.abs(stacked[:, keep]).mean(axis=0) / std[keep]
        layer_sum = float(inv_cv.sum())
        if layer_sum != 0.0:
            total += float(np.log(layer_sum))
    return total


@proxy(
    "zico",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=128,
    summary="sum over Conv2d/Linear layers of ln(sum mean|g|/std(g)) over 2 half-batches (ZiCo)",
    paper={"authors": "Guihong Li, Yuedong Yang, Kartikeya Bhardwaj, Radu Marculescu",
           "title": "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients",
           "venue": "ICLR", "year": 2023, "url": "https://arxiv.org/abs/2301.11300"},
)
def zico(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """ZiCo of an untrained ``model`` on the two halves of ``batch``."""
    if batch.inputs.shape[0] < SPLITS:
        raise ValueError(f"zico needs a batch of at least {SPLITS} examples (one per sub-batch)")
    model.train()
    return zico_from_gradients(per_batch_gradients(model, batch))
