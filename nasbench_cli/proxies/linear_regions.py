"""TE-NAS number of linear regions (Chen et al., ICLR 2021), on a thin network and tiny crops.

A ReLU network is piecewise linear; each input's pattern of active units identifies the linear
region it lies in. The score is the number of distinct patterns among a set of inputs.

Protocol (TE-NAS's code, adapted to one architecture; TE-NAS ran it on a pruned supernet):
- Network: the one received. The spec asks the scoring loop for a thin one through
  ``build_options`` (NB201: ``C=1, N=1``, one channel in the first stage and one cell per stage;
  TE-NAS uses a single 1-channel cell without stem). With a full-width network nearly every input
  has its own pattern and the count saturates at the number of inputs.
- Inputs: ``NUM_CROPS`` (3 x 1000) random ``CROP`` x ``CROP`` (3 x 3) crops, all channels, of the
  batch's images. Image and position come from a generator with the fixed seed ``CROP_SEED``, so
  every architecture scored on the same batch sees the same crops. They are forwarded in chunks
  of ``CHUNK`` (1000) in train mode: BatchNorm uses each chunk's statistics, as in TE-NAS.
- Units: the output sign (> 0) of every call of an ``nn.ReLU`` module, every unit of it. TE-NAS
  keeps only ReLUs with 4-D input, which in these spaces are all of them.
- Initialisation: TE-NAS's forward-pass init, Kaiming normal fan_in (ReLU gain), biases 0,
  BatchNorm 1/0, drawn from a generator seeded by ``ctx.seed`` (the incoming init is replaced);
  one init per call (TE-NAS averages 3; average runs with several seeds for that).
"""

from __future__ import annotations

from typing import List

import numpy as np
import torch
from torch import nn

from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator
from nasbench_cli.proxies.base import Batch, ProxyContext, proxy

NUM_CROPS = 3000
CROP = 3
CHUNK = 1000
CROP_SEED = 0


def random_crops(images: torch.Tensor, count: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` crops of ``size`` x ``size`` (clipped to the image), random image and position."""
    n, _, height, width = images.shape
    ch, cw = min(size, height), min(size, width)
    which = torch.randint(0, n, (count,), generator=generator)
    top = torch.randint(0, height - ch + 1, (count,), generator=generator)
    left = torch.randint(0, width - cw + 1, (count,), generator=generator)
    rows = (top[:, None] + torch.arange(ch)[None, :]).to(images.device)  # count x ch
    cols = (left[:, None] + torch.arange(cw)[None, :]).to(images.device)  # count x cw
    picked = images[which.to(images.device)]  # count x C x H x W
    picked = picked.gather(2, rows[:, None, :, None].expand(-1, picked.shape[1], -1, width))
    return picked.gather(3, cols[:, None, None, :].expand(-1, picked.shape[1], ch, -1))


def activation_patterns(model: nn.Module, inputs: torch.Tensor, chunk: int = CHUNK) -> np.ndarray:
    """Bit-packed ReLU sign patterns, one row per input (uint8, N x ceil(units / 8))."""
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


@proxy(
    "linear_regions",
    direction="max",
    bn=True,
    loss=None,
    batch_size=64,
    build_options=(("C", 1), ("N", 1)),
    summary="TE-NAS: distinct ReLU sign patterns over 3000 random 3x3 crops, thin network (C=1, N=1)",
)
def linear_regions(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
    """Number of linear regions of a Kaiming fan-in re-initialised ``model`` hit by random crops."""
    model.train()
    crops = random_crops(batch.inputs, NUM_CROPS, CROP, seeded_generator(CROP_SEED))
    kaiming_normal_init(model, "fan_in", seeded_generator(ctx.seed))
    return float(count_regions(model, crops))
