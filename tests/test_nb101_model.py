"""The NB101 network: official parameter counts, channel splitting, the NASWOT reduced config."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench_cli.errors import UsageError
from nasbench_cli.models.nb101 import NASWOT_OPTIONS, build_nb101, count_parameters, vertex_channels
from nasbench_cli.nb101.spec import CONV1X1, CONV3X3, MAXPOOL3X3, ModelSpec

from nb101_cells import README_MATRIX, README_OPS


def test_readme_cell_has_the_official_parameter_count():
    # the benchmark's trainable_parameters for this cell (conv without bias, BN scale+offset,
    # dense with bias). PyPI nasbench-pytorch reports 36 more: 4 placeholder scalars per module.
    assert count_parameters(build_nb101(ModelSpec(README_MATRIX, README_OPS))) == 2_694_282


def test_input_to_output_cell_parameter_count_by_hand():
    # each module is a single 1x1 conv-BN-ReLU projection of its input
    spec = ModelSpec([[0, 1], [0, 0]], ["input", "output"])
    c = 128
    expected = 3 * 3 * 3 * c + 2 * c  # stem
    c_in = c
    for stack in range(3):
        c_out = c * 2**stack
        for _ in range(3):
            expected += c_in * c_out + 2 * c_out
            c_in = c_out
    expected += c_in * 10 + 10
    assert count_parameters(build_nb101(spec)) == expected


def test_vertex_channels_follow_the_splitting_rule():
    readme = np.array(README_MATRIX)
    # 4 vertices feed the output: 128 / 4 each; vertex 3 takes its successor's count
    assert vertex_channels(128, 128, readme) == [128, 32, 32, 32, 32, 32, 128]
    assert vertex_channels(128, 256, readme) == [128, 64, 64, 64, 64, 64, 256]
    # 3 vertices feed the output: 128 = 43 + 43 + 42, the first ones get the extra channel;
    # vertex 1 feeds vertices 2 and 4 and takes the max of theirs
    matrix = np.zeros((5, 5), dtype=int)
    for i, j in [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (1, 4)]:
        matrix[i, j] = 1
    assert vertex_channels(16, 128, matrix) == [16, 43, 43, 42, 128]
    assert vertex_channels(16, 128, np.array([[0, 1], [0, 0]])) == [16, 128]


def test_truncation_of_an_extra_channel_runs():
    # vertex 1 (43 channels) feeds vertex 3 (42 channels): its first 42 channels are used
    matrix = np.zeros((5, 5), dtype=int)
    for i, j in [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (1, 4)]:
        matrix[i, j] = 1
    spec = ModelSpec(matrix, ["input", CONV3X3, CONV1X1, MAXPOOL3X3, "output"])
    net = build_nb101(spec, num_classes=10, stem_channels=128, num_stacks=1, modules_per_stack=1)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_reduced_naswot_network_forward_and_init():
    torch.manual_seed(0)
    net = build_nb101(ModelSpec(README_MATRIX, README_OPS), num_classes=1, **NASWOT_OPTIONS)
    out = net(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 1) and torch.isfinite(out).all()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    big = max(convs, key=lambda m: m.weight.numel())
    fan_out = big.kernel_size[0] * big.kernel_size[1] * big.out_channels
    assert big.weight.std().item() == pytest.approx(math.sqrt(2.0 / fan_out), rel=0.1)
    assert net.classifier.weight.std().item() == pytest.approx(0.01, rel=0.3)
    assert net.classifier.bias.abs().max().item() == 0.0
    assert net.classifier.out_features == 1
    assert net.layers[0][0].out_channels == 16


def test_default_init_differs_from_naswot_and_bn_can_be_removed():
    spec = ModelSpec(README_MATRIX, README_OPS)
    torch.manual_seed(0)
    default = build_nb101(spec, stem_channels=16)
    assert default.classifier.weight.abs().max().item() > 0.05  # PyTorch default, not N(0, 0.01)
    no_bn = build_nb101(spec, stem_channels=16, bn=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in no_bn.modules())
    n_bn = sum(m.weight.numel() + m.bias.numel() for m in default.modules() if isinstance(m, nn.BatchNorm2d))
    assert count_parameters(default) - count_parameters(no_bn) == n_bn > 0
    assert no_bn(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(UsageError, match="unknown NB101 init"):
        build_nb101(spec, init="xavier")


def test_relus_are_modules_and_all_on_the_path():
    # NASWOT hooks nn.ReLU modules; every ReLU of a pruned spec must see the input
    net = build_nb101(ModelSpec(README_MATRIX, README_OPS), num_classes=1, **NASWOT_OPTIONS)
    fired = []
    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(lambda mod, inp, out: fired.append(mod))
    net(torch.randn(2, 3, 32, 32))
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    # stem + 9 modules x (3 conv3x3 + 1 conv1x1 + 4 input projections)
    assert len(relus) == 1 + 9 * 8
    assert len(fired) == len(relus) and set(map(id, fired)) == set(map(id, relus))


def test_build_from_arch_string():
    spec = ModelSpec(README_MATRIX, README_OPS)
    net = build_nb101(spec.arch_str, num_classes=3, stem_channels=8, num_stacks=2, modules_per_stack=1)
    assert net(torch.randn(1, 3, 16, 16)).shape == (1, 3)


def test_random_valid_specs_build_and_run():
    from nasbench_cli.spaces.nb101 import NB101Space

    space = NB101Space(None)
    for index in space.sample(np.random.default_rng(4), 40):
        net = space.build(index, 2, stem_channels=6, num_stacks=2, modules_per_stack=1)
        assert net(torch.randn(1, 3, 8, 8)).shape == (1, 2)
        # every module concatenates to exactly its output channels
        assert net.layers[-1].channels[-1] == 12
