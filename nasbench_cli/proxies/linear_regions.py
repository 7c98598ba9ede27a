"""TE-NAS number of linear regions (Chen et al., ICLR 2021), on a single cell and tiny crops.

A ReLU network is piecewise linear; each input's pattern of active units identifies the linear
region it lies in. The score is the number of distinct patterns among a set of inputs.

``linear_regions`` follows TE-NAS's code (github.com/VITA-Group/TENAS: ``prune_tenas.py``, which
builds the network and the ``Linear_Region_Collector``, and ``lib/procedures/
linear_region_counter.py``), applied to one architecture where TE-NAS scores a pruned supernet:

- Network: a **single cell** and the head: ``C=1, N=1, depth=1, use_stem=False`` in TE-NAS,
  i.e. one cell with 1 input and 1 output channel, then BN-ReLU-pool-linear. The spec asks the
  scoring loop for it through ``build_options`` (NB201: ``C=1, N=1, depth=1, stem=False``).
- Inputs: ``NUM_CROPS`` = 3 x ``CHUNK`` (3 x 1000) random ``CROP`` x ``CROP`` (3 x 3) crops, each of
  **one randomly chosen colour channel** (TE-NAS's ``RandChannel(1)`` after ``Normalize``: the
  channel is selected, so the crop has 1 channel, not 3 with two zeroed), one crop per image of
  a shuffled pass over the batch, as TE-NAS's loader gives one crop per image. Images, positions and
  channels come from a generator with the fixed seed ``CROP_SEED``, so every architecture scored
  on the same batch sees the same crops. They are forwarded in chunks of ``CHUNK`` in train mode:
  BatchNorm uses each chunk's statistics, as TE-NAS forwards 3 loader batches of 1000.
- Units: the output sign (> 0) of every call of an ``nn.ReLU`` module, every unit of it: TE-NAS
  hooks the ReLUs with a 4-D input, which in the single cell is all of them, the head's included.
- Initialisation: TE-NAS's forward-pass init, Kaiming normal fan_in (ReLU gain), biases 0,
  BatchNorm 1/0, drawn from a generator seeded by ``(ctx.seed, repeat)`` (the incoming init is
  replaced). The score is the **mean over ``repeats`` (3) initialisations**, TE-NAS's
  ``--repeat 3``; each repeat sees its own crops, as TE-NAS's loader moves on between repeats.

Deviations: the crops come from the run's batch, ``batch_size`` (default ``CHUNK`` = 1000) images
taken in successive shuffled passes, so each 1000-crop chunk (one BatchNorm batch) holds 1000
different images as TE-NAS's loader batch does; TE-NAS's loader draws new images for every chunk
and repeat (its 3 x 3 x 1000 crops come from 9000 images of the 50,000). TE-NAS counts distinct
rows with a half-precision matrix product; this counts distinct bit-packed rows exactly (the same
number for a cell's few dozen units).

Measured (scripts/bench_fidelity.py): Kendall tau 0.51 [0.44, 0.57] on 300 NB201 nets (seed 0,
CIFAR-10 ``ori-test@200``, 95% bootstrap interval); TE-NAS published 0.50.

``linear_regions_net`` keeps the earlier whole-network counter: the thin 3-stage network with
stem and reductions (``C=1, N=1``), 3-channel crops drawn from random images, one
initialisation by default. It ranks NB201 worse: Kendall tau 0.39 against 0.51 for
``linear_regions`` (300 nets, seed 0, CIFAR-10 ``ori-test@200``; scripts/bench_fidelity.py).
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator
from nasbench_cli.proxies.base import Batch, ProxyContext, ProxyOption, proxy

NUM_CROPS = 3000
CROP = 3
CHUNK = 1000
CROP_SEED = 0
#: TE-NAS's --repeat 3: initialisations averaged
REPEATS = 3
#: TE-NAS's RandChannel(1): colour channels per crop
CHANNELS = 1
#: TE-NAS's single cell: one 1-channel cell without stem, then the head
SINGLE_CELL = (("C", 1), ("N", 1), ("depth", 1), ("stem", False))


def random_crops(images: torch.Tensor, count: int, size: int, generator: torch.Generator,
                 channels: Optional[int] = None, distinct: bool = False) -> torch.Tensor:
    """``count`` crops of ``size`` x ``size`` (clipped to the image) at random positions.

    ``distinct``: images in the order of successive random permutations of the batch, so any
    ``n`` consecutive crops come from ``n`` different images (a shuffled loader's epoch); else
    images drawn with replacement. ``channels``: keep that many randomly chosen channels of each
    crop, in their original order (TE-NAS's ``RandChannel``); None keeps all.
    """
    n, c, height, width = images.shape
    ch, cw = min(size, height), min(size, width)
    if distinct:
        rounds = -(-count // n)
        which = torch.cat([torch.randperm(n, generator=generator) for _ in range(rounds)])[:count]
    else:
        which = torch.randint(0, n, (count,), generator=generator)
    top = torch.randint(0, height - ch + 1, (count,), generator=generator)
    left = torch.randint(0, width - cw + 1, (count,), generator=generator)
    rows = (top[:, None] + torch.arange(ch)[None, :]).to(images.device)  # count x ch
    cols = (left[:, None] + torch.arange(cw)[None, :]).to(images.device)  # count x cw
    picked = images[which.to(images.device)]  # count x C x H x W
    picked = picked.gather(2, rows[:, None, :, None].expand(-1, picked.shape[1], -1, width))
    crops = picked.gather(3, cols[:, None, None, :].expand(-1, picked.shape[1], ch, -1))
    if channels is None:
        return crops
    if not 1 <= channels <= c:
        raise ValueError(f"cannot pick {channels} of {c} channels")
    # a random subset per crop (argsort of uniform keys), sorted as RandChannel sorts its choice
    chosen = torch.rand(count, c, generator=generator).argsort(dim=1)[:, :channels].sort(dim=1).values
    index = chosen.to(images.device)[:, :, None, None].expand(-1, -1, ch, cw)
    return crops.gather(1, index)


def activation_patterns(model: nn.Module, inputs: torch.Tensor, chunk: int = CHUNK) -> np.ndarray:
    """Bit-packed ReLU sign patterns, one row per input (uint8, N x ceil(units / 8)).

    Every call of an ``nn.ReLU`` module counts. TE-NAS keeps those with a 4-D input: in the cell
    networks of these spaces that is every one."""
    pieces: List[torch.Tensor] = []

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        pieces.append((output > 0).reshape(output.shape[0], -1))

    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.ReLU)]
    rows = []
    try:
        with torch.no_grad():
            for start in range(0, inputs.shape[0], chunk):
                pieces.clear()
                model(inputs[start : start + chunk])
                if pieces:
                    codes = torch.cat(pieces, dim=1).cpu().numpy()
                else:
                    codes = np.zeros((min(chunk, inputs.shape[0] - start), 0), dtype=bool)
                rows.append(np.packbits(codes, axis=1))
    finally:
        for handle in handles:
            handle.remove()
    return np.concatenate(rows, axis=0)


def count_regions(model: nn.Module, inputs: torch.Tensor, chunk: int = CHUNK) -> int:
    """Number of distinct ReLU sign patterns of ``model`` over ``inputs``."""
    patterns = activation_patterns(model, inputs, chunk)
    if patterns.shape[1] == 0:
        return 1  # no ReLU: the network is one linear region
    return int(np.unique(patterns, axis=0).shape[0])


def count_once(model: nn.Module, images: torch.Tensor, seed: int, repeat: int,
               channels: Optional[int] = CHANNELS, distinct: bool = True) -> int:
    """Regions of ``model`` after initialisation ``repeat`` of ``seed``, on that repeat's crops."""
    crops = random_crops(images, NUM_CROPS, CROP, seeded_generator(CROP_SEED, repeat), channels, distinct)
    kaiming_normal_init(model, "fan_in", seeded_generator(seed, repeat))
    return count_regions(model, crops)


REPEATS_OPTION = ProxyOption("repeats", REPEATS, "initialisations averaged (TE-NAS: 3)", minimum=1)


@proxy(
    "linear_regions",
    direction="max",
    bn=True,
    loss=None,
    batch_size=CHUNK,
    build_options=SINGLE_CELL,
    options=(REPEATS_OPTION,),
    version="2",
    summary="TE-NAS: distinct ReLU patterns of a single 1-channel cell over 3000 one-channel 3x3 crops, "
            "mean of 3 fan-in inits",
    paper={"authors": "Wuyang Chen, Xinyu Gong, Zhangyang Wang",
           "title": "Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically Inspired Perspective",
           "venue": "ICLR", "year": 2021, "url": "https://arxiv.org/abs/2102.11535"},
)
def linear_regions(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Mean number of linear regions of the single cell over ``repeats`` fan-in initialisations."""
    model.train()
    repeats = int(ctx.options.get("repeats", REPEATS))
    return float(np.mean([count_once(model, batch.inputs, ctx.seed, r) for r in range(repeats)]))


@proxy(
    "linear_regions_net",
    direction="max",
    bn=True,
    loss=None,
    batch_size=64,
    build_options=(("C", 1), ("N", 1)),
    options=(ProxyOption("repeats", 1, "initialisations averaged", minimum=1),),
    summary="distinct ReLU patterns of the thin whole network (C=1, N=1) over 3000 3-channel 3x3 crops",
    paper={"authors": "Wuyang Chen, Xinyu Gong, Zhangyang Wang",
           "title": "Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically Inspired Perspective",
           "venue": "ICLR", "year": 2021, "url": "https://arxiv.org/abs/2102.11535"},
)
def linear_regions_net(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Linear regions of the thin whole network on all-channel crops (the earlier counter)."""
    model.train()
    repeats = int(ctx.options.get("repeats", 1))
    return float(np.mean([count_once(model, batch.inputs, ctx.seed, r, channels=None, distinct=False)
                          for r in range(repeats)]))
