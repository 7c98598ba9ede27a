"""CIFAR-10 from the official python pickles in ``<data_dir>/cifar-10-batches-py/``.

Splits: ``train`` and ``valid`` are the NB201 halves of the 50,000 training images (from
``splits/cifar-split.txt``), ``train-full`` all training images, ``test`` the 10,000 test images.
Partial copies (some ``data_batch_k`` absent, or truncated batches) are read as far as they go, and
every split keeps only the images actually present; ``ImageSet.note`` says how many there were of
the official 50,000 / 10,000, and a warning says so once on the console.

Where the *default* data directory (nothing named: no ``--data-dir``, no ``$NASBENCH_DATA``) holds
no training batch at all, ``train`` reads the embedded 500-image sample instead
(:mod:`nasbench_cli.datasets.cifar10_sample`), with a one-line warning and its name in the note;
the other splits, larger batches and ``--augment`` then refuse in one line. A directory the user
named is never replaced by the sample: a typo there should fail, not change the data silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch

from nasbench_cli.datasets import cifar10_sample as sample
from nasbench_cli.datasets.base import DATASETS, Archive, Dataset, ImageSet, RequiredFile, StandIn
from nasbench_cli.datasets.pickles import (
    check_labels,
    describe_batches,
    read_image_batch,
    read_numbered_batches,
)
from nasbench_cli.datasets.splits import (
    CIFAR10_SPLIT,
    SPLITS_DIR,
    split_indices,
    split_source,
    positions_of,
)
from nasbench_cli.errors import DataCorruptError, DataMissingError
from nasbench_cli.logs import get_logger, warn_once
from nasbench_cli.paths import default_data_dir

_log = get_logger("datasets")

FOLDER = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TRAIN_NUMBERS = (1, 2, 3, 4, 5)
PER_BATCH = 10_000  # official batches hold 10,000 images; image i of batch k is index 10000(k-1)+i
OFFICIAL_TRAIN = PER_BATCH * len(TRAIN_NUMBERS)
OFFICIAL_TEST = 10_000
# md5 sums of the official files (as published with the archive and checked by torchvision)
MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
SHAPE = (3, 32, 32)


class Cifar10(Dataset):
    """CIFAR-10: 10 classes, 32x32, NB201 train/valid halves."""

    name = "cifar10"
    num_classes = 10
    image_size = 32
    mean = tuple(x / 255 for x in (125.3, 123.0, 113.9))
    std = tuple(x / 255 for x in (63.0, 62.1, 66.7))
    splits = ("train", "valid", "train-full", "test")
    archive = Archive(URL, "c58f30108f718f92721af3b95e74349a", "cifar-10-python.tar.gz", FOLDER)
    manual_source = f"get {URL} and unpack it into the data directory"

    def load(self, data_dir: Path, split: str = "train") -> ImageSet:
        """The images of ``split``; see the module docstring for the split names."""
        self.check_split(split)
        data_dir = Path(data_dir)
        stand_in = self.stand_in(data_dir)
        if split == "test":
            return self._test(data_dir, stand_in)
        if stand_in is not None:
            if split != stand_in.split:
                raise self._not_in_sample(data_dir, split)
            return self._sample(data_dir, stand_in)
        full, present, origin = self._train_full(data_dir)
        if split == "train-full":
            return full
        return self._half(data_dir, split, full, present, origin)

    def required_files(self) -> List[RequiredFile]:
        """The six official batches (with their md5) and the NB201 split file."""
        files = [
            RequiredFile(f"{FOLDER}/{name}", f"{URL} (`nasbench data download cifar10`)", md5)
            for name, md5 in MD5.items()
        ]
        files.append(RequiredFile(f"{SPLITS_DIR}/{CIFAR10_SPLIT}", split_source(CIFAR10_SPLIT)))
        return files

    def stand_in(self, data_dir: Path) -> Optional[StandIn]:
        """The embedded sample, for ``train``, when ``data_dir`` is the default data directory and
        holds no training batch; else None (runs read the files there, or fail naming them)."""
        data_dir = Path(data_dir)
        if data_dir.expanduser().absolute() != default_data_dir().absolute():
            return None
        if any((data_dir / FOLDER / f"data_batch_{n}").is_file() for n in TRAIN_NUMBERS):
            return None
        return StandIn(sample.SAMPLE_NAME, sample.sample_source(), sample.sample_path(), "train", sample.SAMPLE_IMAGES,
                       sample.load_sample)

    def sample_batch(
        self, data_dir: Path, batch_size: int, seed: int, split: str = "train"
    ) -> Tuple[torch.Tensor, torch.Tensor, ImageSet]:
        """As Dataset.sample_batch; a batch larger than the embedded sample is refused in one line
        (drawing fewer images would change the proxy without saying so)."""
        images = self.load(Path(data_dir), split)
        if images.stand_in and batch_size > len(images):
            where = Path(data_dir).expanduser().absolute()
            raise DataMissingError(
                f"cifar10: a batch of {batch_size} images needs the full CIFAR-10; the {sample.SAMPLE_NAME} "
                f"that stands in for it in {where} holds {len(images)}: {self.how_to_get(where)} (or choose a "
                f"batch of at most {len(images)}: --batch-size, --proxy-option <proxy>.batch_size)")
        return self.draw(images, batch_size, seed, split)

    def _sample(self, data_dir: Path, stand_in: StandIn) -> ImageSet:
        """The embedded sample as the ``train`` split, announced once per data directory."""
        indices, labels, images = sample.load_sample()
        where = data_dir.expanduser().absolute()
        try:
            # the engine hands an absent data dir to its workers as none at all (the working folder):
            # once the default folder exists, they find the same sample as this process
            where.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        warn_once(_log, ("cifar10 sample", str(where)),
                  f"cifar10: no CIFAR-10 training batch in {where / FOLDER}: using the {sample.SAMPLE_NAME} "
                  f"({len(images)} images of the NB201 train half, sha256 {sample.SAMPLE_SHA256[:12]}...), whose "
                  f"scores differ from full-data ones; `nasbench data download cifar10` gets the full set")
        note = (f"cifar10 train: {stand_in.source}, the {len(images)} images of the NB201 train half with the "
                f"smallest official indices ({indices.min()}..{indices.max()}), read because the default data "
                "directory holds no CIFAR-10")
        return ImageSet(images, labels, (str(stand_in.path),), note, stand_in.source)

    def _not_in_sample(self, data_dir: Path, split: str) -> DataMissingError:
        """The one-line refusal of a split the embedded sample does not hold."""
        where = data_dir.expanduser().absolute()
        return DataMissingError(
            f"cifar10 {split}: no CIFAR-10 in {where / FOLDER}, and the {sample.SAMPLE_NAME} that stands in "
            f"for it holds only {sample.SAMPLE_IMAGES} images of the NB201 train half (--split train): "
            f"{self.how_to_get(where)}")

    def _test(self, data_dir: Path, stand_in: Optional[StandIn] = None) -> ImageSet:
        path = data_dir / FOLDER / "test_batch"
        if not path.is_file():
            if stand_in is not None:
                raise self._not_in_sample(data_dir, "test")
            raise self.missing_error(data_dir, [f"{FOLDER}/test_batch"])
        images, labels = read_image_batch(path, "labels", SHAPE)
        check_labels(path, labels, 0, 9)
        count = self.partial(data_dir / FOLDER, "test", len(images), OFFICIAL_TEST) or f"{len(images)} images"
        note = f"cifar10 test: {count} from test_batch"
        return ImageSet(images, labels, (f"{FOLDER}/test_batch",), note)

    def _train_full(self, data_dir: Path) -> Tuple[ImageSet, np.ndarray, str]:
        """All training images present, their indices in the official 50,000, and their files."""
        folder = data_dir / FOLDER
        found, absent = read_numbered_batches(folder, "data_batch_", TRAIN_NUMBERS, "labels", SHAPE)
        if not found:
            names = describe_batches("data_batch_", TRAIN_NUMBERS)
            raise self.missing_error(data_dir, [f"{FOLDER}/{names}"])
        parts, labels, present = [], [], []
        for n, imgs, labs in found:
            if len(imgs) > PER_BATCH:
                raise DataCorruptError(
                    f"{folder / f'data_batch_{n}'}: {len(imgs)} images, an official batch has "
                    f"{PER_BATCH}"
                )
            check_labels(folder / f"data_batch_{n}", labs, 0, 9)
            parts.append(imgs)
            labels.append(labs)
            present.append(PER_BATCH * (n - 1) + np.arange(len(imgs), dtype=np.int64))
        origin = f"from {describe_batches('data_batch_', [n for n, _, _ in found])}"
        if absent:
            origin += f" ({describe_batches('data_batch_', absent)} absent)"
        images = np.concatenate(parts)
        files = tuple(f"{FOLDER}/data_batch_{n}" for n, _, _ in found)
        count = self.partial(folder, "training", len(images), OFFICIAL_TRAIN) or f"{len(images)} images"
        note = f"cifar10 train-full: {count} {origin}"
        full = ImageSet(images, np.concatenate(labels), files, note)
        return full, np.concatenate(present), origin

    def _half(
        self, data_dir: Path, split: str, full: ImageSet, present: np.ndarray, origin: str
    ) -> ImageSet:
        """The NB201 train or valid half, kept to the training images present."""
        indices = split_indices(data_dir, CIFAR10_SPLIT, split)
        if indices is None:
            if split == "valid":
                raise DataMissingError(
                    f"cifar10: the NB201 valid half needs {data_dir.absolute() / SPLITS_DIR / CIFAR10_SPLIT}; "
                    f"get it from {split_source(CIFAR10_SPLIT)}"
                )
            partial = f" ({len(full)} of the official {OFFICIAL_TRAIN})" if len(full) < OFFICIAL_TRAIN else ""
            note = (
                f"cifar10 train: {len(full)} images, all training images{partial} "
                f"({SPLITS_DIR}/{CIFAR10_SPLIT} absent, so not the NB201 train half) {origin}"
            )
            return ImageSet(full.images, full.labels, full.files, note)
        pos = positions_of(indices, present)
        note = (
            f"cifar10 {split}: {len(pos)} images (NB201 {split} half, {len(pos)} of its "
            f"{len(indices)} present) {origin}"
        )
        files = full.files + (f"{SPLITS_DIR}/{CIFAR10_SPLIT}",)
        return ImageSet(full.images[pos], full.labels[pos], files, note)


DATASETS.add(Cifar10.name, Cifar10())
