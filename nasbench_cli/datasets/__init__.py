"""Datasets, registered by name. Importing this package registers every dataset.

``get_dataset(name)`` gives a Dataset (its ``load(data_dir, split)`` reads the official files);
``make_batch`` gives the normalised mini-batch a proxy scores with, fixed by a seed.
"""

from __future__ import annotations

from nasbench_cli.datasets.base import DATASETS, Archive, Dataset, ImageSet, RequiredFile, StandIn
from nasbench_cli.datasets import cifar10, cifar100, imagenet16, synthetic  # noqa: F401 (registers)
from nasbench_cli.datasets.batches import batch_indices, normalise
from nasbench_cli.datasets.download import download_dataset
from nasbench_cli.datasets.sampling import make_batch


def get_dataset(name: str) -> Dataset:
    """The dataset registered as ``name``; UnknownNameError lists the valid names."""
    return DATASETS.get(name)


__all__ = [
    "DATASETS",
    "Archive",
    "Dataset",
    "ImageSet",
    "RequiredFile",
    "StandIn",
    "batch_indices",
    "download_dataset",
    "get_dataset",
    "make_batch",
    "normalise",
]
