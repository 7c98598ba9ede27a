"""WRCor (Jing et al., 2025): weighted response correlation of activations and gradients.

Paper: "A Zero-Shot Neural Architecture Search with Weighted Response Correlation for Image
Recognition". Reference code: github:kunjing96/ZSNAS-WRCor, measure ``act_grad_cor_weighted``
(``foresight/pruners/measures/act_grad_cor_weighted.py``) run by ``nasbench201_pred.py``
through ``foresight/pruners/predictive.py`` (the zero-cost framework of Abdelfattah et al.).

Not forward-only: the responses are the ReLU inputs (forward) AND the gradients of the loss
with respect to them (backward of the mean cross-entropy on the batch's labels).

Definition. The network's blocks are ``net.cells`` (NB201: the 15 cells and the 2 residual
reduction blocks, in order; else ``net.layers`` or ``net.block_list``); block i has weight
2**i, and the modules of ``net.lastact`` (NB201's final BN-ReLU) weight 2**(number of blocks).
In each, every module whose type name contains ``ReLU`` (the ``nn.ReLU`` modules and the
``ReLUConvBN`` wrappers) contributes, per call:
- forward: its input, flattened per example (B x D); P = numpy ``corrcoef`` of the B rows; if P
  has no NaN (no constant row), K += weight * |P|;
- backward (a legacy ``register_backward_hook``, which sees the gradients of the module's LAST
  autograd node): that node's first input gradient, flattened per example, the same way. For an
  ``nn.ReLU`` it is dL/d(ReLU input) through that ReLU; for a ``ReLUConvBN`` wrapper, whose last
  node is the BatchNorm, it is dL/d(conv output).
Score = log|det K| (slogdet, sign ignored; ``split_data = 1``, so the product over splits is this
one value). Higher is better.

Protocol (``nasbench201_pred.py`` defaults): batch 64 training images with labels
(``--dataload random``, one batch), seed 42, default PyTorch initialisation (``--init_w_type
none``), BatchNorm kept, network in train mode, dataset-sized head. The network is
``foresight/models/nasbench201.py``: its cells are built with the default ``affine=True,
track_running_stats=True`` (convs without bias), i.e. the benchmark's own network, not the
zero-cost code's non-affine variant.

Implementation: correlations in torch float64 (one Gram matrix per response), a forward response
shared by the modules that read the same tensor (a ``ReLUConvBN`` and its inner ReLU; one node
feeding several operations); the backward response through a hook on the module output's
autograd node, which is what the legacy module hook does.
"""

from __future__ import annotations

import weakref
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy


def is_relu_named(module: nn.Module) -> bool:
    """The reference's test: 'ReLU' in the module's type name."""
    return "ReLU" in str(type(module))


def abs_correlation(rows: torch.Tensor) -> Optional[torch.Tensor]:
    """|Pearson correlation| of the rows (B x B, float64); None where a row is constant (numpy's
    ``corrcoef`` would give NaN there, and the reference then skips the response)."""
    x = rows.detach().reshape(rows.shape[0], -1).to(torch.float64)
    if x.shape[1] < 2:
        return None  # one value per example: the covariance divides by D - 1 = 0
    x = x - x.mean(dim=1, keepdim=True)
    cov = x @ x.T
    var = torch.diagonal(cov)
    if not bool(torch.all(var > 0)) or not bool(torch.isfinite(cov).all()):
        return None
    scale = torch.sqrt(var)
    corr = (cov / scale[:, None] / scale[None, :]).clamp(-1.0, 1.0)  # corrcoef clips too
    return corr.abs()


def weighted_modules(model: nn.Module) -> List[Tuple[nn.Module, float]]:
    """(module, weight) for the ReLU-named modules of each block and of ``lastact``."""
    blocks = None
    for name in ("cells", "layers", "block_list"):
        if hasattr(model, name):
            blocks = getattr(model, name)
            break
    if blocks is None:
        raise ValueError("wrcor needs a network with 'cells', 'layers' or 'block_list' (its weighted blocks)")
    out: List[Tuple[nn.Module, float]] = []
    for i, block in enumerate(blocks):
        out += [(m, float(2 ** i)) for _, m in block.named_modules() if is_relu_named(m)]
    if hasattr(model, "lastact"):
        out += [(m, float(2 ** len(blocks))) for _, m in model.lastact.named_modules() if is_relu_named(m)]
    return out


class _Kernel:
    """K, the weighted sum of |correlation| matrices, with the forward responses cached."""

    def __init__(self, size: int, device: torch.device):
        self.value = torch.zeros(size, size, dtype=torch.float64, device=device)
        self._cache: List[Tuple[weakref.ref, int, Optional[torch.Tensor]]] = []

    def add(self, corr: Optional[torch.Tensor], weight: float) -> None:
        if corr is not None:
            self.value += weight * corr

    def forward_response(self, tensor: torch.Tensor) -> Optional[torch.Tensor]:
        """|corr| of an input tensor, computed once per tensor (same object, unchanged)."""
        for ref, version, corr in self._cache:
            if ref() is tensor and tensor._version == version:
                return corr
        corr = abs_correlation(tensor)
        self._cache = [(weakref.ref(tensor), tensor._version, corr)] + self._cache[:3]
        return corr


def wrcor_kernel(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """K of ``model`` on one batch: one forward and one cross-entropy backward."""
    kernel = _Kernel(inputs.shape[0], inputs.device)
    handles = []

    def hooks_for(weight: float):
        def forward_hook(_m: nn.Module, args: tuple, output: object) -> None:
            if args and isinstance(args[0], torch.Tensor):
                kernel.add(kernel.forward_response(args[0]), weight)
            node = output.grad_fn if isinstance(output, torch.Tensor) else None
            if node is not None:
                node.register_hook(lambda grads, _outs: backward(grads))

        def backward(grads: tuple) -> None:
            if grads and isinstance(grads[0], torch.Tensor):
                kernel.add(abs_correlation(grads[0]), weight)

        return forward_hook

    for module, weight in weighted_modules(model):
        handles.append(module.register_forward_hook(hooks_for(weight)))
    try:
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    return kernel.value.cpu().numpy()


def wrcor_score(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """log|det K| (slogdet's value, sign ignored)."""
    _, value = np.linalg.slogdet(wrcor_kernel(model, inputs, targets))
    return float(value)


@proxy(
    "wrcor",
    direction="max",
    bn=True,
    loss="cross_entropy",
    batch_size=64,
    summary="log|det sum_l 2^block |corrcoef| of ReLU inputs and their CE gradients| over examples (WRCor)",
    paper={"authors": "Kun Jing et al.",
           "title": "Zero-Shot Neural Architecture Search with Weighted Response Correlation",
           "venue": "arXiv", "year": 2025, "url": "https://arxiv.org/abs/2507.08841"},
)
def wrcor(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """WRCor of an untrained ``model`` (train mode) on ``batch`` and its labels."""
    if batch.inputs.shape[0] < 2:
        raise ValueError("wrcor needs a batch of at least 2 examples (correlations between examples)")
    model.train()
    return wrcor_score(model, batch.inputs, batch.targets)
