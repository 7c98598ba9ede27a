"""The NEAR authors' ``__get_near_score`` (github:ReiherGroup/NEAR, release 1.0.0), step by step.

1. Layers: every module with a ``weight`` attribute or of a ``torch.nn`` activation class, in
   ``named_modules()`` order; a forward hook per layer.
2. Per call, the output (a tuple's first item); a feature map is transposed (1, 3) and flattened
   over its first three axes; it is concatenated to the layer's rows. Once rows >= columns: a
   start k * size (size = the output's last dimension, k from numpy's global ``randint(0,
   rows // size - 1)``, or 0) and the block of ``columns`` rows from there; the hook is removed.
3. Loop over the loader's batches until every layer that was called is complete.
4. Score = sum over the layers that got rows of exp(scipy entropy of s / sum(s)), s = float32
   singular values, NaN -> 0.
"""

from __future__ import annotations

from typing import Iterable, List

import numpy as np
import scipy.stats
import torch
from torch import nn


def effective_rank(matrix: torch.Tensor) -> float:
    """The reference's ``get_effective_rank``: e ** entropy(s / sum(s)), NaN -> 0."""
    s = torch.linalg.svdvals(matrix)
    s /= torch.sum(s)
    with np.errstate(invalid="ignore", divide="ignore"):
        erank = torch.e ** scipy.stats.entropy(s.detach().numpy())
    return float(np.nan_to_num(erank))


def near_score(model: nn.Module, batches: Iterable[torch.Tensor], seed: int) -> float:
    """NEAR as the reference computes it, numpy's global RNG seeded with ``seed`` first."""
    np.random.seed(seed)
    hooks: List = []
    activations: List[torch.Tensor] = []
    finished: List[int] = []
    called = set()

    def get_activation(layer_id: int):
        def hook(module, inputs, output):
            called.add(layer_id)
            if isinstance(output, tuple):
                output = output[0]
            size = output.shape[-1]
            if output.dim() > 2:
                output = torch.transpose(output, 1, 3).flatten(0, 2)
            activations[layer_id] = torch.cat((activations[layer_id], output), dim=0)
            if activations[layer_id].shape[0] >= activations[layer_id].shape[1]:
                blocks = activations[layer_id].shape[0] // size - 1
                start = np.random.randint(0, blocks) * size if blocks > 0 else 0
                end = start + activations[layer_id].shape[1]
                activations[layer_id] = activations[layer_id][start:end]
                hooks[layer_id].remove()
                finished.append(layer_id)
        return hook

    kinds = tuple(getattr(torch.nn, name) for name in torch.nn.modules.activation.__all__)
    layer_stack = [m for _, m in model.named_modules() if hasattr(m, "weight") or isinstance(m, kinds)]
    for layer_id, layer in enumerate(layer_stack):
        activations.append(torch.tensor([]))
        hooks.append(layer.register_forward_hook(get_activation(layer_id)))
    try:
        for x in batches:
            model(x)
            if len(finished) == len(called):
                break
    finally:
        for handle in hooks:
            handle.remove()
    score = 0.0
    for activation in activations:
        if len(activation) == 0:
            continue
        score += effective_rank(activation.detach())
    return score
