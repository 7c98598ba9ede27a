"""The dataset interface: official files -> uint8 image arrays -> normalised mini-batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from nasbench_cli.datasets.batches import batch_indices, normalise
from nasbench_cli.errors import DataMissingError, UnknownNameError
from nasbench_cli.logs import get_logger, warn_once
from nasbench_cli.paths import data_dir_missing
from nasbench_cli.registry import Registry

_log = get_logger("datasets")


@dataclass(frozen=True)
class ImageSet:
    """Images as uint8 N x C x H x W, integer labels, and the files they came from."""

    images: np.ndarray
    labels: np.ndarray
    files: Tuple[str, ...] = ()
    note: str = ""
    #: the embedded sample's name when these images stand in for absent files, else ""
    stand_in: str = ""

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass(frozen=True)
class RequiredFile:
    """A file a dataset reads, relative to the data directory, and where to get it."""

    path: str
    source: str
    md5: str = ""


@dataclass(frozen=True)
class Archive:
    """An official archive that unpacks ``folder`` (relative to the data directory)."""

    url: str
    md5: str
    filename: str
    folder: str


@dataclass(frozen=True)
class StandIn:
    """An embedded sample a dataset reads instead of its absent files (for one split only)."""

    name: str  # what messages call it, e.g. "embedded CIFAR-10 sample"
    source: str  # its name in provenance, e.g. "embedded CIFAR-10 sample (500 images, sha256 ...)"
    path: Path
    split: str
    images: int
    #: raises a NasbenchError when the shipped file is missing or damaged (checks its sha256)
    verify: Callable[[], object]


class Dataset(ABC):
    """One dataset: its shape, its normalisation and a reader for its official files."""

    name: str = ""
    num_classes: int = 0
    image_size: int = 32
    channels: int = 3
    mean: Sequence[float] = (0.0, 0.0, 0.0)
    std: Sequence[float] = (1.0, 1.0, 1.0)
    splits: Sequence[str] = ("train", "test")
    #: the archive `nasbench data download` fetches; None where no automatic download exists
    archive: Optional[Archive] = None
    #: how to get the files by hand (a URL and what to unpack where); "<data_dir>" is filled in
    manual_source: str = ""

    @abstractmethod
    def load(self, data_dir: Path, split: str = "train") -> ImageSet:
        """The images of ``split``; DataMissingError names the files to place, and where."""

    def required_files(self) -> List[RequiredFile]:
        """Files this dataset needs under the data directory (for `nasbench data status`)."""
        return []

    def stand_in(self, data_dir: Path) -> Optional[StandIn]:
        """The embedded sample runs read from ``data_dir`` in place of absent files, or None when
        they read the data directory (or fail there). No dataset but cifar10 has one."""
        return None

    def check_split(self, split: str) -> None:
        """UnknownNameError listing this dataset's splits when ``split`` is not one of them."""
        if split not in self.splits:
            raise UnknownNameError(f"{self.name} split", split, self.splits)

    def missing_error(self, data_dir: Path, missing: Iterable[str]) -> DataMissingError:
        """A DataMissingError naming the absent files (full paths) and how to get them; when the
        data directory itself is absent, that is what it says."""
        data_dir = Path(data_dir).expanduser().absolute()  # "." would name no place at all
        if not data_dir.is_dir():
            return data_dir_missing(data_dir, how=self.how_to_get(data_dir))
        paths = ", ".join(str(data_dir / m) for m in missing)
        return DataMissingError(f"{self.name}: missing {paths}; {self.how_to_get(data_dir)}")

    def how_to_get(self, data_dir: Path) -> str:
        """How to put this dataset's files into ``data_dir``: the download command, else by hand."""
        if self.archive:
            return (f"run `nasbench data download {self.name} --data-dir {data_dir}` or get "
                    f"{self.archive.url} and unpack it into {data_dir}")
        return self.manual_source.replace("<data_dir>", str(data_dir))

    def partial(self, folder: Path, what: str, found: int, official: int) -> str:
        """'' when ``found`` images are the official count; else 'N of the official M <what>
        images', for the ImageSet's note (the run's provenance), announced once per folder as a
        warning. A partial copy is used, never refused: test data is often a subset on purpose."""
        if found >= official:
            return ""
        phrase = f"{found} of the official {official} {what} images"
        warn_once(_log, (self.name, str(Path(folder).absolute()), what),
                  f"{self.name}: {phrase} found in {Path(folder).absolute()} (a partial copy); "
                  "batches are drawn from the images present")
        return phrase

    def sample_batch(
        self, data_dir: Path, batch_size: int, seed: int, split: str = "train"
    ) -> Tuple[torch.Tensor, torch.Tensor, ImageSet]:
        """CPU float32 normalised N x C x H x W inputs and int64 targets, fixed by ``seed``.

        The ImageSet holds just the batch's images, with the split's files and note (provenance).
        Datasets that need no files (synthetic) override this.
        """
        return self.draw(self.load(Path(data_dir), split), batch_size, seed, split)

    def draw(
        self, images: ImageSet, batch_size: int, seed: int, split: str
    ) -> Tuple[torch.Tensor, torch.Tensor, ImageSet]:
        """:meth:`sample_batch` from images already loaded."""
        idx = batch_indices(len(images), batch_size, seed, what=f"{self.name} {split}")
        chosen = ImageSet(images.images[idx], images.labels[idx], images.files, images.note, images.stand_in)
        inputs = normalise(chosen.images, self.mean, self.std)
        targets = torch.from_numpy(chosen.labels.astype(np.int64))
        return inputs, targets, chosen


DATASETS: "Registry[Dataset]" = Registry("dataset")
