"""SWAP-Score (Peng et al., ICLR 2024): number of distinct sample-wise activation patterns.

Paper: "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS". Reference code:
github:pym1024/SWAP ``src/metrics/swap.py`` (``SWAP``, ``SampleWiseActivationPatterns``,
``cal_regular_factor``), ``correlation.py`` (the protocol) and ``src/utils/utilities.py``
(``network_weight_gaussian_init``, ``count_parameters``).

Definition (``swap``). Forward hooks on every ``nn.ReLU`` module take its OUTPUT, for calls
whose input is 4-D (feature maps; ReLUs on vectors are ignored). The outputs of one forward pass
of a batch of B = 16 real training images (BatchNorm in train mode) are flattened per example
and concatenated into a B x D matrix; its signs (0 or 1 after a ReLU) are read column-wise: each
of the D neurons has a binary pattern of length B over the examples. SWAP = the number of
distinct patterns (``torch.unique`` of the D rows of the transposed matrix). The protocol
re-initialises the network before each pass (Conv2d and Linear weights N(0, 1), biases 0,
BatchNorm weights 1 and biases 0) and averages R = 32 passes.

``swap_reg``: SWAP times the size regulariser exp(-(P - mu)^2 / sigma), P = the number of
parameters (every named parameter, none being "auxiliary") in THOUSANDS, as ``count_parameters``.

Constants: B = 16 (``--input_samples``), R = 32 (``--repeats``), N(0, 1) weights; these are the
defaults of the repository's only protocol script (DARTS networks); it has no NB201 script.
``swap_reg``'s mu and sigma: the public code sets none for NAS-Bench-201 (its scripts use
``regular=False`` or DARTS/Transformer-specific values) and the paper's values could not be
checked here. SWAP_REG_MU = 1532 and SWAP_REG_SIGMA = 2.13e6 are OUR choice, not the authors':
mu = the largest NB201 network (1.532 M parameters on CIFAR-10), sigma = (1532 - 73)^2, the
squared span of NB201 sizes, so the factor rises from e^-1 for the smallest NB201 network to 1
for the largest. Replace them with the paper's values when those are known.

Deviations: the re-inits are drawn from a generator seeded by the context (the reference uses
torch's global RNG); the patterns are packed into 64-bit integers before counting, and with up to
20 examples counted in a presence table (the count is the same as ``torch.unique`` of the sign
rows).
"""

from __future__ import annotations

import math
from typing import List

import torch
from torch import nn

from nasbench_cli.proxies._gaussian import gaussian_init
from nasbench_cli.proxies._layers import seeded_generator
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

#: re-initialisations averaged by the reference protocol (``--repeats``)
REPEATS = 32
#: regulariser centre and width, parameters counted in thousands (see the module docstring)
SWAP_REG_MU = 1532.0
SWAP_REG_SIGMA = 2.13e6
#: bits packed per word: a float64 sum of distinct powers of two below 2^53 is exact
_WORD_BITS = 52
#: codes below this are counted in a presence table instead of sorted (batches of up to 20)
_TABLE_SIZE = 1 << 20


def pack_patterns(output: torch.Tensor) -> torch.Tensor:
    """(neurons, words) int64: neuron j's bit i is (example i's activation > 0)."""
    active = output.detach().reshape(output.shape[0], -1) > 0  # (B, D)
    batch = active.shape[0]
    words = []
    for start in range(0, batch, _WORD_BITS):
        rows = active[start:start + _WORD_BITS].to(torch.float64)
        powers = torch.pow(2.0, torch.arange(rows.shape[0], dtype=torch.float64, device=output.device))
        # one matrix-vector product packs the bits (about twice as fast as shifting int64 rows)
        words.append((powers @ rows).to(torch.int64))
    return torch.stack(words, dim=1)


