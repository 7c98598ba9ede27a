"""The NASWOT authors' two-pass `hook_logdet` algorithm, re-implemented step by step.

1. Register a forward hook and a (module) backward hook on every module whose type name contains
   'ReLU'. The backward hook marks the module as visited.
2. Forward the batch with requires_grad on the input; backward ones from the output: this marks
   the ReLUs on an input-to-output path. The forward hook ignores unmarked modules, so this first
   forward adds nothing.
3. Forward the batch again: each marked ReLU adds c c^T + (1-c)(1-c)^T (two GEMMs, moved to numpy)
   to K, c = (ReLU input > 0) flattened per example.
4. Score = slogdet(K)[1].
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn


def two_pass_kernel(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """K as the authors compute it (float64 numpy)."""
    size = inputs.shape[0]
    state = {"K": np.zeros((size, size)), "visited": set()}

    def forward_hook(module, inp, out):
        if id(module) not in state["visited"]:
            return
        x = inp[0] if isinstance(inp, tuple) else inp
        x = x.view(x.size(0), -1)
        c = (x > 0).float()
        k1 = c @ c.t()
        k2 = (1.0 - c) @ (1.0 - c.t())
        state["K"] = state["K"] + k1.cpu().numpy() + k2.cpu().numpy()

    def backward_hook(module, grad_in, grad_out):
        state["visited"].add(id(module))

    handles = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # register_backward_hook is deprecated but is what they used
        for module in model.modules():
            if "ReLU" in str(type(module)):
                handles.append(module.register_forward_hook(forward_hook))
                handles.append(module.register_backward_hook(backward_hook))
        try:
            x = inputs.clone().requires_grad_(True)
            y = model(x)
            y.backward(torch.ones_like(y))
            model(inputs.clone())
        finally:
            for handle in handles:
                handle.remove()
    return state["K"]


def two_pass_score(model: nn.Module, inputs: torch.Tensor) -> float:
    """The authors' NASWOT score: slogdet's log|det K| of the two-pass kernel."""
    model.train()
    _, value = np.linalg.slogdet(two_pass_kernel(model, inputs))
    return float(value)
