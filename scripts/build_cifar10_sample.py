"""Rebuild the embedded CIFAR-10 sample (nasbench_cli/datasets/data/cifar10_sample.npy.xz).

The sample is the first N images (smallest official indices) of NAS-Bench-201's CIFAR-10 train half
(``splits/cifar-split.txt``), read from the official ``data_batch_1`` of a data directory. The
output is deterministic: the same pixels give the same bytes, hence the sha256 recorded in
nasbench_cli/datasets/cifar10_sample.py (printed here; update SAMPLE_SHA256 when it changes).

    python scripts/build_cifar10_sample.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from nasbench_cli.datasets.cifar10 import FOLDER, PER_BATCH, SHAPE
from nasbench_cli.datasets.cifar10_sample import SAMPLE_IMAGES, load_sample, pack, sample_path
from nasbench_cli.datasets.pickles import read_image_batch
from nasbench_cli.datasets.splits import CIFAR10_SPLIT, split_indices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=SAMPLE_IMAGES)
    parser.add_argument("--out", type=Path, default=sample_path())
    args = parser.parse_args()
    images, labels = read_image_batch(args.data_dir / FOLDER / "data_batch_1", "labels", SHAPE)
    train = split_indices(args.data_dir, CIFAR10_SPLIT, "train")
    if train is None:
        raise SystemExit(f"{args.data_dir / 'splits' / CIFAR10_SPLIT} is needed")
    chosen = np.sort(train)[: args.n]
    if chosen.max() >= min(len(images), PER_BATCH):
        raise SystemExit(f"data_batch_1 holds {len(images)} images; the sample needs index {chosen.max()}")
    raw = pack(chosen, labels[chosen], images[chosen])
    args.out.write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    back = load_sample(args.out, digest)
    assert np.array_equal(back[2], images[chosen]) and np.array_equal(back[1], labels[chosen])  # lossless
    print(f"{args.out}: {len(raw)} bytes, {args.n} images (official indices {chosen[0]}..{chosen[-1]}), "
          f"labels per class {np.bincount(labels[chosen], minlength=10).tolist()}, sha256 {digest}")


if __name__ == "__main__":
    main()
