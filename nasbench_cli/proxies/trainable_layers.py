"""Number of trainable layers, the baseline of the VKDNW paper's table (``trainable_layers``).

The VKDNW code (github:ondratybl/VKDNW ``NB201/ZeroShotProxy/compute_vkdnw_score.py``) records
``vkdnw_dim = len(list(model.named_parameters()))`` and its table lists that column as
"#trainable_layers" (Kendall tau .626 / .646 / .623 on NB201): the count of parameter
**tensors**, so a convolution without bias counts 1, an affine BatchNorm 2 (scale and shift), a
Linear with bias 2. On the benchmark's NB201 network that is 21 + 45 k for k convolution edges
per cell (stem 3, two reduction blocks 7 each, last BatchNorm 2, classifier 2; each convolution
edge 3 in each of the 15 cells), seven distinct values. A data-free proxy: only the network's
structure is read. It is the first key of VKDNW's single score (see ``vkdnw``).
"""

from __future__ import annotations

from typing import Optional

from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def count_parameter_tensors(model: nn.Module) -> int:
    """``len(named_parameters())``: every weight, bias and BatchNorm scale/shift tensor once."""
    return sum(1 for _ in model.named_parameters())


@proxy(
    "trainable_layers",
    direction="max",
    bn=True,
    loss=None,
    needs_data=False,
    summary="number of parameter tensors, len(named_parameters()) (VKDNW's #trainable_layers)",
    paper={"authors": "Ondřej Týbl, Lukáš Neumann",
           "title": "Training-free Neural Architecture Search through Variance of Knowledge of Deep Network Weights",
           "venue": "CVPR", "year": 2025, "url": "https://arxiv.org/abs/2502.04975"},
)
def trainable_layers(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """The count of parameter tensors of ``model`` (the batch is not used)."""
    return float(count_parameter_tensors(model))
