"""Every space scores on every dataset: classes, resolution and normalisation reach the network."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from test_datasets import random_images, write_cifar, write_imagenet16

HEAD_WIDTH = {"nb201": 64, "nats-tss": 64}  # channels entering the classifier


def _data_dir(tmp_path):
    write_cifar(tmp_path / "cifar-100-python" / "train", random_images(20, 32, 0), list(range(20)), b"fine_labels")
    write_cifar(tmp_path / "cifar-100-python" / "test", random_images(4, 32, 1), [0, 1, 2, 3], b"fine_labels")
    write_imagenet16(tmp_path / "ImageNet16" / "train_data_batch_1", random_images(20, 16, 2),
                     [1 + i % 120 for i in range(20)])
    write_imagenet16(tmp_path / "ImageNet16" / "val_data", random_images(4, 16, 3), [1, 2, 3, 4])
    return tmp_path


@pytest.mark.parametrize("space", ["nb201", "nats-tss", "nats-sss"])
def test_space_scores_on_cifar100_and_imagenet16(tmp_path, space):
    data_dir = _data_dir(tmp_path)
    params = {}
    for dataset in ("cifar100", "ImageNet16-120"):
        out = tmp_path / f"{space}-{dataset}.csv"
        result = CliRunner().invoke(main, [
            "score", "--space", space, "--dataset", dataset, "--archs", "-", "--proxy", "naswot,params",
            "--head", "dataset", "--batch-size", "8", "--no-store", "--quiet", "--no-timing",
            "--data-dir", str(data_dir), "--out", str(out)], input="7\n")
        assert result.exit_code == 0, result.output
        row = pd.read_csv(out).iloc[0]
        assert row["index"] == 7 and pd.notna(row["naswot"])
        params[dataset] = row["params"]
    # the classifier grows by 20 classes x (width + bias) between 100 and 120 classes
    width = HEAD_WIDTH.get(space)
    if width:
        assert params["ImageNet16-120"] - params["cifar100"] == pytest.approx(20 * (width + 1) / 1e6)
    else:
        assert params["ImageNet16-120"] > params["cifar100"]
