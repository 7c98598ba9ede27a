"""--augment train: the CIFAR training transform (pad-4 random crop, flip) on the scoring batch."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.datasets import get_dataset, make_batch
from nasbench_cli.datasets.augment import AUGMENTATIONS, PADDING, train_augment
from nasbench_cli.errors import UsageError


def coded(n: int = 12, channels: int = 3, size: int = 8) -> torch.Tensor:
    """Pixel = 1 + image * 1e4 + channel * 1e3 + row * 10 + col (never the fill value 0)."""
    i, c, r, k = torch.meshgrid(torch.arange(n), torch.arange(channels), torch.arange(size), torch.arange(size),
                                indexing="ij")
    return (1 + i * 10000 + c * 1000 + r * 10 + k).double()


def test_each_image_is_a_window_of_itself_padded_with_the_fill_then_maybe_flipped():
    images, fill = coded(), [0.0, -1.0, -2.0]
    out = train_augment(images, fill, seed=3)
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images, (PADDING,) * 4)
    for c, value in enumerate(fill):
        padded[:, c][padded[:, c] == 0] = value
    size, flipped = images.shape[-1], 0
    for i in range(len(images)):
        windows = [padded[i, :, dy:dy + size, dx:dx + size] for dy in range(2 * PADDING + 1)
                   for dx in range(2 * PADDING + 1)]
        plain = any(torch.equal(out[i], w) for w in windows)
        mirrored = any(torch.equal(out[i], w.flip(-1)) for w in windows)
        assert plain or mirrored
        flipped += mirrored and not plain
    assert 0 < flipped < len(images)  # both cases occur in 12 draws for this seed
    assert any((out[i] == fill[1]).any() for i in range(len(images)))  # some crop reaches the padding


def test_draws_depend_on_seed_and_position_only():
    images = coded(n=10)
    full = train_augment(images, [0.0] * 3, seed=5)
    assert torch.equal(full, train_augment(images, [0.0] * 3, seed=5))
    assert torch.equal(full[:4], train_augment(images[:4], [0.0] * 3, seed=5))  # a prefix sees the same images
    assert not torch.equal(full, train_augment(images, [0.0] * 3, seed=6))


def test_make_batch_augments_only_when_asked():
    data = get_dataset("synthetic")
    plain = make_batch(data, ".", 16, 1)
    augmented = make_batch(data, ".", 16, 1, augment="train")
    assert torch.equal(augmented.targets, plain.targets)
    assert not torch.equal(augmented.inputs, plain.inputs)
    assert torch.equal(augmented.inputs, make_batch(data, ".", 16, 1, augment="train").inputs)
    with pytest.raises(UsageError, match="none, train"):
        make_batch(data, ".", 16, 1, augment="cutout")


def test_cli_choices_are_the_augmentations():
    from nasbench_cli.commands.score import score

    (augment,) = [p for p in score.params if p.name == "augment"]
    assert tuple(augment.type.choices) == AUGMENTATIONS


def test_an_augmented_batch_gets_its_own_store_key(tmp_path):
    args = ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", "jacob_cov", "--archs", "-",
            "--batch-size", "8", "--data-dir", str(tmp_path), "--store", str(tmp_path / "s.sqlite"),
            "--executor", "sequential"]
    first = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a.csv")], input="3\n")
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, [*args, "--augment", "train", "--out", str(tmp_path / "b.csv")], input="3\n")
    assert again.exit_code == 0, again.output
    assert "(0 from the store)" in again.output
    a, b = ((tmp_path / f).read_text().splitlines()[1].split(",")[2] for f in ("a.csv", "b.csv"))
    assert a != b


def test_score_module_refuses_augment_on_a_batch_of_your_own():
    from nasbench_cli.api import score_module

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    with pytest.raises(UsageError, match="augment applies"):
        score_module(net, "naswot", torch.randn(4, 3, 8, 8), augment="train")
