"""The CIFAR training transform applied to a scoring batch (``--augment train``).

The zero-cost proxies' authors drew their batch through the training transforms: a random 32x32
crop of the image zero-padded by 4 pixels, then a horizontal flip with probability 1/2, then the
normalisation. The NASWOT authors used no augmentation, hence the default ``none``.

Applied here to the normalised batch, which is the same thing: a raw pixel of 0 normalises to
-mean/std per channel, so that is the padding value. Offsets and flips come from two seeded
streams drawn in image order, so a proxy that reads the first k images of the batch sees the same
k images whatever the batch size.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from nasbench_cli.errors import UsageError

#: --augment choices
AUGMENTATIONS = ("none", "train")
PADDING = 4


def check_augment(name: str) -> str:
    """``name`` if it is an augmentation; a UsageError listing the valid ones otherwise."""
    if name not in AUGMENTATIONS:
        raise UsageError(f"unknown augmentation '{name}'; choose from {', '.join(AUGMENTATIONS)}")
    return name


def train_augment(inputs: torch.Tensor, fill: Sequence[float], seed: int, padding: int = PADDING) -> torch.Tensor:
    """Random crop of each image padded by ``padding`` pixels of ``fill`` (one value per channel),
    then a horizontal flip with probability 1/2; the draws depend only on ``seed`` and the image's
    position in the batch."""
    n, channels, height, width = inputs.shape
    if len(fill) != channels:
        raise ValueError(f"fill has {len(fill)} values for {channels} channels")
    offsets = np.random.default_rng([seed, 0]).integers(0, 2 * padding + 1, size=(n, 2))
    flips = np.random.default_rng([seed, 1]).random(n) < 0.5
    padded = torch.empty(n, channels, height + 2 * padding, width + 2 * padding, dtype=inputs.dtype)
    padded[:] = torch.tensor(list(fill), dtype=inputs.dtype).view(1, channels, 1, 1)
    padded[:, :, padding:padding + height, padding:padding + width] = inputs
    crops = [padded[i, :, dy:dy + height, dx:dx + width] for i, (dy, dx) in enumerate(offsets.tolist())]
    out = torch.stack(crops) if crops else inputs.clone()
    if flips.any():
        index = torch.from_numpy(np.flatnonzero(flips))
        out[index] = out[index].flip(-1)
    return out.contiguous()
