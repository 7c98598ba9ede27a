"""NASWOT (Mellor et al., ICML 2021): log|det K| of the Hamming kernel of ReLU input codes.

Faithful to the authors' `hook_logdet` code: K sums, over every ReLU module lying on a path from
input to output, c c^T + (1-c)(1-c)^T of the binary codes c = (ReLU input > 0), flattened per
example; the score is slogdet's log-absolute-determinant. The authors find "on a path" with a
backward pass (backward hooks mark the ReLUs reached from the output) and then run a second
forward pass. Here one forward pass records, per ReLU call, its kernel and the autograd node of
its output; walking the autograd graph back from the output gives exactly the set of nodes the
backward pass would have visited, so no backward pass and no second forward are needed.
"""

from __future__ import annotations

from typing import List, Set, Tuple

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

# float32 sums of 0/1 values are exact below 2**24; wider codes use float64
_EXACT_FLOAT32 = 2**24


def is_relu(module: nn.Module) -> bool:
    """The authors' test: the module's type name contains 'ReLU'."""
    return "ReLU" in type(module).__name__


def code_kernel(inputs: torch.Tensor) -> torch.Tensor:
    """B x B float64 matrix c c^T + (1-c)(1-c)^T for codes c = (inputs > 0), one GEMM.

    (1-c)(1-c)^T = D - s_i - s_j + c c^T with s = row sums, D = code length.
    """
    flat = inputs.detach().reshape(inputs.shape[0], -1)
    dim = flat.shape[1]
    dtype = torch.float32 if dim < _EXACT_FLOAT32 else torch.float64
    codes = (flat > 0).to(dtype)
    gram = (codes @ codes.T).double()
    sums = codes.sum(dim=1).double()
    return 2.0 * gram - sums[:, None] - sums[None, :] + float(dim)


def reachable_nodes(output: torch.Tensor) -> Set[object]:
    """Autograd nodes a backward pass from ``output`` would visit."""
    seen: Set[object] = set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None and nxt not in seen)
    return seen


def naswot_kernel(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """The NASWOT kernel K (float64 numpy, B x B) of ``model`` on ``inputs``, in one forward pass."""
    records: List[Tuple[object, torch.Tensor]] = []

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        records.append((output.grad_fn, code_kernel(args[0])))

    handles = [m.register_forward_hook(record) for m in model.modules() if is_relu(m)]
    try:
        # the authors set requires_grad on the input; keep the same graph
        x = inputs.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
        reached = reachable_nodes(logits)
    finally:
        for handle in handles:
            handle.remove()
    kernel = torch.zeros(inputs.shape[0], inputs.shape[0], dtype=torch.float64, device=inputs.device)
    for node, layer_kernel in records:
        if node is not None and node in reached:
            kernel += layer_kernel
    return kernel.cpu().numpy()


def logdet(kernel: np.ndarray) -> float:
    """log|det K| via slogdet (sign ignored); a singular K gives -inf."""
    _, value = np.linalg.slogdet(kernel)
    return float(value)


@proxy(
    "naswot",
    direction="max",
    bn=True,
    loss=None,
    batch_size=128,
    head="one",
    reference_build="naswot",
    summary="log|det K|, K = Hamming kernel of binary ReLU-input codes on input-output paths (NASWOT)",
)
def naswot(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """NASWOT score of an untrained ``model`` (train mode: BatchNorm uses batch statistics)."""
    model.train()
    return logdet(naswot_kernel(model, batch.inputs))
