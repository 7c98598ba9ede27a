"""The seeded mini-batch a proxy scores with, drawn from a registered dataset."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Tuple, Union

import torch

from nasbench_cli.batch import Batch
from nasbench_cli.datasets.augment import check_augment, train_augment
from nasbench_cli.datasets.base import DATASETS, Dataset, ImageSet
from nasbench_cli.errors import DataMissingError
from nasbench_cli.runtime import derive_seed


def make_batch(
    dataset: Union[Dataset, str],
    data_dir: Path,
    batch_size: int,
    seed: int,
    split: str = "train",
    device: torch.device = torch.device("cpu"),
    with_source: bool = False,
    augment: str = "none",
) -> Union[Batch, Tuple[Batch, ImageSet]]:
    """One batch of ``split`` on ``device``; the same seed gives the same bytes on any device.

    ``augment="train"`` passes it through the CIFAR training transform (pad-4 random crop and
    flip, seeded from ``seed``: see nasbench_cli.datasets.augment).

    ``with_source=True`` also returns the batch's ImageSet: its uint8 images, the files they
    came from and the note saying how many images the split had (for provenance).
    """
    ds = DATASETS.get(dataset) if isinstance(dataset, str) else dataset
    ds.check_split(split)
    check_augment(augment)
    stand_in = ds.stand_in(Path(data_dir)) if augment == "train" else None
    if stand_in is not None and split == stand_in.split:
        # the zero-cost papers drew augmented batches from the whole training set: a few hundred
        # embedded images would stand for it without saying so
        raise DataMissingError(
            f"{ds.name}: --augment train reproduces batches drawn through the training transform from the full "
            f"training set, and the {stand_in.name} that stands in for it holds {stand_in.images} images: "
            f"{ds.how_to_get(Path(data_dir).expanduser().absolute())} (or score without --augment)")
    # built on the CPU and moved afterwards, so the values never depend on the device
    inputs, targets, source = ds.sample_batch(Path(data_dir), batch_size, seed, split)
    if augment == "train":
        fill = [-m / s for m, s in zip(ds.mean, ds.std)]  # a raw 0 pixel, normalised
        inputs = train_augment(inputs, fill, derive_seed(seed, "augment"))
        source = replace(source, note=f"{source.note}; training transform (pad-4 random crop, flip)")
    batch = Batch(inputs=inputs.to(device), targets=targets.to(device))
    return (batch, source) if with_source else batch
