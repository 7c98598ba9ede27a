"""Datasets: official-format readers, NB201 splits, normalisation, batches, errors and download."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import pickle
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from nasbench_cli.datasets import (
    DATASETS,
    batch_indices,
    download_dataset,
    get_dataset,
    make_batch,
    normalise,
)
from nasbench_cli.errors import DataCorruptError, DataMissingError, UnknownNameError, UsageError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


# ----------------------------------------------------------------------------- file writers


def write_cifar(path: Path, images: np.ndarray, labels, label_key: bytes = b"labels") -> None:
    """An official-style CIFAR batch: bytes keys, protocol 2, rows of R, G, B planes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        b"batch_label": b"test batch",
        b"data": images.reshape(len(images), -1),
        label_key: list(map(int, labels)),
    }
    if label_key == b"fine_labels":
        entry[b"coarse_labels"] = [int(x) // 5 for x in labels]
    path.write_bytes(pickle.dumps(entry, protocol=2))


def write_imagenet16(path: Path, images: np.ndarray, labels) -> None:
    """An ImageNet16 batch as the downsampled-ImageNet release stores it: str keys, CHW rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"data": images.reshape(len(images), -1), "labels": list(map(int, labels)),
             "mean": np.zeros(768, dtype=np.float64)}
    path.write_bytes(pickle.dumps(entry))


def write_split(path: Path, **lists) -> None:
    """An NB201 split file: {key: ["int", ["0", "5", ...]]}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: ["int", [str(i) for i in v]] for k, v in lists.items()}))


def random_images(n: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3, size, size), dtype=np.uint8)


def make_cifar10_tree(root: Path) -> None:
    """All six CIFAR-10 files, 3 images each."""
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        write_cifar(root / "cifar-10-batches-py" / name, random_images(3, 32, i), [i % 10] * 3)


def tar_gz(path: Path, files: dict) -> str:
    """Write a .tar.gz holding ``{member name: bytes}``; returns its md5."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.md5(path.read_bytes()).hexdigest()


def cifar10_archive(path: Path) -> str:
    """A small cifar-10-python.tar.gz in the official layout; returns its md5."""
    staging = path.parent / "staging"
    make_cifar10_tree(staging)
    files = {
        f"cifar-10-batches-py/{p.name}": p.read_bytes()
        for p in sorted((staging / "cifar-10-batches-py").iterdir())
    }
    files["cifar-10-batches-py/readme.html"] = b"<html></html>"
    return tar_gz(path, files)


def closed_port_url() -> str:
    """An http URL on the loopback interface where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"


# ----------------------------------------------------------------------------- registry


def test_registry_names_and_shapes():
    assert DATASETS.names() == ["ImageNet16-120", "cifar10", "cifar100", "synthetic"]
    shapes = {n: (get_dataset(n).num_classes, get_dataset(n).image_size) for n in DATASETS}
    assert shapes == {"cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16),
                      "synthetic": (10, 32)}
    with pytest.raises(UnknownNameError, match="cifar10, cifar100"):
        get_dataset("cifar-10")


def test_normalisation_constants_are_nb201s():
    c10, c100, in16 = (get_dataset(n) for n in ("cifar10", "cifar100", "ImageNet16-120"))
    assert np.allclose(np.array(c10.mean) * 255, [125.3, 123.0, 113.9])
    assert np.allclose(np.array(c10.std) * 255, [63.0, 62.1, 66.7])
    assert np.allclose(np.array(c100.mean) * 255, [129.3, 124.1, 112.4])
    assert np.allclose(np.array(c100.std) * 255, [68.2, 65.4, 70.4])
    assert np.allclose(np.array(in16.mean) * 255, [122.68, 116.66, 104.01])
    assert np.allclose(np.array(in16.std) * 255, [63.22, 61.26, 65.09])


def test_unknown_split_lists_valid_ones(tmp_path):
    with pytest.raises(UnknownNameError, match="train-full"):
        get_dataset("cifar10").load(tmp_path, "x-valid")
    with pytest.raises(UnknownNameError, match="x-test"):
        make_batch("cifar100", tmp_path, 4, 0, split="valid")


# ----------------------------------------------------------------------------- real CIFAR-10 subset


def _raw(path: Path):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    return d[b"data"], d[b"labels"]


