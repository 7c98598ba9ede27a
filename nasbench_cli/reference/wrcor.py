"""The WRCor authors' ``act_grad_cor_weighted`` measure (github:kunjing96/ZSNAS-WRCor,
``foresight/pruners/measures/act_grad_cor_weighted.py``), step by step.

1. Blocks: ``net.cells`` (else ``net.layers`` / ``net.block_list``); for block i, every module of
   ``block.named_modules()`` whose ``str(type(m))`` contains 'ReLU' gets a forward hook and a
   legacy ``register_backward_hook``, both with weight 2**i; the same for ``net.lastact`` with
   weight 2**len(blocks).
2. Forward hook: the module input viewed as (B, -1); ``np.corrcoef``; if it has no NaN, K +=
   weight * |corr|. Backward hook: ``grad_input[0]`` the same way. (Exceptions are swallowed.)
3. ``net.zero_grad()``, K = zeros(B, B), cross-entropy of the outputs, ``backward()``.
4. Score = ``np.linalg.slogdet(K)[1]`` (one split; the product over one split is the value).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def act_grad_cor_weighted(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """The reference score of ``net`` (in the mode it is in) on one batch."""
    state = {"K": None}

    def get_counting_forward_hook(weight):
        def counting_forward_hook(module, inp, out):
            try:
                if isinstance(inp, tuple):
                    inp = inp[0]
                inp = inp.view(inp.size(0), -1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    act_corrs = np.corrcoef(inp.detach().cpu().numpy())
                if np.sum(np.isnan(act_corrs)) == 0:
                    state["K"] = state["K"] + weight * (np.abs(act_corrs))
            except Exception:  # the reference prints and goes on
                pass
        return counting_forward_hook

    def get_counting_backward_hook(weight):
        def counting_backward_hook(module, grad_input, grad_output):
            try:
                if isinstance(grad_input, tuple):
                    grad_input = grad_input[0]
                grad_input = grad_input.view(grad_input.size(0), -1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    grad_corrs = np.corrcoef(grad_input.detach().cpu().numpy())
                if np.sum(np.isnan(grad_corrs)) == 0:
                    state["K"] = state["K"] + weight * (np.abs(grad_corrs))
            except Exception:
                pass
        return counting_backward_hook

    modules = net.cells if hasattr(net, "cells") else net.layers if hasattr(net, "layers") else \
        net.block_list if hasattr(net, "block_list") else None
    handles = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # register_backward_hook is deprecated; it is what they use
        for i, module in enumerate(modules):
            for _, m in module.named_modules():
                if "ReLU" in str(type(m)):
                    handles.append(m.register_forward_hook(get_counting_forward_hook(2 ** i)))
                    handles.append(m.register_backward_hook(get_counting_backward_hook(2 ** i)))
        if hasattr(net, "lastact"):
            for _, m in net.lastact.named_modules():
                if "ReLU" in str(type(m)):
                    handles.append(m.register_forward_hook(get_counting_forward_hook(2 ** len(modules))))
                    handles.append(m.register_backward_hook(get_counting_backward_hook(2 ** len(modules))))
        try:
            n = inputs.shape[0]
            net.zero_grad()
            state["K"] = np.zeros((n, n))
            outputs = net(inputs)
            loss = F.cross_entropy(outputs, targets)
            loss.backward()
        finally:
            for handle in handles:
                handle.remove()
    _, value = np.linalg.slogdet(state["K"])
    return float(np.prod([value]))
