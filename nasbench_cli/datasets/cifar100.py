"""CIFAR-100 from the official python pickles in ``<data_dir>/cifar-100-python/`` (fine labels).

Splits: ``train`` (50,000), ``test`` (10,000) and the NB201 halves of the test set, ``x-valid`` and
``x-test``, from ``splits/cifar100-test-split.txt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

from nasbench_cli.datasets.base import DATASETS, Archive, Dataset, ImageSet, RequiredFile
from nasbench_cli.datasets.pickles import check_labels, read_image_batch
from nasbench_cli.datasets.splits import (
    CIFAR100_SPLIT,
    SPLITS_DIR,
    TEST_HALF_KEYS,
    nb201_test_half,
    split_source,
)

FOLDER = "cifar-100-python"
URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
# md5 sums of the official files (as published with the archive and checked by torchvision)
MD5 = {"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"}
SHAPE = (3, 32, 32)
OFFICIAL = {"train": 50_000, "test": 10_000}


class Cifar100(Dataset):
    """CIFAR-100: 100 fine classes, 32x32, NB201 x-valid/x-test halves of the test set."""

    name = "cifar100"
    num_classes = 100
    image_size = 32
    mean = tuple(x / 255 for x in (129.3, 124.1, 112.4))
    std = tuple(x / 255 for x in (68.2, 65.4, 70.4))
    splits = ("train", "test", "x-valid", "x-test")
    archive = Archive(URL, "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python.tar.gz", FOLDER)
    manual_source = f"get {URL} and unpack it into the data directory"

    def load(self, data_dir: Path, split: str = "train") -> ImageSet:
        """The images of ``split``: train, test, x-valid or x-test."""
        self.check_split(split)
        data_dir = Path(data_dir)
        if split in TEST_HALF_KEYS:
            return nb201_test_half(self.name, data_dir, self._read(data_dir, "test"), split,
                                   CIFAR100_SPLIT)
        return self._read(data_dir, split)

    def required_files(self) -> List[RequiredFile]:
        """The two official pickles (with their md5) and the NB201 test-split file."""
        files = [
            RequiredFile(f"{FOLDER}/{name}", f"{URL} (`nasbench data download cifar100`)", md5)
            for name, md5 in MD5.items()
        ]
        files.append(RequiredFile(f"{SPLITS_DIR}/{CIFAR100_SPLIT}", split_source(CIFAR100_SPLIT)))
        return files

    def _read(self, data_dir: Path, filename: str) -> ImageSet:
        """One official file, ``train`` or ``test``."""
        path = data_dir / FOLDER / filename
        if not path.is_file():
            raise self.missing_error(data_dir, [f"{FOLDER}/{filename}"])
        images, labels = read_image_batch(path, "fine_labels", SHAPE)
        check_labels(path, labels, 0, 99)
        what = "training" if filename == "train" else filename
        count = self.partial(data_dir / FOLDER, what, len(images), OFFICIAL[filename]) or f"{len(images)} images"
        note = f"cifar100 {filename}: {count} from {filename}"
        return ImageSet(images, labels, (f"{FOLDER}/{filename}",), note)


DATASETS.add(Cifar100.name, Cifar100())