def test_real_cifar10_counts_and_notes(shared_data):
    ds = get_dataset("cifar10")
    full = ds.load(shared_data, "train-full")
    test = ds.load(shared_data, "test")
    assert len(full) == 4000 and len(test) == 1000
    assert full.images.shape == (4000, 3, 32, 32) and full.images.dtype == np.uint8
    assert full.labels.dtype == np.int64 and set(full.labels.tolist()) == set(range(10))
    assert full.note == ("cifar10 train-full: 4000 of the official 50000 training images from data_batch_1 "
                         "(data_batch_2..5 absent)")

    split = json.loads((shared_data / "splits" / "cifar-split.txt").read_text())
    train_idx = [int(i) for i in split["train"][1] if int(i) < 4000]
    valid_idx = [int(i) for i in split["valid"][1] if int(i) < 4000]
    train, valid = ds.load(shared_data, "train"), ds.load(shared_data, "valid")
    assert len(train) == len(train_idx) and len(valid) == len(valid_idx)
    assert len(train) + len(valid) == 4000 and 0 < len(train) < 4000
    assert f"{len(train)} of its 25000 present" in train.note
    assert "data_batch_2..5 absent" in train.note
    # the halves are the split file's images, in its order
    assert np.array_equal(train.images, full.images[train_idx])
    assert np.array_equal(valid.labels, full.labels[valid_idx])


def test_real_cifar10_pixels_match_the_pickle(shared_data):
    ds = get_dataset("cifar10")
    data, labels = _raw(shared_data / "cifar-10-batches-py" / "data_batch_1")
    full = ds.load(shared_data, "train-full")
    i = 1234
    row = data[i]
    # R, G, B planes of 32 x 32, row-major
    assert np.array_equal(full.images[i, 0].ravel(), row[:1024])
    assert np.array_equal(full.images[i, 2, 5], row[2048 + 5 * 32: 2048 + 6 * 32])
    assert full.labels[i] == labels[i]
    tdata, tlabels = _raw(shared_data / "cifar-10-batches-py" / "test_batch")
    test = ds.load(shared_data, "test")
    assert np.array_equal(test.images[999].reshape(-1), tdata[999])
    assert test.labels[999] == tlabels[999]


def test_real_cifar10_batch(shared_data):
    batch = make_batch("cifar10", shared_data, 16, seed=3, split="test")
    assert batch.inputs.shape == (16, 3, 32, 32) and batch.inputs.dtype == torch.float32
    assert batch.targets.dtype == torch.int64
    test = get_dataset("cifar10").load(shared_data, "test")
    idx = batch_indices(1000, 16, 3)
    expected = (torch.from_numpy(test.images[idx]).float() / 255 - torch.tensor(
        get_dataset("cifar10").mean).view(1, 3, 1, 1)) / torch.tensor(
        get_dataset("cifar10").std).view(1, 3, 1, 1)
    assert torch.allclose(batch.inputs, expected, atol=1e-6)
    assert batch.targets.tolist() == test.labels[idx].tolist()
    with pytest.raises(UsageError, match="larger than the 1000 images available in cifar10 test"):
        make_batch("cifar10", shared_data, 1001, seed=0, split="test")


# ----------------------------------------------------------------------------- written CIFAR-10


