"""NASWOT (Mellor et al., ICML 2021): log|det K| of the Hamming kernel of ReLU input codes.

Faithful to the authors' `hook_logdet` code: K sums, over every ReLU module lying on a path from
input to output, c c^T + (1-c)(1-c)^T of the binary codes c = (ReLU input > 0), flattened per
example; the score is slogdet's log-absolute-determinant. The authors find "on a path" with a
backward pass (backward hooks mark the ReLUs reached from the output) and then run a second
forward pass. Here one forward pass does it all:

- when the space proves every ReLU lies on such a path (``ProxyContext.relus_on_path``, e.g.
  NB201), the forward runs without autograd and every ReLU call counts;
- otherwise it records, per ReLU call, the autograd node of its output; walking the graph back
  from the output gives exactly the nodes the authors' backward pass visits.

Every entry of K is an integer, and it is computed exactly: per layer one GEMM G = c c^T (int8
codes with int32 accumulation on CPU, float32 below 2**24 elsewhere), summed over layers, and
since (1-c)(1-c)^T = D - s_i - s_j + c c^T with s_i = G_ii, K = 2 sum G - d_i - d_j + sum D.
So K, and hence the score, is bit-identical to the authors' float32 GEMMs summed in float64.
ReLUs reading the same tensor (a cell node feeding several convolutions) share one GEMM.
"""

from __future__ import annotations

import weakref
from typing import List, Optional, Set, Tuple

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

# float32 sums of 0/1 values are exact below 2**24; wider codes use float64
_EXACT_FLOAT32 = 2**24
# torch._int_mm on CPU returns garbage for a reduction length of 1 (torch 2.13); short codes
# are cheap in float32 anyway
_MIN_INT8_LENGTH = 8
# int32 accumulation of 0/1 products is exact below 2**31
_EXACT_INT32 = 2**31
# torch._int_mm on CUDA takes more than 16 rows and sizes that are multiples of 8
_CUDA_INT8_MIN_ROWS = 17


def is_relu(module: nn.Module) -> bool:
    """The authors' test: the module's type name contains 'ReLU'."""
    return "ReLU" in type(module).__name__


def binary_codes(inputs: torch.Tensor) -> torch.Tensor:
    """Boolean B x D codes (inputs > 0), one row per example."""
    return inputs.detach().reshape(inputs.shape[0], -1) > 0


def _int8_gram(codes: torch.Tensor) -> Optional[torch.Tensor]:
    """c c^T in int32 from bool codes viewed as int8; None where torch has no int8 GEMM for
    this device or shape (CUDA: more than 16 rows, lengths a multiple of 8)."""
    as_int8 = codes.contiguous().view(torch.int8)
    try:
        return torch._int_mm(as_int8, as_int8.T)
    except (AttributeError, RuntimeError):  # older torch: CUDA-only or absent
        return None


def code_gram(codes: torch.Tensor) -> torch.Tensor:
    """c c^T of boolean codes as an exact float64 B x B matrix.

    The bool codes are reinterpreted as int8 (no conversion pass) and multiplied with int32
    accumulation, exact below 2**31 per entry: on CPU (VNNI) 2-4x float32's speed, on a GPU the
    int8 tensor cores instead of a float32 GEMM and a conversion pass.
    """
    rows, dim = codes.shape
    cuda_ok = rows >= _CUDA_INT8_MIN_ROWS and rows % 8 == 0 and dim % 8 == 0
    if _MIN_INT8_LENGTH <= dim < _EXACT_INT32 and (codes.device.type == "cpu" or cuda_ok):
        gram = _int8_gram(codes)
        if gram is not None:
            return gram.double()
    dtype = torch.float32 if dim < _EXACT_FLOAT32 else torch.float64
    as_float = codes.to(dtype)
    return (as_float @ as_float.T).double()


