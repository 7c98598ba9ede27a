"""`synthetic`: Gaussian images that need no files, for smoke runs and tests.

Inputs are already normalised: float32 N(0, 1), 3 x 32 x 32, with labels uniform over 10 classes.
Image i of a batch depends only on the seed, the split and i, so as for real datasets a smaller
batch is a prefix of a bigger one with the same seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import numpy as np
import torch

from nasbench_cli.datasets.base import DATASETS, Dataset, ImageSet
from nasbench_cli.errors import UsageError

#: images ``load`` returns (a batch may be any size)
LOAD_SIZE = 1000


class Synthetic(Dataset):
    """Gaussian noise images, 10 classes, 32x32; no files needed."""

    name = "synthetic"
    num_classes = 10
    image_size = 32
    splits = ("train", "test")
    manual_source = "synthetic data needs no files"

    def load(self, data_dir: Path, split: str = "train") -> ImageSet:
        """LOAD_SIZE float32 images of ``split`` (already normalised, unlike the uint8 of files)."""
        self.check_split(split)
        inputs, targets = self._generate(LOAD_SIZE, 0, split)
        note = f"synthetic {split}: {LOAD_SIZE} Gaussian images (no files)"
        return ImageSet(inputs.numpy(), targets.numpy(), (), note)

    def sample_batch(
        self, data_dir: Path, batch_size: int, seed: int, split: str = "train"
    ) -> Tuple[torch.Tensor, torch.Tensor, ImageSet]:
        """``batch_size`` fresh Gaussian images and uniform labels, fixed by ``seed``."""
        self.check_split(split)
        if batch_size < 1:
            raise UsageError(f"batch size must be at least 1, got {batch_size}")
        inputs, targets = self._generate(batch_size, seed, split)
        note = f"synthetic {split}: {batch_size} Gaussian images from seed {seed} (no files)"
        return inputs, targets, ImageSet(inputs.numpy(), targets.numpy(), (), note)

    def _generate(self, n: int, seed: int, split: str) -> Tuple[torch.Tensor, torch.Tensor]:
        if seed < 0:
            raise UsageError(f"seed must be a non-negative integer, got {seed}")
        code = self.splits.index(split)
        # separate streams for images and labels: each fills its array in order, so prefixes match
        images = np.random.default_rng([seed, code, 0]).standard_normal(
            (n, self.channels, self.image_size, self.image_size), dtype=np.float32
        )
        labels = np.random.default_rng([seed, code, 1]).integers(0, self.num_classes, size=n)
        return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


DATASETS.add(Synthetic.name, Synthetic())