def test_cifar10_partial_batches_and_split(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    b1, b3 = random_images(30, 32, 1), random_images(20, 32, 3)
    write_cifar(folder / "data_batch_1", b1, np.arange(30) % 10)
    write_cifar(folder / "data_batch_3", b3, (np.arange(20) + 3) % 10)
    # indices 20000.. are data_batch_3; 45000 (data_batch_5) and 35 (not in the 30) are absent
    write_split(tmp_path / "splits" / "cifar-split.txt",
                train=[0, 5, 35, 20001, 20019, 45000], valid=[1, 2, 20000])
    ds = get_dataset("cifar10")
    full = ds.load(tmp_path, "train-full")
    assert len(full) == 50
    assert full.note.endswith(
        "from data_batch_1, data_batch_3 (data_batch_2, data_batch_4, data_batch_5 absent)"
    )
    train = ds.load(tmp_path, "train")
    assert len(train) == 4 and "4 of its 6 present" in train.note
    assert np.array_equal(train.images, np.stack([b1[0], b1[5], b3[1], b3[19]]))
    assert train.labels.tolist() == [0, 5, 4, 2]
    valid = ds.load(tmp_path, "valid")
    assert np.array_equal(valid.images, np.stack([b1[1], b1[2], b3[0]]))


def test_cifar10_without_split_file(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py" / "data_batch_2", random_images(7, 32, 0), [1] * 7)
    ds = get_dataset("cifar10")
    train = ds.load(tmp_path, "train")
    assert len(train) == 7 and "splits/cifar-split.txt absent" in train.note
    with pytest.raises(DataMissingError) as err:
        ds.load(tmp_path, "valid")
    assert str(tmp_path / "splits" / "cifar-split.txt") in str(err.value)
    assert "AutoDL-Projects" in str(err.value)


# ----------------------------------------------------------------------------- CIFAR-100, IN16


def test_cifar100_reader_and_test_halves(tmp_path):
    folder = tmp_path / "cifar-100-python"
    train_imgs, test_imgs = random_images(12, 32, 5), random_images(10, 32, 6)
    write_cifar(folder / "train", train_imgs, np.arange(12) * 8, label_key=b"fine_labels")
    write_cifar(folder / "test", test_imgs, [99 - i for i in range(10)], label_key=b"fine_labels")
    # index 15 lies beyond the 10 test images written
    write_split(tmp_path / "splits" / "cifar100-test-split.txt", xvalid=[1, 3, 4, 15], xtest=[0, 2])
    ds = get_dataset("cifar100")
    train = ds.load(tmp_path, "train")
    assert np.array_equal(train.images, train_imgs)
    assert train.labels.tolist() == list(range(0, 96, 8))
    test = ds.load(tmp_path, "test")
    assert len(test) == 10 and test.labels[0] == 99
    xv = ds.load(tmp_path, "x-valid")
    assert np.array_equal(xv.images, test_imgs[[1, 3, 4]]) and xv.labels.tolist() == [98, 96, 95]
    assert "3 of its 4 present" in xv.note
    xt = ds.load(tmp_path, "x-test")
    assert xt.labels.tolist() == [99, 97]


def test_imagenet16_keeps_120_classes_shifted(tmp_path):
    folder = tmp_path / "ImageNet16"
    a, b = random_images(5, 16, 7), random_images(4, 16, 8)
    write_imagenet16(folder / "train_data_batch_1", a, [1, 121, 120, 1000, 7])
    write_imagenet16(folder / "train_data_batch_3", b, [500, 2, 3, 130])
    ds = get_dataset("ImageNet16-120")
    train = ds.load(tmp_path, "train")
    assert train.images.shape == (5, 3, 16, 16)
    assert train.labels.tolist() == [0, 119, 6, 1, 2]
    assert np.array_equal(train.images, np.stack([a[0], a[2], a[4], b[1], b[2]]))
    assert "5 images of classes 1..120 (of 9)" in train.note
    assert "train_data_batch_2, train_data_batch_4..10 absent" in train.note

    val = random_images(6, 16, 9)
    write_imagenet16(folder / "val_data", val, [3, 200, 1, 120, 999, 4])
    write_split(tmp_path / "splits" / "imagenet-16-120-test-split.txt", xvalid=[1, 3], xtest=[0, 2])
    test = ds.load(tmp_path, "test")
    assert test.labels.tolist() == [2, 0, 119, 3]
    # split indices count within the kept 120-class test set, not the raw file
    xv = ds.load(tmp_path, "x-valid")
    assert np.array_equal(xv.images, val[[2, 5]]) and xv.labels.tolist() == [0, 3]
    assert ds.load(tmp_path, "x-test").labels.tolist() == [2, 119]
    batch = make_batch(ds, tmp_path, 4, seed=1, split="test")
    assert batch.inputs.shape == (4, 3, 16, 16)


# ----------------------------------------------------------------------------- normalisation


def test_constant_image_normalises_to_the_expected_values(tmp_path):
    ds = get_dataset("cifar100")
    const = np.empty((2, 3, 32, 32), dtype=np.uint8)
    const[0] = np.array([129, 124, 112], dtype=np.uint8).reshape(3, 1, 1)
    const[1] = 255
    write_cifar(tmp_path / "cifar-100-python" / "test", const, [4, 5], label_key=b"fine_labels")
    batch = make_batch(ds, tmp_path, 2, seed=0, split="test")
    mean, std = np.array(ds.mean), np.array(ds.std)
    for img, target in zip(batch.inputs, batch.targets):
        source = const[0] if target == 4 else const[1]
        expected = (source[:, 0, 0] / 255 - mean) / std
        got = img.numpy()
        assert np.allclose(got.mean(axis=(1, 2)), expected, atol=1e-5)
        assert np.allclose(got.std(axis=(1, 2)), 0.0, atol=1e-6)
    # 129.3 is the mean of the red channel: a red value of 129 is 0.3/68.2 below it
    first = batch.inputs[batch.targets.tolist().index(4)]
    assert abs(float(first[0, 0, 0]) - (-0.3 / 68.2)) < 1e-5


def test_normalise_matches_totensor_normalize_formula():
    imgs = random_images(3, 16, 11)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    out = normalise(imgs, mean, std)
    ref = (imgs.astype(np.float32) / np.float32(255) - np.float32(mean).reshape(1, 3, 1, 1)) \
        / np.float32(std).reshape(1, 3, 1, 1)
    assert out.dtype == torch.float32 and np.allclose(out.numpy(), ref, atol=1e-6)


# ----------------------------------------------------------------------------- batches


def test_batch_indices_deterministic_distinct_and_prefix():
    a = batch_indices(1000, 128, seed=7)
    assert np.array_equal(a, batch_indices(1000, 128, seed=7))
    assert not np.array_equal(a, batch_indices(1000, 128, seed=8))
    assert len(set(a.tolist())) == 128 and a.min() >= 0 and a.max() < 1000
    for small in (1, 16, 64):
        assert np.array_equal(batch_indices(1000, small, seed=7), a[:small])
    assert sorted(batch_indices(10, 10, seed=0).tolist()) == list(range(10))
    with pytest.raises(UsageError, match="batch size 11 is larger than the 10 images"):
        batch_indices(10, 11, seed=0)
    with pytest.raises(UsageError):
        batch_indices(10, 0, seed=0)


def test_datasets_do_not_import_proxies_and_batch_is_shared():
    # a fresh interpreter: this test process may have imported the proxies already
    code = (
        "import sys, nasbench_cli.datasets as d\n"
        "assert not [m for m in sys.modules if m.startswith('nasbench_cli.proxies')], 'proxies imported'\n"
        "from nasbench_cli.batch import Batch\n"
        "assert type(d.make_batch('synthetic', '.', 2, seed=0)) is Batch\n"
        "from nasbench_cli.proxies import Batch as ProxyBatch\n"
        "assert ProxyBatch is Batch\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_make_batch_same_seed_same_bytes_and_prefix(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py" / "test_batch", random_images(40, 32, 2),
                np.arange(40) % 10)
    one = make_batch("cifar10", tmp_path, 32, seed=5, split="test")
    two = make_batch("cifar10", tmp_path, 32, seed=5, split="test")
    assert one.inputs.numpy().tobytes() == two.inputs.numpy().tobytes()
    assert torch.equal(one.targets, two.targets)
    small = make_batch("cifar10", tmp_path, 8, seed=5, split="test")
    assert torch.equal(small.inputs, one.inputs[:8]) and torch.equal(small.targets, one.targets[:8])
    other = make_batch("cifar10", tmp_path, 32, seed=6, split="test")
    assert not torch.equal(other.inputs, one.inputs)
    with pytest.raises(UsageError, match="larger than the 40 images"):
        make_batch("cifar10", tmp_path, 41, seed=5, split="test")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_make_batch_on_cuda_has_cpu_bytes():
    cpu = make_batch("synthetic", Path("."), 8, seed=1)
    gpu = make_batch("synthetic", Path("."), 8, seed=1, device=torch.device("cuda"))
    assert gpu.inputs.is_cuda and torch.equal(gpu.inputs.cpu(), cpu.inputs)


def test_synthetic_needs_no_files_and_is_deterministic(tmp_path):
    missing = tmp_path / "nothing-here"
    big = make_batch("synthetic", missing, 256, seed=4)
    again = make_batch("synthetic", missing, 256, seed=4)
    assert big.inputs.shape == (256, 3, 32, 32) and big.inputs.dtype == torch.float32
    assert big.inputs.numpy().tobytes() == again.inputs.numpy().tobytes()
    assert torch.equal(big.targets, again.targets) and big.targets.dtype == torch.int64
    assert set(big.targets.tolist()) == set(range(10))
    assert abs(float(big.inputs.mean())) < 0.02 and abs(float(big.inputs.std()) - 1) < 0.02
    small = make_batch("synthetic", missing, 10, seed=4)
    assert torch.equal(small.inputs, big.inputs[:10])
    assert torch.equal(small.targets, big.targets[:10])
    assert not torch.equal(make_batch("synthetic", missing, 10, seed=5).inputs, small.inputs)
    assert not torch.equal(make_batch("synthetic", missing, 10, seed=4, split="test").inputs,
                           small.inputs)
    assert not missing.exists()


# ----------------------------------------------------------------------------- missing / damaged


def test_missing_cifar_names_path_and_how_to_get_it(tmp_path):
    with pytest.raises(DataMissingError) as err:
        get_dataset("cifar10").load(tmp_path, "train")
    msg = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1..5") in msg
    assert "nasbench data download cifar10" in msg and CIFAR10_URL in msg
    with pytest.raises(DataMissingError, match="cifar-100-python/test"):
        get_dataset("cifar100").load(tmp_path, "x-test")


def test_missing_imagenet16_says_where_to_get_it(tmp_path):
    with pytest.raises(DataMissingError) as err:
        get_dataset("ImageNet16-120").load(tmp_path, "test")
    msg = str(err.value)
    assert str(tmp_path / "ImageNet16" / "val_data") in msg
    assert "cannot be downloaded automatically" in msg and "image-net.org" in msg


def test_missing_test_split_file(tmp_path):
    write_cifar(tmp_path / "cifar-100-python" / "test", random_images(3, 32, 0), [1, 2, 3],
                label_key=b"fine_labels")
    with pytest.raises(DataMissingError, match="cifar100-test-split.txt"):
        get_dataset("cifar100").load(tmp_path, "x-valid")


def test_truncated_pickle_is_corrupt(tmp_path):
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    write_cifar(path, random_images(5, 32, 0), [0] * 5)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataCorruptError) as err:
        get_dataset("cifar10").load(tmp_path, "test")
    assert str(path) in str(err.value) and "not a readable data batch" in str(err.value)


def test_wrong_keys_shape_and_labels_are_corrupt(tmp_path):
    path = tmp_path / "cifar-100-python" / "train"
    ds = get_dataset("cifar100")
    write_cifar(path, random_images(2, 32, 0), [1, 2], label_key=b"labels")  # CIFAR-10 keys
    with pytest.raises(DataCorruptError, match="missing key 'fine_labels'") as err:
        ds.load(tmp_path, "train")
    assert str(path) in str(err.value)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [1, 2]}))
    with pytest.raises(DataCorruptError, match="uint8 N x 3072"):
        ds.load(tmp_path, "train")
    write_cifar(path, random_images(2, 32, 0), [1, 100], label_key=b"fine_labels")
    with pytest.raises(DataCorruptError, match="0..99"):
        ds.load(tmp_path, "train")
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DataCorruptError, match="expected a dict"):
        ds.load(tmp_path, "train")


