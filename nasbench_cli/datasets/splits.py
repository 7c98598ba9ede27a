"""NAS-Bench-201 split files: which images of a set form its train/valid or x-valid/x-test halves.

Each file (``<data_dir>/splits/<name>``) is JSON: ``{key: ["int", ["0", "5", ...]], ...}``, the
indices as strings. ``cifar-split.txt`` splits the 50,000 CIFAR-10 training images into ``train``
and ``valid``; ``cifar100-test-split.txt`` and ``imagenet-16-120-test-split.txt`` split the test set
(ImageNet16-120: the 6,000 validation images of classes 1..120) into ``xvalid`` and ``xtest``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np

from nasbench_cli.datasets.base import ImageSet
from nasbench_cli.errors import DataCorruptError, DataMissingError

SPLITS_DIR = "splits"
CIFAR10_SPLIT = "cifar-split.txt"
CIFAR100_SPLIT = "cifar100-test-split.txt"
IMAGENET16_SPLIT = "imagenet-16-120-test-split.txt"
#: the official files are under 1 MB; the largest set they index has 50,000 images
MAX_SPLIT_BYTES = 64 * 2**20
MAX_IMAGE_INDEX = 10**7


def split_path(data_dir: Path, filename: str) -> Path:
    """Where a split file is expected under the data directory."""
    return Path(data_dir) / SPLITS_DIR / filename


def split_source(filename: str) -> str:
    """The download address of one NB201 split file."""
    raw = "https://raw.githubusercontent.com/D-X-Y/AutoDL-Projects/main/configs/nas-benchmark"
    return f"{raw}/{filename}"


def read_split_file(path: Path) -> Dict[str, np.ndarray]:
    """All index lists of one split file, as int64 arrays keyed by the file's own names."""
    from nasbench_cli.untrusted import load_json_file

    raw = load_json_file(Path(path), "split file", MAX_SPLIT_BYTES)
    if not isinstance(raw, dict):
        raise DataCorruptError(f"{path}: expected a JSON object of index lists")
    out: Dict[str, np.ndarray] = {}
    for key, value in raw.items():
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], list)):
            raise DataCorruptError(f"{path}: entry '{key}' should be [\"int\", [indices]]")
        out[key] = _indices(path, key, value[1])
    return out


def _indices(path: Path, key: str, values: list) -> np.ndarray:
    """One entry's image indices: integers in 0..MAX_IMAGE_INDEX, none twice (a split lists each
    image once; a repeated image would fill a batch with copies of itself)."""
    try:
        numbers = [int(v) for v in values]
    except (TypeError, ValueError, OverflowError):
        raise DataCorruptError(f"{path}: entry '{key}' holds a non-integer index") from None
    bad = next((n for n in numbers if not 0 <= n <= MAX_IMAGE_INDEX), None)
    if bad is not None:
        raise DataCorruptError(f"{path}: entry '{key}' holds index {str(bad)[:40]}, outside 0..{MAX_IMAGE_INDEX}")
    indices = np.array(numbers, dtype=np.int64)
    unique, counts = np.unique(indices, return_counts=True)
    if len(unique) < len(indices):
        twice = int(unique[counts > 1][0])
        raise DataCorruptError(f"{path}: entry '{key}' lists image {twice} {int(counts.max())} times; "
                               "a split lists each image once")
    return indices


def split_indices(data_dir: Path, filename: str, key: str) -> Optional[np.ndarray]:
    """The indices stored under ``key`` in a split file, or None when the file is absent."""
    path = split_path(data_dir, filename)
    if not path.is_file():
        return None
    table = read_split_file(path)
    if key not in table:
        raise DataCorruptError(f"{path}: no '{key}' list (found: {', '.join(sorted(table))})")
    return table[key]


def positions_of(indices: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Positions in ``present`` (sorted indices of the images loaded) of ``indices`` found there.

    Indices of images that are not loaded (a partial download, a test subset) are skipped; the
    order of ``indices`` is kept.
    """
    if len(present) == 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.searchsorted(present, indices)
    clipped = np.minimum(pos, len(present) - 1)
    found = (pos < len(present)) & (present[clipped] == indices)
    return pos[found].astype(np.int64)


#: split names of the toolkit -> keys of the NB201 test-split files
TEST_HALF_KEYS = {"x-valid": "xvalid", "x-test": "xtest"}


def nb201_test_half(
    name: str, data_dir: Path, test: ImageSet, split: str, filename: str
) -> ImageSet:
    """The NB201 x-valid or x-test half of a test set, kept to the test images present."""
    indices = split_indices(data_dir, filename, TEST_HALF_KEYS[split])
    if indices is None:
        raise DataMissingError(
            f"{name}: the NB201 {split} split needs {split_path(data_dir, filename)}; "
            f"get it from {split_source(filename)}"
        )
    pos = positions_of(indices, np.arange(len(test), dtype=np.int64))
    note = (
        f"{name} {split}: {len(pos)} images (NB201 {split} half of the test set, {len(pos)} of "
        f"its {len(indices)} present)"
    )
    files = test.files + (f"{SPLITS_DIR}/{filename}",)
    return ImageSet(test.images[pos], test.labels[pos], files, note)
