"""Zen-score (Lin et al., "Zen-NAS", ICCV 2021): expressivity of the pre-pooling features under a
small input perturbation, corrected by the BatchNorm scaling.

Definition, on one random re-initialisation of the network (BatchNorm in train mode, no gradients):

1. Conv2d and Linear weights ~ N(0, 1), their biases 0; BatchNorm/GroupNorm scales 1, shifts 0;
   BatchNorm running statistics reset (a fresh network's: mean 0, variance 1).
2. x, e ~ N(0, 1) of shape [B, C, H, W] (the data's image shape; no real data is used), B the
   ``batch_size`` option (default 32); x' = x + 0.01 * e.
3. F(.) = the features entering global average pooling; D = mean over the batch of
   sum over channels and positions of |F(x) - F(x')|.
4. score = log(D) + sum over BatchNorm2d layers of log(sqrt(mean over channels of running_var)),
   the running variances being those left by the two forward passes (the layer's own momentum,
   0.1 in NB201: running_var = 0.81 + 0.09 v(x) + 0.1 v(x') per channel, v unbiased batch
   variances). A network whose features ignore the input has D = 0 and a score of -inf.

The Gaussian draws come from ``seeded_generator(ctx.seed, 0)``: first the weights in ``modules()``
order, then x, then e. Features before pooling are the input of the model's last
``nn.AdaptiveAvgPool2d`` (NASLib's hook for NB201), or what a model's own
``forward_before_global_avg_pool(x)`` method returns; a model with neither raises ValueError.

References: NASLib ``naslib/predictors/utils/pruners/measures/zen.py`` (``Develop``; the same in
``naslib/predictors/pruners/measures/zen.py`` on ``zerocost``), taken from the authors'
``idstcv/ZenNAS`` ``ZeroShotProxy/compute_zen_score.py``; NB201's
``forward_before_global_avg_pool`` (``naslib/search_spaces/nasbench201/graph.py``). Protocol
from NAS-Bench-Suite-Zero's NB201 runs: mixup gamma 1e-2, one repeat (NASLib's default, also what
ZenNAS's evolution search passes), float32, the benchmark network with affine BatchNorm and running
statistics (NASLib makes the chosen cell ops so). Both codes draw as many Gaussian inputs as the
caller's batch size: NASLib the shape of its data batch, which NAS-Bench-Suite-Zero's configs set
to 32 (``scripts/zc/create_configs_benchmarks.py``, ``--batch_size`` default 32); ZenNAS its
search's ``--batch_size``. Hence B = 32 by default. Higher is better.

Deviations: the BatchNorm term reads running variances after the two passes, as both codes do,
rather than the paper's batch standard deviation; B is the ``zen.batch_size`` option (``--proxy-option
zen.batch_size=64``): a run's ``--batch-size`` does not reach a data-free proxy; BatchNorm2d layers
without running statistics raise ValueError (the reference would fail on them too).
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
from torch import nn

from nasbench_cli.proxies._gaussian import gaussian_init
from nasbench_cli.proxies._layers import seeded_generator
from nasbench_cli.proxies.base import Batch, ProxyContext, ProxyOption, proxy

MIXUP_GAMMA = 1e-2
#: Gaussian inputs drawn: NAS-Bench-Suite-Zero's batch size (its configs' 32)
BATCH_SIZE = 32
REPEATS = 1
#: B is an option, not the run's batch: a data-free proxy is not handed the --batch-size
BATCH_OPTION = ProxyOption("batch_size", BATCH_SIZE, "Gaussian inputs drawn (NAS-Bench-Suite-Zero: 32)",
                           minimum=2)


def batchnorm2d_layers(model: nn.Module) -> List[nn.BatchNorm2d]:
    """The model's BatchNorm2d layers; ValueError if one keeps no running statistics."""
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in layers:
        if m.running_var is None:
            raise ValueError("zen reads BatchNorm running variances, but a BatchNorm2d layer has "
                             "track_running_stats=False")
    return layers


def pre_pooling_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The features that enter the model's global average pooling for input ``x``."""
    own = getattr(model, "forward_before_global_avg_pool", None)
    if callable(own):
        return own(x)
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise ValueError(f"zen needs the features before global average pooling, but "
                         f"{type(model).__name__} has no nn.AdaptiveAvgPool2d (and no "
                         f"forward_before_global_avg_pool method)")
    seen: List[torch.Tensor] = []
    handle = pools[-1].register_forward_hook(lambda module, args, output: seen.append(args[0]))
    try:
        model(x)
    finally:
        handle.remove()
    if not seen:
        raise ValueError(f"zen: the last nn.AdaptiveAvgPool2d of {type(model).__name__} is not used "
                         f"in its forward pass")
    return seen[-1]


def _log(value: float) -> float:
    """Natural log with torch's conventions: log(0) = -inf, log of a negative or NaN = NaN."""
    if value > 0:
        return math.log(value)
    return -math.inf if value == 0 else math.nan


def zen_score(model: nn.Module, input_shape: Tuple[int, ...], device: torch.device, seed: int,
              batch_size: int = BATCH_SIZE, repeats: int = REPEATS, gamma: float = MIXUP_GAMMA) -> float:
    """Mean Zen-score over ``repeats`` Gaussian re-initialisations of ``model`` (modified in place)."""
    gen = seeded_generator(seed, 0)
    first = next(iter(model.parameters()), None)
    dtype = first.dtype if first is not None else torch.float32
    shape = (batch_size,) + tuple(input_shape)
    norms = batchnorm2d_layers(model)
    for m in norms:
        m.reset_running_stats()  # the reference scores a fresh network: running_var starts at 1
    model.train()
    scores = []
    with torch.no_grad():
        for _ in range(repeats):
            gaussian_init(model, gen)
            x = torch.randn(shape, generator=gen, dtype=torch.float32)
            noise = torch.randn(shape, generator=gen, dtype=torch.float32)
            x = x.to(device, dtype)
            mixed = x + gamma * noise.to(device, dtype)
            diff = pre_pooling_features(model, x) - pre_pooling_features(model, mixed)
            spread = float(diff.abs().flatten(1).sum(dim=1).mean())
            log_bn = sum(0.5 * _log(float(m.running_var.double().mean())) for m in norms)
            scores.append(_log(spread) + log_bn)
    return float(sum(scores) / len(scores))


@proxy(
    "zen",
    direction="max",
    bn=True,
    loss=None,
    batch_size=BATCH_SIZE,
    needs_data=False,
    options=(BATCH_OPTION,),
    summary="Zen-score: log mean |F(x)-F(x+0.01e)| pre-GAP + sum log BN std, N(0,1) weights and inputs",
    paper={"authors": "Ming Lin, Pichao Wang, Zhenhong Sun, Hesen Chen, Xiuyu Sun, Qi Qian, Hao Li, Rong Jin",
           "title": "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition",
           "venue": "ICCV", "year": 2021, "url": "https://arxiv.org/abs/2102.01063"},
)
def zen(model: nn.Module, batch: Optional[Batch], ctx: ProxyContext) -> float:
    """Zen-score of ``model`` for ``batch_size`` Gaussian inputs of the data's image shape (no real
    data)."""
    if ctx.input_shape is not None:
        shape = tuple(ctx.input_shape)
    elif batch is not None:
        shape = tuple(batch.inputs.shape[1:])
    else:
        raise ValueError("zen needs the input shape: pass ProxyContext.input_shape or a batch")
    return zen_score(model, shape, ctx.device, ctx.seed, batch_size=int(ctx.options.get("batch_size", BATCH_SIZE)))