class _Sneaky:
    def __reduce__(self):
        return (os.getcwd, ())


def test_pickle_with_foreign_objects_is_refused(tmp_path):
    path = tmp_path / "ImageNet16" / "val_data"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps({"data": _Sneaky(), "labels": [1]}))
    with pytest.raises(DataCorruptError, match="refused to load"):
        get_dataset("ImageNet16-120").load(tmp_path, "test")


def test_damaged_split_file_is_corrupt(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py" / "data_batch_1", random_images(3, 32, 0), [1] * 3)
    split = tmp_path / "splits" / "cifar-split.txt"
    split.parent.mkdir()
    split.write_text('{"train": ["int", ["0", "1"')
    with pytest.raises(DataCorruptError, match="not (a JSON split file|valid JSON)") as err:
        get_dataset("cifar10").load(tmp_path, "train")
    assert str(split) in str(err.value)
    write_split(split, xtrain=[0])
    with pytest.raises(DataCorruptError, match="no 'valid' list"):
        get_dataset("cifar10").load(tmp_path, "valid")


# ----------------------------------------------------------------------------- download


def test_required_files():
    c10 = get_dataset("cifar10").required_files()
    paths = [f.path for f in c10]
    assert paths[:6] == [f"cifar-10-batches-py/data_batch_{k}" for k in range(1, 6)] + [
        "cifar-10-batches-py/test_batch"]
    assert "splits/cifar-split.txt" in paths
    assert all(len(f.md5) == 32 for f in c10[:6]) and CIFAR10_URL in c10[0].source
    in16 = {f.path: f for f in get_dataset("ImageNet16-120").required_files()}
    assert "ImageNet16/val_data" in in16 and "ImageNet16/train_data_batch_10" in in16
    assert "splits/imagenet-16-120-test-split.txt" in in16
    assert get_dataset("synthetic").required_files() == []


def test_download_from_file_url_with_checksum(tmp_path):
    archive = tmp_path / "server" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    md5 = cifar10_archive(archive)
    data_dir = tmp_path / "data"
    folder = download_dataset("cifar10", data_dir, progress=False, url=archive.as_uri(), md5=md5)
    assert folder == data_dir / "cifar-10-batches-py"
    assert (folder / "data_batch_5").is_file() and (folder / "readme.html").is_file()
    assert (data_dir / "cifar-10-python.tar.gz").is_file()
    assert not list(data_dir.glob("*.part")) and not list(data_dir.glob(".unpack-*"))
    assert len(get_dataset("cifar10").load(data_dir, "train-full")) == 15
    # complete: nothing is fetched again, even from an unreachable address
    assert download_dataset("cifar10", data_dir, progress=False, url=closed_port_url()) == folder


def test_download_over_loopback_http(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    md5 = cifar10_archive(served / "cifar-10-python.tar.gz")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cifar-10-python.tar.gz"
        data_dir = tmp_path / "data"
        download_dataset("cifar10", data_dir, progress=False, url=url, md5=md5)
        assert len(get_dataset("cifar10").load(data_dir, "test")) == 3
        # the official md5 does not match this small archive: refused and removed
        other = tmp_path / "other"
        with pytest.raises(DataCorruptError) as err:
            download_dataset("cifar10", other, progress=False, url=url)
        assert "c58f30108f718f92721af3b95e74349a" in str(err.value) and md5 in str(err.value)
        assert list(other.iterdir()) == []
        with pytest.raises(DataMissingError, match="HTTP 404"):
            download_dataset("cifar10", other, progress=False, url=url + ".missing", md5=md5)
    finally:
        server.shutdown()
        server.server_close()


def test_download_unreachable_says_what_to_place_where(tmp_path):
    with pytest.raises(DataMissingError) as err:
        download_dataset("cifar10", tmp_path, progress=False, url=closed_port_url())
    msg = str(err.value)
    assert CIFAR10_URL in msg and "c58f30108f718f92721af3b95e74349a" in msg
    assert f"place cifar-10-python.tar.gz in {tmp_path}" in msg
    assert str(tmp_path / "cifar-10-batches-py") in msg
    assert not list(tmp_path.glob("*.part"))


def test_archive_placed_by_hand_is_unpacked_without_network(tmp_path):
    md5 = cifar10_archive(tmp_path / "cifar-10-python.tar.gz")
    download_dataset("cifar10", tmp_path, progress=False, url=closed_port_url(), md5=md5)
    assert (tmp_path / "cifar-10-batches-py" / "test_batch").is_file()


def test_unsafe_archive_is_refused(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    md5 = tar_gz(evil, {"cifar-10-batches-py/test_batch": b"x", "../escaped": b"boom"})
    data_dir = tmp_path / "data"
    with pytest.raises(DataCorruptError, match="'../escaped' is a path outside"):
        download_dataset("cifar10", data_dir, progress=False, url=evil.as_uri(), md5=md5)
    assert not (tmp_path / "escaped").exists()
    assert not (data_dir / "cifar-10-batches-py").exists()

    linked = tmp_path / "link.tar.gz"
    with tarfile.open(linked, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    md5 = hashlib.md5(linked.read_bytes()).hexdigest()
    with pytest.raises(DataCorruptError, match="is a link"):
        download_dataset("cifar10", tmp_path / "d2", progress=False, url=linked.as_uri(), md5=md5)


def test_imagenet16_cannot_be_downloaded(tmp_path):
    with pytest.raises(DataMissingError, match="cannot be downloaded automatically") as err:
        download_dataset("ImageNet16-120", tmp_path, progress=False)
    assert str(tmp_path / "ImageNet16") in str(err.value)


def test_make_batch_with_source_reports_files_and_note(shared_data):
    batch, source = make_batch("cifar10", shared_data, 8, seed=2, with_source=True)
    assert source.files == ("cifar-10-batches-py/data_batch_1", "splits/cifar-split.txt")
    assert source.note.startswith("cifar10 train: ") and "NB201 train half" in source.note
    assert source.images.shape == (8, 3, 32, 32) and source.images.dtype == np.uint8
    assert torch.equal(batch.targets, torch.from_numpy(source.labels))
    assert torch.equal(batch.inputs, normalise(source.images, get_dataset("cifar10").mean,
                                               get_dataset("cifar10").std))
    _, synth = make_batch("synthetic", shared_data, 4, seed=2, with_source=True)
    assert synth.files == () and "no files" in synth.note