def count_patterns(codes: List[torch.Tensor]) -> int:
    """Number of distinct rows among the packed patterns of all layers."""
    codes = [code for code in codes if code.numel()]
    if not codes:
        return 0
    largest = max(int(code.max()) for code in codes)
    if codes[0].shape[1] == 1 and largest < _TABLE_SIZE:
        # few examples (SWAP's 16): mark each code in a presence table, linear in the neurons,
        # where sorting them all (torch.unique) was a fifth of the proxy's time
        seen = torch.zeros(largest + 1, dtype=torch.bool, device=codes[0].device)
        for code in codes:
            seen[code[:, 0]] = True
        return int(seen.sum())
    allcodes = torch.cat(codes, dim=0)
    if allcodes.shape[1] == 1:
        return int(torch.unique(allcodes[:, 0]).numel())
    return int(torch.unique(allcodes, dim=0).shape[0])


def relu_modules(model: nn.Module) -> List[nn.Module]:
    """The ``nn.ReLU`` modules, whose outputs SWAP reads."""
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("swap needs a network with nn.ReLU modules (it reads their outputs)")
    return relus


def swap_count(model: nn.Module, inputs: torch.Tensor) -> int:
    """Distinct sample-wise patterns of the outputs of ReLUs on 4-D inputs, one forward pass."""
    codes: List[torch.Tensor] = []

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
            codes.append(pack_patterns(output))

    handles = [m.register_forward_hook(record) for m in relu_modules(model)]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return count_patterns(codes)


def parameter_thousands(model: nn.Module) -> float:
    """Parameters in thousands, leaving out names containing "auxiliary" (``count_parameters``)."""
    return sum(p.numel() for name, p in model.named_parameters() if "auxiliary" not in name) / 1e3


def regular_factor(model: nn.Module, mu: float = SWAP_REG_MU, sigma: float = SWAP_REG_SIGMA) -> float:
    """exp(-(P - mu)^2 / sigma), P in thousands of parameters."""
    return math.exp(-((parameter_thousands(model) - mu) ** 2) / sigma)


def swap_mean(model: nn.Module, inputs: torch.Tensor, seed: int, repeats: int) -> float:
    """Mean SWAP over ``repeats`` N(0, 1) re-initialisations drawn from ``seed``."""
    model.train()
    generator = seeded_generator(seed, 0)
    counts = []
    for _ in range(repeats):
        gaussian_init(model, generator)
        counts.append(swap_count(model, inputs))
    return float(sum(counts)) / len(counts)


@proxy(
    "swap",
    direction="max",
    bn=True,
    loss=None,
    batch_size=16,
    summary="distinct sample-wise ReLU-output sign patterns, 16 images, mean of 32 N(0,1) inits (SWAP)",
    paper={"authors": "Yameng Peng, Andy Song, Haytham M. Fayek, Vic Ciesielski, Xiaojun Chang",
           "title": "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS",
           "venue": "ICLR", "year": 2024, "url": "https://arxiv.org/abs/2403.04161"},
)
def swap(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """SWAP-Score of ``model`` (re-initialised from ``ctx.seed``) on ``batch``."""
    return swap_mean(model, batch.inputs, ctx.seed, REPEATS)


@proxy(
    "swap_reg",
    direction="max",
    bn=True,
    loss=None,
    batch_size=16,
    summary="SWAP x exp(-(kparams - 1532)^2 / 2.13e6) (regularised SWAP; mu, sigma our choice)",
    paper={"authors": "Yameng Peng, Andy Song, Haytham M. Fayek, Vic Ciesielski, Xiaojun Chang",
           "title": "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS",
           "venue": "ICLR", "year": 2024, "url": "https://arxiv.org/abs/2403.04161"},
)
def swap_reg(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Regularised SWAP-Score: SWAP times the parameter-count factor."""
    factor = regular_factor(model)  # before anything else touches the model (size only)
    return swap_mean(model, batch.inputs, ctx.seed, REPEATS) * factor
