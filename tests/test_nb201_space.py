"""NB201 space: arch strings, enumeration, index order, mutation, and the network's parameters."""

from __future__ import annotations

import bz2
import pickle

import numpy as np
import pytest
import torch

from nasbench_cli.errors import InvalidArchError
from nasbench_cli.models.nb201 import OP_NAMES, build_nb201
from nasbench_cli.spaces import create_space
from nasbench_cli.spaces.nb201 import canonical_archs, format_arch, parse_arch

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_parse_and_format_round_trip():
    ops = parse_arch(ARCH)
    assert ops == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect")
    assert format_arch(ops) == ARCH


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "expected 3 nodes"),
        ("|conv~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "unknown operation 'conv'"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "node 2"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~2|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "'~2'"),
        ("|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "lacks '~input'"),
        ("nor_conv_3x3~0+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "must look like"),
    ],
)
def test_malformed_strings_say_what_is_wrong(bad, fragment):
    with pytest.raises(InvalidArchError) as err:
        parse_arch(bad)
    assert fragment in str(err.value)


def test_canonical_enumeration_is_complete_and_unique():
    archs = canonical_archs()
    assert len(archs) == 5**6 == len(set(archs))
    assert all(format_arch(parse_arch(a)) == a for a in archs[:50])


def test_without_listing_the_space_uses_the_embedded_order(tmp_path):
    space = create_space("nb201", tmp_path)
    assert len(space) == 15625
    assert space.index_order.startswith("embedded NB201 table (sha256 ")
    assert space.index_of(ARCH) == 1
    assert space.index_of(space.arch_str(1234)) == 1234
    assert space.parse_ref("17") == 17
    with pytest.raises(InvalidArchError, match="out of range"):
        space.parse_ref("15625")


def test_official_order_from_shared_table(shared_data):
    space = create_space("nb201", shared_data)
    assert space.order_source == shared_data / "nb201" / "ground_truth.csv"
    assert space.arch_str(0) == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )
    assert space.index_of(ARCH) == 1
    assert sorted(space.arch_str(i) for i in range(len(space))) == sorted(canonical_archs())


def test_sampling_is_seeded_and_without_replacement(tmp_path):
    space = create_space("nb201", tmp_path)
    a = space.sample(np.random.default_rng(3), 200)
    b = space.sample(np.random.default_rng(3), 200)
    c = space.sample(np.random.default_rng(4), 200)
    assert a == b != c
    assert len(set(a)) == 200 and all(0 <= i < 15625 for i in a)


def test_mutation_changes_exactly_one_edge(tmp_path):
    space = create_space("nb201", tmp_path)
    rng = np.random.default_rng(0)
    for index in [0, 77, 15624]:
        for _ in range(20):
            child = space.mutate(index, rng)
            diff = [x != y for x, y in zip(parse_arch(space.arch_str(index)), parse_arch(space.arch_str(child)))]
            assert sum(diff) == 1


def _nats_record(shared_data, space_dir: str, index: int) -> dict:
    path = shared_data / "nats" / space_dir / f"{index:06d}.pickle.pbz2"
    if not path.exists():
        pytest.skip(f"real NATS record {path} absent")
    with bz2.open(path, "rb") as handle:
        return pickle.load(handle)


@pytest.mark.parametrize("index, expected", [(0, 0.129306), (11, 0.802426), (284, 0.101306)])
def test_parameter_counts_equal_the_benchmark(shared_data, index, expected):
    record = _nats_record(shared_data, "NATS-tss-v1_0-3ffb9-simple", index)["200"]
    results = record["all_results"][("cifar10", record["dataset_seed"]["cifar10"][0])]
    net = build_nb201(record["arch_str"], num_classes=10)
    params = sum(p.numel() for p in net.parameters()) / 1e6
    assert params == pytest.approx(float(results["params"]), abs=1e-6)
    assert params == pytest.approx(expected, abs=1e-6)


def test_network_shapes_and_heads():
    for classes in (1, 10, 100, 120):
        net = build_nb201(ARCH, num_classes=classes)
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, classes)
    assert build_nb201(ARCH, 10)(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_network_without_batchnorm_has_no_bn_layers():
    net = build_nb201(ARCH, 10, bn=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    with_bn = build_nb201(ARCH, 10)
    convs = lambda n: [tuple(m.weight.shape) for m in n.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs(net) == convs(with_bn)


def test_same_seed_same_weights_whatever_the_head():
    torch.manual_seed(5)
    a = build_nb201(ARCH, 1)
    torch.manual_seed(5)
    b = build_nb201(ARCH, 10, bn=False)
    wa = [p for n, p in a.named_parameters() if "classifier" not in n and p.dim() == 4]
    wb = [p for n, p in b.named_parameters() if "classifier" not in n and p.dim() == 4]
    assert all(torch.equal(x, y) for x, y in zip(wa, wb))


def test_all_ops_build():
    for op in OP_NAMES:
        arch = format_arch((op,) * 6)
        assert build_nb201(arch, 10)(torch.randn(1, 3, 32, 32)).shape == (1, 10)
