"""Reading the official pickled image batches (CIFAR-10/100, downsampled ImageNet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from nasbench_cli.errors import DataCorruptError, NasbenchError

def read_pickle(path: Path) -> Dict[str, Any]:
    """The dict stored in an official batch file, with bytes keys decoded to str.

    Read with the package's one restricted unpickler (``groundtruth.safe_load``): globals are
    looked up in an allow-list of exact (module, name) pairs and never imported, so a tampered
    file can neither build objects nor run a module's import-time code."""
    from nasbench_cli.groundtruth.safe_load import load_pickle

    try:
        obj = load_pickle(path, what="data batch", bz2_compressed=False, encoding="bytes")
    except (FileNotFoundError, NasbenchError):  # already one line naming the file
        raise
    except Exception as exc:  # truncated or foreign files fail in many ways; all mean "damaged"
        raise DataCorruptError(
            f"{path}: not a readable data batch ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(obj, dict):
        raise DataCorruptError(f"{path}: expected a dict of arrays, found {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def read_image_batch(
    path: Path, label_key: str, shape: Sequence[int]
) -> Tuple[np.ndarray, np.ndarray]:
    """uint8 images N x C x H x W and int64 labels from one batch file.

    ``shape`` is (C, H, W); the file stores each image as one row of C*H*W bytes, channel planes
    in row-major order, so a reshape recovers CHW without any transpose.
    """
    entry = read_pickle(path)
    for key in ("data", label_key):
        if key not in entry:
            raise DataCorruptError(
                f"{path}: missing key '{key}' (found: {', '.join(sorted(entry)) or 'none'})"
            )
    data = np.asarray(entry["data"])
    labels = np.asarray(entry[label_key])
    if labels.size == 0:  # an empty list reads as float64
        labels = labels.astype(np.int64)
    row = int(np.prod(shape))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row:
        raise DataCorruptError(
            f"{path}: 'data' should be uint8 N x {row}, found {data.dtype} {tuple(data.shape)}"
        )
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise DataCorruptError(
            f"{path}: '{label_key}' should hold {len(data)} integers, "
            f"found {labels.dtype} {tuple(labels.shape)}"
        )
    return data.reshape(-1, *shape), labels.astype(np.int64)


def check_labels(path: Path, labels: np.ndarray, low: int, high: int) -> None:
    """DataCorruptError when a label lies outside [low, high]."""
    if len(labels) and (labels.min() < low or labels.max() > high):
        raise DataCorruptError(
            f"{path}: labels should lie in {low}..{high}, found {labels.min()}..{labels.max()}"
        )


def describe_batches(prefix: str, numbers: Sequence[int]) -> str:
    """Numbered batch files, consecutive runs shortened: [2, 3, 4, 5] -> 'data_batch_2..5'."""
    runs = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    parts = []
    for a, b in runs:
        if b > a + 1:
            parts.append(f"{prefix}{a}..{b}")
        else:  # one or two numbers read better written out
            parts.extend(f"{prefix}{n}" for n in range(a, b + 1))
    return ", ".join(parts)


def read_numbered_batches(
    folder: Path, prefix: str, numbers: Sequence[int], label_key: str, shape: Sequence[int]
) -> Tuple[List[Tuple[int, np.ndarray, np.ndarray]], List[int]]:
    """(number, images, labels) of each ``<prefix><n>`` file present, and the numbers absent."""
    found, absent = [], []
    for n in numbers:
        path = Path(folder) / f"{prefix}{n}"
        if path.is_file():
            found.append((n, *read_image_batch(path, label_key, shape)))
        else:
            absent.append(n)
    return found, absent
