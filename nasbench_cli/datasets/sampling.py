"""The seeded mini-batch a proxy scores with, drawn from a registered dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Tuple, Union

import torch

from nasbench_cli.batch import Batch
from nasbench_cli.datasets.base import DATASETS, Dataset, ImageSet


def make_batch(
    dataset: Union[Dataset, str],
    data_dir: Path,
    batch_size: int,
    seed: int,
    split: str = "train",
    device: torch.device = torch.device("cpu"),
    with_source: bool = False,
) -> Union[Batch, Tuple[Batch, ImageSet]]:
    """One batch of ``split`` on ``device``; the same seed gives the same bytes on any device.

    ``with_source=True`` also returns the batch's ImageSet: its uint8 images, the files they
    came from and the note saying how many images the split had (for provenance).
    """
    ds = DATASETS.get(dataset) if isinstance(dataset, str) else dataset
    ds.check_split(split)
    # built on the CPU and moved afterwards, so the values never depend on the device
    inputs, targets, source = ds.sample_batch(Path(data_dir), batch_size, seed, split)
    batch = Batch(inputs=inputs.to(device), targets=targets.to(device))
    return (batch, source) if with_source else batch
