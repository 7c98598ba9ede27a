"""NASWOT: the one-pass implementation equals the authors' two-pass algorithm."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench_cli.models import nb201 as nb201_models
from nasbench_cli.models.nb201 import build_nb201
from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.proxies.naswot import code_kernel, logdet, naswot_kernel
from nasbench_cli.reference.naswot import two_pass_kernel, two_pass_score

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    # node 1 feeds only `none` edges: its conv's ReLU sees data, its output is multiplied by 0
    "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
    # output node reads only `none` edges
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|",
]


def _score(net: nn.Module, x: torch.Tensor) -> float:
    spec = PROXIES.get("naswot")
    return spec.fn(net, Batch(x, torch.zeros(len(x), dtype=torch.long)), ProxyContext(1, torch.device("cpu")))


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 3, 32, 32, generator=g)


@pytest.mark.parametrize("arch", ARCHS)
def test_one_pass_equals_authors_two_pass(arch, batch):
    torch.manual_seed(1)
    net = build_nb201(arch, num_classes=1)
    ours = _score(net, batch)
    ref = two_pass_score(net, batch)
    assert ours == pytest.approx(ref, rel=1e-12, abs=1e-9)
    np.testing.assert_array_equal(naswot_kernel(net, batch), two_pass_kernel(net, batch))


class _CutZero(nn.Module):
    """A `none` edge that allocates zeros: it leaves the autograd graph, unlike the benchmark's."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()

    def forward(self, x):
        return torch.zeros_like(x)


def test_relus_cut_off_the_path_are_not_counted(batch, monkeypatch):
    arch = ARCHS[1]  # node 1's conv ReLU feeds only `none` edges
    torch.manual_seed(2)
    connected = build_nb201(arch, 1)
    monkeypatch.setattr(nb201_models, "Zero", _CutZero)
    torch.manual_seed(2)
    cut = build_nb201(arch, 1)
    assert _score(cut, batch) == pytest.approx(two_pass_score(cut, batch), rel=1e-12)
    # with the edge cut, node 1's ReLU no longer counts, so K loses one layer's contribution
    k_connected, k_cut = naswot_kernel(connected, batch), naswot_kernel(cut, batch)
    assert k_connected[0, 0] > k_cut[0, 0]
    assert not np.array_equal(k_connected, k_cut)


def test_dead_branch_in_a_custom_network(batch):
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.used = nn.ReLU()
            self.dead = nn.ReLU()
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            h = self.conv(x)
            _ = self.dead(h * 2)  # computed, never reaches the output
            return self.head(self.used(h).mean((2, 3)))

    torch.manual_seed(0)
    net = Branchy()
    ref = two_pass_kernel(net, batch)
    np.testing.assert_array_equal(naswot_kernel(net, batch), ref)
    np.testing.assert_array_equal(ref, code_kernel(net.conv(batch)).numpy())


def test_code_kernel_counts_agreements():
    x = torch.tensor([[1.0, -1.0, 2.0, 0.0], [1.0, 1.0, -3.0, 0.0], [-1.0, -1.0, -1.0, -1.0]])
    c = (x > 0).double()
    expected = c @ c.T + (1 - c) @ (1 - c).T
    assert torch.equal(code_kernel(x), expected)
    # each entry is the code length minus the Hamming distance
    assert code_kernel(x)[0, 1].item() == 4 - 2


def test_singular_kernel_gives_minus_inf():
    assert logdet(np.ones((3, 3))) == -math.inf


def test_bn_is_in_train_mode_during_scoring(batch):
    torch.manual_seed(0)
    net = build_nb201(ARCHS[0], 1).eval()
    first = _score(net, batch)
    assert net.training  # scoring switches to batch statistics, as the authors do
    torch.manual_seed(0)
    assert first == two_pass_score(build_nb201(ARCHS[0], 1), batch)
