"""Mini-batches: which images (fixed by a seed) and how they are turned into network inputs.

Plain functions of arrays: this module imports nothing else of the package but its errors.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from nasbench_cli.errors import UsageError


def batch_indices(num_available: int, batch_size: int, seed: int, what: str = "") -> np.ndarray:
    """``batch_size`` distinct indices into ``num_available`` images, fixed by ``seed``.

    The indices are the first ``batch_size`` entries of one seeded permutation, so a smaller batch
    is a prefix of a bigger one with the same seed: proxies with different batch sizes share images.
    """
    where = f" in {what}" if what else ""
    if seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed}")
    if batch_size < 1:
        raise UsageError(f"batch size must be at least 1, got {batch_size}")
    if batch_size > num_available:
        raise UsageError(
            f"batch size {batch_size} is larger than the {num_available} images available{where}"
        )
    order = np.random.default_rng(seed).permutation(num_available)
    return order[:batch_size].astype(np.int64)


def normalise(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 N x C x H x W -> float32 (x / 255 - mean) / std, as ToTensor + Normalize compute it."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div(255)
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return x.sub(m).div(s)

