"""ImageNet16-120: the 16x16 downsampled ImageNet, classes 1..120, from ``<data_dir>/ImageNet16/``.

Files ``train_data_batch_1..10`` and ``val_data`` hold ``{'data': uint8 N x 768 (CHW), 'labels':
1..1000}``. As in NB201, only images labelled 1..120 are kept (file order preserved) and labels are
shifted to 0..119: 151,700 training and 6,000 test images. ``x-valid`` / ``x-test`` are the NB201
halves of that test set, from ``splits/imagenet-16-120-test-split.txt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np

from nasbench_cli.datasets.base import DATASETS, Dataset, ImageSet, RequiredFile
from nasbench_cli.datasets.pickles import check_labels, describe_batches, read_image_batch
from nasbench_cli.datasets.splits import (
    IMAGENET16_SPLIT,
    SPLITS_DIR,
    nb201_test_half,
    split_source,
)

FOLDER = "ImageNet16"
TRAIN_NUMBERS = tuple(range(1, 11))
NUM_CLASSES = 120
#: images of classes 1..120 in the official files (NB201): training, and val_data (the test set)
OFFICIAL_TRAIN, OFFICIAL_TEST = 151_700, 6_000
SHAPE = (3, 16, 16)
SOURCE = (
    "the 16x16 'Downsampled ImageNet' release from https://image-net.org/download-images "
    "(login required; see also the NAS-Bench-201 README, https://github.com/D-X-Y/NAS-Bench-201)"
)
# md5 sums of the official files (as checked by the NB201 authors' loader)
MD5 = {
    "train_data_batch_1": "27846dcaa50de8e21a7d1a35f30f0e91",
    "train_data_batch_2": "c7254a054e0e795c69120a5727050e3f",
    "train_data_batch_3": "4333d3df2e5ffb114b05d2ffc19b1e87",
    "train_data_batch_4": "1620cdf193304f4a92677b695d70d10f",
    "train_data_batch_5": "348b3c2fdbb3940c4e9e834affd3b18d",
    "train_data_batch_6": "6e765307c242a1b3d7d5ef9139b48945",
    "train_data_batch_7": "564926d8cbf8fc4818ba23d2faac7564",
    "train_data_batch_8": "f4755871f718ccb653440b9dd0ebac66",
    "train_data_batch_9": "bb6dd660c38c58552125b1a92f86b5d4",
    "train_data_batch_10": "8f03f34ac4b42271a294f91bf480f29b",
    "val_data": "3410e3017fdaefba8d5073aaa65e4bd6",
}


def keep_first_classes(
    images: np.ndarray, labels: np.ndarray, num_classes: int
) -> Tuple[np.ndarray, np.ndarray]:
    """Images labelled 1..num_classes, in file order, with labels shifted to 0..num_classes-1."""
    keep = (labels >= 1) & (labels <= num_classes)
    return images[keep], labels[keep] - 1


class ImageNet16_120(Dataset):
    """ImageNet16-120: 120 classes, 16x16; no automatic download."""

    name = "ImageNet16-120"
    num_classes = NUM_CLASSES
    image_size = 16
    mean = tuple(x / 255 for x in (122.68, 116.66, 104.01))
    std = tuple(x / 255 for x in (63.22, 61.26, 65.09))
    splits = ("train", "test", "x-valid", "x-test")
    manual_source = (
        f"ImageNet16-120 cannot be downloaded automatically: get {SOURCE} and place "
        f"train_data_batch_1..10 and val_data in <data_dir>/{FOLDER}/"
    )

    def load(self, data_dir: Path, split: str = "train") -> ImageSet:
        """The images of ``split``: train, test, x-valid or x-test."""
        self.check_split(split)
        data_dir = Path(data_dir)
        if split == "train":
            return self._train(data_dir)
        test = self._test(data_dir)
        if split == "test":
            return test
        return nb201_test_half(self.name, data_dir, test, split, IMAGENET16_SPLIT)

    def required_files(self) -> List[RequiredFile]:
        """The eleven official pickles (with their md5) and the NB201 test-split file."""
        files = [RequiredFile(f"{FOLDER}/{name}", SOURCE, md5) for name, md5 in MD5.items()]
        files.append(
            RequiredFile(f"{SPLITS_DIR}/{IMAGENET16_SPLIT}", split_source(IMAGENET16_SPLIT))
        )
        return files

    def _train(self, data_dir: Path) -> ImageSet:
        # filtered file by file: the ten files hold 1.28 M images, of which 151,700 are kept
        folder = data_dir / FOLDER
        kept, read, absent, total = [], [], [], 0
        for n in TRAIN_NUMBERS:
            path = folder / f"train_data_batch_{n}"
            if not path.is_file():
                absent.append(n)
                continue
            images, labels = read_image_batch(path, "labels", SHAPE)
            check_labels(path, labels, 1, 1000)
            kept.append(keep_first_classes(images, labels, NUM_CLASSES))
            read.append(n)
            total += len(images)
        if not read:
            names = describe_batches("train_data_batch_", TRAIN_NUMBERS)
            raise self.missing_error(data_dir, [f"{FOLDER}/{names}"])
        kept_images = np.concatenate([imgs for imgs, _ in kept])
        kept_labels = np.concatenate([labs for _, labs in kept])
        origin = describe_batches("train_data_batch_", read)
        if absent:
            origin += f" ({describe_batches('train_data_batch_', absent)} absent)"
        note = (
            f"ImageNet16-120 train: {len(kept_images)} images of classes 1..{NUM_CLASSES} "
            f"(of {total}) from {origin}"
        )
        partial = self.partial(folder, "training", len(kept_images), OFFICIAL_TRAIN)
        note += f"; {partial}" if partial else ""
        files = tuple(f"{FOLDER}/train_data_batch_{n}" for n in read)
        return ImageSet(kept_images, kept_labels, files, note)

    def _test(self, data_dir: Path) -> ImageSet:
        path = data_dir / FOLDER / "val_data"
        if not path.is_file():
            raise self.missing_error(data_dir, [f"{FOLDER}/val_data"])
        images, labels = read_image_batch(path, "labels", SHAPE)
        check_labels(path, labels, 1, 1000)
        kept_images, kept_labels = keep_first_classes(images, labels, NUM_CLASSES)
        note = (
            f"ImageNet16-120 test: {len(kept_images)} images of classes 1..{NUM_CLASSES} "
            f"(of {len(images)}) from val_data"
        )
        partial = self.partial(data_dir / FOLDER, "test", len(kept_images), OFFICIAL_TEST)
        note += f"; {partial}" if partial else ""
        return ImageSet(kept_images, kept_labels, (f"{FOLDER}/val_data",), note)


DATASETS.add(ImageNet16_120.name, ImageNet16_120())
