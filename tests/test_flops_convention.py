"""The `flops` proxy is the benchmark's own count: NATS-Bench records (real files in ../shared/data),
the score CSV's benchmark_flops, the counting rule, and how NAS-Bench-Suite-Zero's flops differ."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from nasbench_cli.cli import main
from nasbench_cli.datasets import get_dataset
from nasbench_cli.groundtruth.nats_archive import iter_nats_records
from nasbench_cli.models.nb201 import build_nb201
from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.spaces import create_space

CPU = torch.device("cpu")
ARCHIVES = {"nats-tss": ("tss", "nats/NATS-tss-v1_0-3ffb9-simple"),
            "nats-sss": ("sss", "nats/NATS-sss-v1_0-50262-simple")}
# the benchmark's dataset names -> the toolkit's dataset (cifar10-valid is CIFAR-10's train split)
DATASETS = {"cifar10-valid": "cifar10", "cifar10": "cifar10", "cifar100": "cifar100",
            "ImageNet16-120": "ImageNet16-120"}
# the records carry at most 6 decimals
RECORD_ROUNDING = 5e-7


def flops(model: nn.Module, input_shape: Tuple[int, ...], num_classes: int = 10) -> float:
    """The registered proxy on ``model`` as the scorer calls a data-free proxy."""
    context = ProxyContext(num_classes=num_classes, device=CPU, input_shape=input_shape)
    return PROXIES.get("flops").fn(model, None, context)


def benchmark_flops(shared_data: Path, space: str) -> Iterator[Tuple[int, str, str, float]]:
    """(index, arch, dataset, the record's flop) for every real record and dataset of ``space``."""
    nats_space, folder = ARCHIVES[space]
    if not (shared_data / folder).is_dir():
        pytest.skip(f"NATS-Bench {nats_space} records not found at {shared_data / folder}")
    for record in iter_nats_records(shared_data / folder, nats_space):
        results = next(iter(record.results.values()))  # every schedule records the same costs
        for dataset in results.get_dataset_names():
            yield record.index, record.arch, dataset, float(results.get_compute_costs(dataset)["flops"])


@pytest.mark.parametrize("space", sorted(ARCHIVES))
def test_flops_equal_the_benchmark_records(shared_data, space):
    bench = create_space(space)
    checked: Dict[str, int] = {}
    for index, arch, name, expected in benchmark_flops(shared_data, space):
        assert bench.arch_str(index) == arch
        data = get_dataset(DATASETS[name])
        net = bench.build(index, data.num_classes)
        value = flops(net, (data.channels, data.image_size, data.image_size), data.num_classes)
        assert value == pytest.approx(expected, abs=RECORD_ROUNDING), (space, index, name)
        checked[name] = checked.get(name, 0) + 1
    # 3 real records, each with its 10-, 100- and 120-class networks
    assert {checked.get(name, 0) for name in ("cifar10", "cifar100", "ImageNet16-120")} == {3}


def test_score_csv_flops_equal_its_benchmark_flops(shared_data, tmp_path):
    """End to end: the converted NATS table's flops joined as benchmark_flops next to ours."""
    _, folder = ARCHIVES["nats-tss"]
    for needed in (folder, "cifar-10-batches-py"):
        if not (shared_data / needed).is_dir():
            pytest.skip(f"{shared_data / needed} not found")
    data_dir = tmp_path / "data"
    (data_dir / "nats").mkdir(parents=True)
    (data_dir / folder).symlink_to(shared_data / folder, target_is_directory=True)
    (data_dir / "cifar-10-batches-py").symlink_to(shared_data / "cifar-10-batches-py", target_is_directory=True)
    runner = CliRunner()
    converted = runner.invoke(main, ["data", "convert", str(shared_data / folder), "--data-dir", str(data_dir),
                                     "--quiet"])
    assert converted.exit_code == 0, converted.output
    archs = tmp_path / "archs.txt"
    archs.write_text("0\n11\n284\n")
    out = tmp_path / "scores.csv"
    scored = runner.invoke(main, ["score", "--space", "nats-tss", "--dataset", "cifar10", "--proxy", "flops",
                                  "--archs", str(archs), "--data-dir", str(data_dir), "--no-store", "--quiet",
                                  "--out", str(out)])
    assert scored.exit_code == 0, scored.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["index"] for row in rows] == ["0", "11", "284"]
    for row in rows:
        assert float(row["flops"]) == pytest.approx(float(row["benchmark_flops"]), abs=RECORD_ROUNDING)


