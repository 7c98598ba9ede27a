"""l2_norm (NAS-Bench-Suite-Zero, Krishnakumar et al., NeurIPS 2022 Datasets and Benchmarks): the
Euclidean norm of each layer's weights at initialisation, summed.

Definition: for every Conv2d and Linear module, ||W||_2 of the whole weight tensor (Frobenius norm,
not squared, not per channel), summed over layers. Biases and BatchNorm parameters do not count.
No data and no forward pass: the value depends only on the network's initial weights (the space's
usual initialisation, PyTorch's defaults for NB201), so ``needs_data=False``.

Reference: NASLib ``naslib/predictors/utils/pruners/measures/l2_norm.py`` (branches ``Develop`` and
``zerocost``): ``weight.norm()`` per Conv2d/Linear layer of the network itself (``copy_net=False``,
BatchNorm kept, which does not matter here), summed by ``find_measures``. Higher is taken as better,
as NASLib does. Deviation: we sum in float64 (NASLib in float32); the difference is rounding only.
"""

from __future__ import annotations

from typing import Optional

from torch import nn

from nasbench_cli.proxies._layers import weight_layers
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def l2_norm_score(model: nn.Module) -> float:
    """Sum over Conv2d/Linear layers of the Frobenius norm of the weight tensor."""
    return float(sum(float(m.weight.detach().double().norm()) for m in weight_layers(model)))


@proxy(
    "l2_norm",
    direction="max",
    bn=True,
    loss=None,
    needs_data=False,
    summary="sum over Conv2d/Linear layers of ||W||_2 of the initial weights (NAS-Bench-Suite-Zero)",
    paper={"authors": "Arjun Krishnakumar, Colin White, Arber Zela, Renbo Tu, Mahmoud Safari, Frank Hutter",
           "title": "NAS-Bench-Suite-Zero: Accelerating Research on Zero Cost Proxies",
           "venue": "NeurIPS Datasets and Benchmarks", "year": 2022, "url": "https://arxiv.org/abs/2210.03230"},
)
def l2_norm(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """Summed weight norms of an untrained ``model`` (the batch is not used)."""
    return l2_norm_score(model)