def kernel_from_gram(gram: torch.Tensor, length: int) -> torch.Tensor:
    """Sum over layers of c c^T + (1-c)(1-c)^T from sum c c^T and the summed code length."""
    sums = torch.diagonal(gram)  # c_i . c_i = number of ones in row i
    return 2.0 * gram - sums[:, None] - sums[None, :] + float(length)


def code_kernel(inputs: torch.Tensor) -> torch.Tensor:
    """B x B float64 matrix c c^T + (1-c)(1-c)^T for codes c = (inputs > 0), one GEMM."""
    codes = binary_codes(inputs)
    return kernel_from_gram(code_gram(codes), codes.shape[1])


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


class _GramCache:
    """c c^T and code length of a ReLU's input, reused when several ReLUs read the same tensor.

    In a cell every operation on an edge has its own ReLU, so a node feeding three convolutions
    is ReLU'd three times: same codes, same Gram matrix. The same tensor object at the same
    version (no in-place change since) has the same values, so reuse is exact.
    """

    def __init__(self, keep: int = 4):
        self.keep = keep
        self.entries: List[Tuple[weakref.ref, int, torch.Tensor, int]] = []

    def gram_of(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, int]:
        for ref, version, gram, length in self.entries:
            if ref() is inputs and inputs._version == version:
                return gram, length
        codes = binary_codes(inputs)
        gram, length = code_gram(codes), codes.shape[1]
        # a weak reference: a freed tensor's memory is reused at once, and a new tensor at the
        # same address is not mistaken for it (the dead reference returns None)
        self.entries = [(weakref.ref(inputs), inputs._version, gram, length)] + self.entries[: self.keep - 1]
        return gram, length


class _GramSum:
    """Running exact sum of the layers' c c^T and of their code lengths."""

    def __init__(self, size: int, device: torch.device):
        self.gram = torch.zeros(size, size, dtype=torch.float64, device=device)
        self.length = 0
        self.cache = _GramCache()

    def add(self, inputs: torch.Tensor) -> None:
        gram, length = self.cache.gram_of(inputs)
        self.gram += gram
        self.length += length

    def kernel(self) -> np.ndarray:
        return kernel_from_gram(self.gram, self.length).cpu().numpy()


def _kernel_all_relus(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """K over every ReLU call, forward without autograd: valid when all lie on a path."""
    total = _GramSum(inputs.shape[0], inputs.device)
    handles = [m.register_forward_hook(lambda _m, args, _out: total.add(args[0]))
               for m in model.modules() if is_relu(m)]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total.kernel()


def _kernel_on_paths(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """K over the ReLU calls whose output the autograd graph links to the model's output."""
    records: List[Tuple[object, torch.Tensor, int]] = []
    cache = _GramCache()

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        records.append((output.grad_fn, *cache.gram_of(args[0])))

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
    total = _GramSum(inputs.shape[0], inputs.device)
    for node, gram, length in records:
        if node is not None and node in reached:
            total.gram += gram
            total.length += length
    return total.kernel()


def naswot_kernel(model: nn.Module, inputs: torch.Tensor, relus_on_path: bool = False) -> np.ndarray:
    """The NASWOT kernel K (float64 numpy, B x B) of ``model`` on ``inputs``, in one forward pass.

    ``relus_on_path``: the caller guarantees every ReLU call lies on an input-output path, so
    the autograd graph need not be recorded and walked.
    """
    if relus_on_path:
        return _kernel_all_relus(model, inputs)
    return _kernel_on_paths(model, inputs)


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
    paper={"authors": "Joseph Mellor, Jack Turner, Amos Storkey, Elliot J. Crowley",
           "title": "Neural Architecture Search without Training",
           "venue": "ICML", "year": 2021, "url": "https://arxiv.org/abs/2006.04647"},
)
def naswot(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """NASWOT score of an untrained ``model`` (train mode: BatchNorm uses batch statistics)."""
    model.train()
    return logdet(naswot_kernel(model, batch.inputs, ctx.relus_on_path))
