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
from nasbench_cli.proxies.naswot import (
    binary_codes,
    code_gram,
    code_kernel,
    is_relu,
    logdet,
    naswot_kernel,
    reachable_nodes,
)
from nasbench_cli.reference.naswot import two_pass_kernel, two_pass_score
from nasbench_cli.spaces.nb201 import NB201Space

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    # node 1 feeds only `none` edges: its conv's ReLU sees data, its output is multiplied by 0
    "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
    # output node reads only `none` edges
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|",
]


def _score(net: nn.Module, x: torch.Tensor, relus_on_path: bool = False) -> float:
    spec = PROXIES.get("naswot")
    ctx = ProxyContext(1, torch.device("cpu"), relus_on_path=relus_on_path)
    return spec.fn(net, Batch(x, torch.zeros(len(x), dtype=torch.long)), ctx)


def _sampled_nb201(count: int, seed: int = 0) -> list:
    """``count`` NB201 indices in product order, plus index 0 (every edge `none`)."""
    picked = np.random.default_rng(seed).choice(15625, size=count, replace=False)
    return [0] + sorted(int(i) for i in picked)


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 3, 32, 32, generator=g)


@pytest.mark.parametrize("relus_on_path", [False, True])
@pytest.mark.parametrize("arch", ARCHS)
def test_one_pass_equals_authors_two_pass(arch, relus_on_path, batch):
    torch.manual_seed(1)
    net = build_nb201(arch, num_classes=1)
    ours = _score(net, batch, relus_on_path)
    ref = two_pass_score(net, batch)
    assert ours == ref
    np.testing.assert_array_equal(naswot_kernel(net, batch, relus_on_path), two_pass_kernel(net, batch))


def test_nb201_space_declares_relus_on_path():
    assert NB201Space.relus_on_path is True


def _relu_calls_and_reached(net: nn.Module, x: torch.Tensor):
    """Autograd node of every ReLU call's output, and the nodes a backward from the logits visits."""
    outputs = []
    handles = [m.register_forward_hook(lambda _m, _a, out: outputs.append(out.grad_fn))
               for m in net.modules() if is_relu(m)]
    try:
        logits = net(x.clone().requires_grad_(True))
    finally:
        for handle in handles:
            handle.remove()
    return outputs, reachable_nodes(logits)


def test_every_nb201_relu_call_lies_on_an_input_output_path():
    """The evidence for NB201's relus_on_path: the graph walk reaches every ReLU call, on a
    sample including `none` edges, nodes feeding only `none` and the all-`none` cell."""
    space = NB201Space(None)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    archs = [build_nb201(a, 1) for a in ARCHS] + [space.build(i, 1) for i in _sampled_nb201(12)]
    for net in archs:
        net.train()
        calls, reached = _relu_calls_and_reached(net, x)
        assert len(calls) >= 4  # reductions and the last activation at least
        assert all(node is not None and node in reached for node in calls)


def test_fast_path_equals_two_pass_on_sampled_nb201(batch):
    space = NB201Space(None)
    x = batch[:16]
    for index in _sampled_nb201(6, seed=1):
        torch.manual_seed(index)
        net = space.build(index, 1)
        assert _score(net, x, relus_on_path=True) == two_pass_score(net, x), space.arch_str(index)


@pytest.mark.parametrize("length", [1, 2, 7, 8, 9, 63, 1000, 4096])
@pytest.mark.parametrize("rows", [1, 3, 17, 128])
def test_code_gram_is_exact(rows, length):
    codes = torch.rand(rows, length, generator=torch.Generator().manual_seed(rows * length)) > 0.5
    expected = codes.double() @ codes.double().T
    gram = code_gram(codes)
    assert gram.dtype == torch.float64
    assert torch.equal(gram, expected)


def test_code_gram_of_strided_codes_is_exact():
    # a channels-last style permutation gives non-contiguous codes
    x = torch.randn(16, 4, 6, 6).permute(0, 2, 3, 1)
    codes = binary_codes(x)
    assert torch.equal(code_gram(codes), codes.double() @ codes.double().T)


@pytest.mark.parametrize("relus_on_path", [False, True])
def test_relu_inputs_changed_in_place_are_not_reused(relus_on_path, batch):
    """Two ReLUs reading the same tensor share one Gram matrix, unless it changed in between."""

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.first, self.second, self.third = nn.ReLU(), nn.ReLU(), nn.ReLU()
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            h = self.conv(x)
            a = self.first(h)
            b = self.second(h)  # same tensor, unchanged: shared Gram matrix
            h.sub_(0.25)
            c = self.third(h)  # same tensor object, new values
            return self.head((a + b + c).mean((2, 3)))

    torch.manual_seed(0)
    net = Twice()
    ref = two_pass_kernel(net, batch)
    h = net.conv(batch).detach()
    np.testing.assert_array_equal(ref, (2 * code_kernel(h) + code_kernel(h - 0.25)).numpy())
    np.testing.assert_array_equal(naswot_kernel(net, batch, relus_on_path), ref)


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
    assert _score(cut, batch) == two_pass_score(cut, batch)
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
