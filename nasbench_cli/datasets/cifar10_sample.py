"""The CIFAR-10 sample shipped inside the package, so the main job runs on a fresh offline machine.

``data/cifar10_sample.npy.xz`` holds the first :data:`SAMPLE_IMAGES` images (smallest official
indices) of NAS-Bench-201's CIFAR-10 ``train`` half, with their labels and official indices (origin
and licence: ``data/README.md``). It stands in for ``cifar10``'s ``train`` split only where the
default data directory holds no CIFAR-10 training batch (see ``Cifar10.stand_in``); provenance
names it ``embedded CIFAR-10 sample (N images, sha256 <hex>)``.

Format: one ``.npy`` array of records (``index`` uint32, ``label`` uint8, ``coded`` uint8 3x32x32),
xz-compressed. ``coded`` is the image with each pixel replaced by its difference (mod 256) to the
pixel on its left, and the red and blue planes then minus the green one: lossless, and it shrinks
the xz file from 1.16 MB to 0.93 MB for 500 images (raw pixels barely compress). Read with
``allow_pickle=False``; the sha256 of the file is checked before anything is parsed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from nasbench_cli.errors import DataCorruptError

#: the sample's file name inside the package's ``datasets/data`` folder
SAMPLE_FILE = "cifar10_sample.npy.xz"
#: sha256 of the file as shipped (xz of a .npy: rebuilding it from the same pixels gives the same bytes)
SAMPLE_SHA256 = "c84d87d986befe867dfc4e225227f67685dfe95cda1b48a99f386fba0dc3e055"
#: what messages call it
SAMPLE_NAME = "embedded CIFAR-10 sample"
#: images in the sample
SAMPLE_IMAGES = 500
SHAPE = (3, 32, 32)
RECORD = np.dtype([("index", "<u4"), ("label", "u1"), ("coded", "u1", SHAPE)])

_REINSTALL = "reinstall nasbench-cli (pip install --force-reinstall nasbench-cli)"


def sample_path() -> Path:
    """Where the shipped sample lies (inside the installed or editable package)."""
    return Path(__file__).resolve().parent / "data" / SAMPLE_FILE


def sample_source(sha256: str = SAMPLE_SHA256, images: int = SAMPLE_IMAGES) -> str:
    """The sample's name in provenance, warnings and `nasbench data status`."""
    return f"{SAMPLE_NAME} ({images} images, sha256 {sha256})"


def encode(images: np.ndarray) -> np.ndarray:
    """uint8 N x 3 x H x W -> the stored residuals (see the module docstring); :func:`decode` inverts it."""
    images = np.asarray(images, dtype=np.uint8)
    left = np.zeros_like(images)
    left[..., 1:] = images[..., :-1]
    coded = images - left  # uint8 arithmetic wraps: differences mod 256
    coded[:, 0] -= coded[:, 1]
    coded[:, 2] -= coded[:, 1]
    return coded


def decode(coded: np.ndarray) -> np.ndarray:
    """The uint8 images back from :func:`encode`'s residuals."""
    residual = np.array(coded, dtype=np.uint8)
    residual[:, 0] += residual[:, 1]
    residual[:, 2] += residual[:, 1]
    return np.cumsum(residual, axis=-1, dtype=np.uint8)  # wraps mod 256, as encode did


def pack(indices: np.ndarray, labels: np.ndarray, images: np.ndarray) -> bytes:
    """The sample file's bytes for these images (scripts/build_cifar10_sample.py writes them)."""
    import lzma

    records = np.zeros(len(images), dtype=RECORD)
    records["index"], records["label"], records["coded"] = indices, labels, encode(images)
    buffer = io.BytesIO()
    np.save(buffer, records, allow_pickle=False)
    return lzma.compress(buffer.getvalue(), format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME)


def verified_bytes(path: Path, expected: str = SAMPLE_SHA256) -> bytes:
    """The file's bytes after checking its sha256; one-line errors naming the file."""
    from nasbench_cli.groundtruth.embedded import verified_package_file

    return verified_package_file(path, "the embedded CIFAR-10 sample", expected, _REINSTALL)


def unpack(raw: bytes, path: Path) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(official indices, int64 labels, uint8 N x 3 x 32 x 32 images) from the file's bytes."""
    import lzma

    try:
        records = np.load(io.BytesIO(lzma.decompress(raw)), allow_pickle=False)
    except (lzma.LZMAError, ValueError, EOFError, OSError) as err:  # only for a file whose sha256 was accepted
        raise DataCorruptError(f"{path}: not a CIFAR-10 sample file ({err}); {_REINSTALL}") from None
    if records.dtype != RECORD or records.ndim != 1:
        raise DataCorruptError(f"{path}: expected records {RECORD}, found {records.dtype} {records.shape}")
    labels = records["label"].astype(np.int64)
    if len(labels) and labels.max() > 9:
        raise DataCorruptError(f"{path}: labels should lie in 0..9, found up to {labels.max()}")
    return records["index"].astype(np.int64), labels, decode(records["coded"])


def load_sample(path: Optional[Path] = None, expected: str = SAMPLE_SHA256) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checked sample: (official indices, labels, images); ``path`` defaults to the shipped file."""
    path = sample_path() if path is None else Path(path)
    return unpack(verified_bytes(path, expected), path)