class Counted(nn.Module):
    """Every layer kind once, and one conv called twice."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, padding=1, groups=2, bias=True)  # 8x8 out
        self.bn = nn.BatchNorm2d(6)
        self.pool = nn.AvgPool2d(2)  # 4x4
        self.maxpool = nn.MaxPool2d(3, stride=1, padding=1)
        self.again = nn.Conv2d(6, 6, 1, bias=False)  # called twice on 4x4
        self.line = nn.Conv1d(6, 5, 3, bias=False)  # 16 positions -> 14
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(5, 7)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        x = self.again(self.again(self.maxpool(x))) + x
        return self.fc(self.gap(self.line(x.flatten(2))).flatten(1))


def test_the_counting_rule():
    per_image = ((9 * 4 // 2 * 6 + 6) * 64  # grouped conv with bias
                 + 2 * (6 * 6) * 16  # each call of a module counts
                 + (3 * 6 * 5) * 14  # Conv1d
                 + (5 * 7 + 7))  # Linear with bias; BN, ReLU, pooling and the addition count nothing
    assert flops(Counted(), (4, 8, 8)) == pytest.approx(per_image / 1e6, abs=1e-12)
    # per image: a batch of 5 gives the same, and the model's mode does not matter
    batch = Batch(torch.randn(5, 4, 8, 8), torch.zeros(5, dtype=torch.long))
    net = Counted().train()
    assert PROXIES.get("flops").fn(net, batch, ProxyContext(num_classes=7, device=CPU)) == \
        pytest.approx(per_image / 1e6, abs=1e-12)


# NAS-Bench-Suite-Zero's released NB201 flops (naslib/data/zc_nasbench201.json at automl/NASLib commit
# a06ba0e9; key = NASLib op indices, values per dataset) come from another counter (tensorwatch).
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
SUITE_ZERO_FLOPS = {
    (0, 2, 3, 2, 3, 1): {"cifar10": 88.307392, "cifar100": 88.313152, "ImageNet16-120": 22.084672},
    (4, 0, 4, 1, 2, 0): {"cifar10": 46.343872, "cifar100": 46.349632, "ImageNet16-120": 11.593792},
    (1, 0, 2, 2, 2, 1): {"cifar10": 115.402432, "cifar100": 115.408192, "ImageNet16-120": 28.858432},
}
# their excess over ours: a constant per dataset, plus per convolution edge (ReLU + BatchNorm, 3 per
# element of the 15 cells' outputs) and per average-pooling edge (9 per element), in millions
SUITE_ZERO_EXCESS = {"cifar10": 0.160822, "cifar100": 0.160732, "ImageNet16-120": 0.040392}
PER_CONV_EDGE, PER_POOL_EDGE = 0.43008, 1.29024


def naslib_arch(ops: Tuple[int, ...]) -> str:
    """The NB201 string of NASLib op indices (edges (1,2), (1,3), (1,4), (2,3), (2,4), (3,4))."""
    e12, e13, e14, e23, e24, e34 = (NASLIB_OPS[i] for i in ops)
    return f"|{e12}~0|+|{e13}~0|{e23}~1|+|{e14}~0|{e24}~1|{e34}~2|"


@pytest.mark.parametrize("ops", sorted(SUITE_ZERO_FLOPS))
def test_suite_zero_flops_are_another_count(ops):
    convs = sum(NASLIB_OPS[i].startswith("nor_conv") for i in ops)
    pools = sum(NASLIB_OPS[i] == "avg_pool_3x3" for i in ops)
    for name, released in SUITE_ZERO_FLOPS[ops].items():
        data = get_dataset(name)
        ours = flops(build_nb201(naslib_arch(ops), data.num_classes), (3, data.image_size, data.image_size))
        scale = (data.image_size / 32) ** 2  # the cells' outputs are a quarter as large at 16x16
        excess = SUITE_ZERO_EXCESS[name] + scale * (PER_CONV_EDGE * convs + PER_POOL_EDGE * pools)
        assert released == pytest.approx(ours + excess, abs=1e-6), (ops, name)
