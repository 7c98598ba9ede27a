"""The CIFAR-10 sample shipped in the package: its file, when it stands in, what it refuses, and the
main job (`make demo`'s three commands) on an offline machine with an empty user cache."""

from __future__ import annotations

import json
import pickle
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.datasets import cifar10_sample, get_dataset, make_batch
from nasbench_cli.datasets.cifar10_sample import (
    SAMPLE_IMAGES,
    SAMPLE_SHA256,
    decode,
    encode,
    load_sample,
    pack,
    sample_path,
    sample_source,
    unpack,
    verified_bytes,
)
from nasbench_cli.datasets.pickles import read_image_batch
from nasbench_cli.datasets.splits import split_indices
from nasbench_cli.errors import DataCorruptError, DataMissingError
from nasbench_cli.paths import default_data_dir
from nasbench_cli.runtime import derive_seed
from nasbench_cli.scoring import batch_fingerprint

REPO = Path(__file__).resolve().parents[1]
FINAL = "cifar10/ori-test@200"


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """An empty user cache, no $NASBENCH_DATA, and no network: every download fails at once."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NASBENCH_DATA", raising=False)
    attempts = []

    def unreachable(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    root = default_data_dir()
    assert str(root).startswith(str(tmp_path)) and not root.exists()
    return root, attempts


def _write_cifar(path: Path, images: np.ndarray, labels) -> None:
    """An official-style CIFAR-10 batch (bytes keys, protocol 2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {b"batch_label": b"batch", b"data": images.reshape(len(images), -1),
             b"labels": [int(x) for x in labels]}
    path.write_bytes(pickle.dumps(entry, protocol=2))


def _one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output and lines[-1].startswith("Error: "), result.output
    return lines[-1]


# --- the file -------------------------------------------------------------------------------------------
def test_the_sample_file_is_small_checked_and_whole():
    raw = sample_path().read_bytes()
    assert len(raw) <= 1_000_000  # "at most about 1 MB"
    indices, labels, images = load_sample()
    assert images.shape == (SAMPLE_IMAGES, 3, 32, 32) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and set(labels.tolist()) == set(range(10))  # every class present
    assert np.all(np.diff(indices) > 0) and indices[0] == 0
    assert SAMPLE_IMAGES >= 128  # NASWOT's batch, the largest default batch but linear_regions' 1000
    assert sample_source() == f"embedded CIFAR-10 sample (500 images, sha256 {SAMPLE_SHA256})"
    assert (sample_path().parent / "README.md").is_file()


def test_the_coding_is_lossless():
    images = np.random.default_rng(3).integers(0, 256, (7, 3, 32, 32), dtype=np.uint8)
    images[0] = 255  # wrap-around at both ends
    images[1] = 0
    coded = encode(images)
    assert not np.array_equal(coded, images) and np.array_equal(decode(coded), images)
    indices, labels, back = unpack(pack(np.arange(7), np.arange(7) % 10, images), Path("x"))
    assert np.array_equal(back, images) and indices.tolist() == list(range(7))


def test_the_pixels_are_the_first_images_of_the_nb201_train_half(shared_data):
    indices, labels, images = load_sample()
    official, official_labels = read_image_batch(shared_data / "cifar-10-batches-py" / "data_batch_1", "labels",
                                                 (3, 32, 32))
    train = np.sort(split_indices(shared_data, "cifar-split.txt", "train"))
    assert indices.tolist() == train[:SAMPLE_IMAGES].tolist()
    assert np.array_equal(images, official[indices]) and np.array_equal(labels, official_labels[indices])


def test_a_damaged_or_missing_sample_is_refused_in_one_line(tmp_path, fresh_machine, monkeypatch):
    tampered = tmp_path / "cifar10_sample.npy.xz"
    raw = bytearray(sample_path().read_bytes())
    raw[len(raw) // 2] ^= 1
    tampered.write_bytes(bytes(raw))
    with pytest.raises(DataCorruptError, match="damaged.*reinstall") as err:
        verified_bytes(tampered)
    assert str(tampered) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataMissingError, match="missing from the installation"):
        verified_bytes(tmp_path / "absent.npy.xz")
    monkeypatch.setattr(cifar10_sample, "sample_path", lambda: tampered)
    root, _ = fresh_machine
    with pytest.raises(DataCorruptError, match="damaged"):
        get_dataset("cifar10").load(root, "train")
    status = json.loads(CliRunner().invoke(main, ["data", "status", "--json"]).stdout)
    assert status["reads"]["cifar10"]["reads"] == "damaged sample"


# --- when it stands in ------------------------------------------------------------------------------------
def test_only_the_default_data_dir_without_cifar10_reads_the_sample(tmp_path, fresh_machine):
    root, _ = fresh_machine
    cifar = get_dataset("cifar10")
    train = cifar.load(root, "train")
    assert len(train) == SAMPLE_IMAGES and train.stand_in == sample_source()
    assert train.files == (str(sample_path()),) and sample_source() in train.note
    assert root.is_dir()  # created, so that the engine's workers are handed the same folder
    # a folder the user names is never replaced by the sample: a typo there must fail
    with pytest.raises(DataMissingError, match="does not exist"):
        cifar.load(tmp_path / "named", "train")
    (tmp_path / "named").mkdir()
    with pytest.raises(DataMissingError, match="data_batch_1..5"):
        cifar.load(tmp_path / "named", "train")
    # any training batch placed in the default folder is preferred to the sample
    images = np.random.default_rng(0).integers(0, 256, (150, 3, 32, 32), dtype=np.uint8)
    _write_cifar(root / "cifar-10-batches-py" / "data_batch_2", images, np.arange(150) % 10)
    placed = cifar.load(root, "train")
    assert not placed.stand_in and len(placed) == 150 and "data_batch_2" in placed.note


def test_what_the_sample_cannot_give_is_refused_in_one_line(fresh_machine):
    root, _ = fresh_machine
    for split in ("valid", "train-full", "test"):
        with pytest.raises(DataMissingError, match=f"cifar10 {split}: .*embedded CIFAR-10 sample .*--split train") as err:
            make_batch("cifar10", root, 16, 0, split=split)
        assert "\n" not in str(err.value) and "nasbench data download cifar10" in str(err.value)
    with pytest.raises(DataMissingError, match="a batch of 501 images needs the full CIFAR-10.*holds 500"):
        make_batch("cifar10", root, SAMPLE_IMAGES + 1, 0)
    with pytest.raises(DataMissingError, match="--augment train .*holds 500 images"):
        make_batch("cifar10", root, 16, 0, augment="train")
    assert make_batch("cifar10", root, SAMPLE_IMAGES, 0).inputs.shape[0] == SAMPLE_IMAGES  # all of it is fine


def test_sample_batches_are_keyed_apart_from_full_data_ones(fresh_machine, shared_data):
    root, _ = fresh_machine
    sample_batch = make_batch("cifar10", root, 128, 0)
    full_batch = make_batch("cifar10", shared_data, 128, 0)
    assert batch_fingerprint(sample_batch) != batch_fingerprint(full_batch)
    assert batch_fingerprint(sample_batch) == batch_fingerprint(make_batch("cifar10", root, 128, 0))


# --- the main job, offline --------------------------------------------------------------------------------
def test_make_demo_runs_offline_on_the_sample(tmp_path, fresh_machine):
    """The demo's commands (data download --if-missing, score, correlate) with an empty user cache,
    no data directory and no network; three networks and a batch of 32 instead of 300 and 128, to
    stay fast (a NASWOT batch of 128 costs seconds per network on a busy CPU)."""
    root, attempts = fresh_machine
    runner = CliRunner()
    status = runner.invoke(main, ["data", "status"])
    assert status.exit_code == 0 and f"sample   cifar10: none in {root}" in status.output
    assert json.loads(runner.invoke(main, ["data", "status", "--json"]).stdout)["reads"]["cifar10"] == {
        "reads": "embedded sample", "split": "train", "source": sample_source(), "path": str(sample_path()),
        "detail": None}

    download = runner.invoke(main, ["data", "download", "cifar10", "--if-missing", "--quiet"])
    assert download.exit_code == 0, download.output
    assert len(attempts) == 1  # tried once, failed at once
    warning = [line for line in download.stderr.splitlines() if "could not download" in line]
    assert len(warning) == 1 and warning[0].endswith(f"runs use the {sample_source()}"), download.stderr
    # asked for explicitly, the download still fails (nothing stands in for a download)
    assert "could not download" in _one_line_error(runner.invoke(main, ["data", "download", "cifar10"]))

    out = tmp_path / "demo.csv"
    score = runner.invoke(main, ["score", "--space", "nb201", "--dataset", "cifar10", "--proxy", "naswot",
                                 "--n", "3", "--seed", "0", "--batch-size", "32", "--executor", "sequential",
                                 "--out", str(out)])
    assert score.exit_code == 0, score.output
    notes = [line for line in score.stderr.splitlines() if "embedded CIFAR-10 sample" in line]
    assert len(notes) == 1 and notes[0].startswith("warning: cifar10: no CIFAR-10 training batch in"), score.stderr
    record = json.loads(out.with_name(out.name + ".provenance.json").read_text())
    assert record["data_files"] == [str(sample_path())]
    assert record["data_sha256"] == {str(sample_path()): SAMPLE_SHA256}
    assert record["data_note"].startswith(f"cifar10 train: {sample_source()}")
    fingerprint = batch_fingerprint(make_batch("cifar10", root, 32, derive_seed(0, "batch")))
    assert f"data={fingerprint}" in record["store_contexts"]["naswot"]  # the store keys the sample's batch

    correlate = runner.invoke(main, ["correlate", str(out), "--target", FINAL])
    assert correlate.exit_code == 0, correlate.output
    assert "tau" in correlate.output and "n=3" in correlate.output
    assert len(attempts) == 2  # the explicit download; score and correlate never touch the network


def test_a_named_empty_data_dir_still_fails_offline(tmp_path, fresh_machine):
    root, _ = fresh_machine
    named = tmp_path / "named"
    named.mkdir()
    result = CliRunner().invoke(main, ["data", "download", "cifar10", "--if-missing", "--data-dir", str(named)])
    assert str(named) in _one_line_error(result)
    status = json.loads(CliRunner().invoke(main, ["data", "status", "--json", "--data-dir", str(named)]).stdout)
    assert status["reads"]["cifar10"]["reads"] == "missing"
    assert status["reads"]["synthetic"]["reads"] == "no files"


# --- packaging --------------------------------------------------------------------------------------------
@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_package_data_ships_the_sample():
    import fnmatch
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["nasbench_cli"]
    for path in (sample_path(), sample_path().parent / "README.md"):
        relative = path.relative_to(REPO / "nasbench_cli").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), (relative, patterns)
