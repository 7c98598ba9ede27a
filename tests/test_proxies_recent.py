"""ZiCo, MeCo, SWAP and AZ-NAS proxies: hand-computed cases, conventions, determinism, NB201 smoke."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from nasbench_cli.models.nb201 import build_nb201
from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.proxies import az_nas as az_mod
from nasbench_cli.proxies import meco as meco_mod
from nasbench_cli.proxies import swap as swap_mod
from nasbench_cli.proxies import zico as zico_mod
from nasbench_cli.proxies._layers import seeded_generator

CPU = torch.device("cpu")
OURS = ("zico", "meco", "meco_opt", "swap", "swap_reg",
        "az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"


def ctx(num_classes: int = 3, seed: int = 0, input_shape=None) -> ProxyContext:
    return ProxyContext(num_classes=num_classes, device=CPU, seed=seed, input_shape=input_shape)


def run(name: str, model: nn.Module, batch, context: ProxyContext | None = None) -> float:
    return PROXIES.get(name).fn(model, batch, context or ctx())


# ---------------------------------------------------------------- registration


def test_registration_and_reference_conditions():
    expected_batch = {"zico": 128, "meco": 1, "meco_opt": 1, "swap": 16, "swap_reg": 16,
                      "az_expressivity": 64, "az_progressivity": 64, "az_trainability": 64}
    for name in OURS:
        spec = PROXIES.get(name)
        assert spec.direction == "max" and spec.bn and spec.head == "dataset" and spec.dtype == "float32"
        assert spec.summary
    for name, size in expected_batch.items():
        assert PROXIES.get(name).batch_size == size
    assert PROXIES.get("zico").loss == "cross_entropy"
    assert all(PROXIES.get(n).loss is None for n in OURS if n != "zico")
    assert all(not PROXIES.get(n).needs_data for n in OURS if n.startswith("az_"))
    assert all(PROXIES.get(n).needs_data for n in ("zico", "meco", "meco_opt", "swap", "swap_reg"))


# ---------------------------------------------------------------- ZiCo


def test_zico_formula_hand_case():
    # layer A: std over the 2 batches = [1, 0, 0] -> only entry 0 counts: mean|g| / std = 2 / 1
    # layer B: every std 0 -> skipped; layer C: std [1, 1], mean|g| [1, 1] -> sum 2
    grads = [
        [np.array([1.0, 2.0, 0.0]), np.array([3.0, 2.0, 0.0])],
        [np.zeros(2), np.zeros(2)],
        [np.array([1.0, -1.0]), np.array([-1.0, 1.0])],
    ]
    assert zico_mod.zico_from_gradients(grads) == pytest.approx(2 * math.log(2.0), rel=1e-12)


def _mlp_half_grads(net: nn.Sequential, x: np.ndarray, y: np.ndarray):
    """Hand-derived mean cross-entropy gradients of a Linear-ReLU-Linear net."""
    W1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    W2, b2 = net[2].weight.detach().numpy(), net[2].bias.detach().numpy()
    z = x @ W1.T + b1
    a = np.maximum(z, 0)
    out = a @ W2.T + b2
    p = np.exp(out - out.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    D = (p - np.eye(out.shape[1])[y]) / x.shape[0]
    dz = (D @ W2) * (z > 0)
    return (dz.T @ x).reshape(-1), (D.T @ a).reshape(-1)


def test_zico_mlp_matches_hand_gradients():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    x[:, 3] = 0.0  # a dead input: its first-layer gradient column is 0 in both halves (std 0)
    y = torch.randint(0, 3, (6,), generator=gen)
    first = _mlp_half_grads(net, x[:3].numpy(), y[:3].numpy())
    second = _mlp_half_grads(net, x[3:].numpy(), y[3:].numpy())
    expected = 0.0
    for g1, g2 in zip(first, second):
        stacked = np.stack([g1, g2])
        std = np.abs(g1 - g2) / 2  # population std of two values
        keep = std > 0
        expected += math.log(float((np.abs(stacked[:, keep]).mean(0) / std[keep]).sum()))
    assert run("zico", net, Batch(x, y)) == pytest.approx(expected, rel=1e-10)


def test_zico_split_bounds_and_small_batch():
    assert zico_mod.split_bounds(128) == [(0, 64), (64, 128)]
    assert zico_mod.split_bounds(5) == [(0, 2), (2, 5)]
    net = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="at least 2"):
        run("zico", net, Batch(torch.randn(1, 2), torch.zeros(1, dtype=torch.long)))


# ---------------------------------------------------------------- MeCo


def _np_min_eig(rows: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(rows)
    corr[~np.isfinite(corr)] = 0.0
    return float(np.min(np.linalg.eigvals(corr).real))


def _meco_net() -> nn.Sequential:
    conv = nn.Conv2d(2, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, 0.5], [-0.3, 2.0], [-1.0, -1.0]]).reshape(3, 2, 1, 1))
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(3 * 9, 4))


def _meco_inputs() -> torch.Tensor:
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 2, 3, 3, generator=gen)
    x[0] = x[0].abs()  # example 0: channel 2 = -(x0 + x1) < 0 everywhere -> ReLU'd to a constant row
    return x


def test_meco_hand_case():
    net, x = _meco_net(), _meco_inputs()
    conv_out = nn.functional.conv2d(x, net[0].weight)[0].detach().numpy().reshape(3, -1)
    relu_out = np.maximum(conv_out, 0.0)
    assert np.all(relu_out[2] == 0)  # the NaN row the reference zeroes
    # hooked module calls: conv, ReLU, Flatten/Linear/root (one value per row: contribute 0)
    expected = _np_min_eig(conv_out) + _np_min_eig(relu_out)
    assert run("meco", net, Batch(x, torch.zeros(2, dtype=torch.long))) == pytest.approx(expected, abs=1e-6)


def test_meco_reads_the_first_example_only():
    net, x = _meco_net(), _meco_inputs()
    score = lambda inputs: run("meco", net, Batch(inputs, torch.zeros(inputs.shape[0], dtype=torch.long)))  # noqa: E731
    assert score(x) == pytest.approx(score(x[:1]), abs=1e-12)  # no BN: example 1 cannot matter
    assert score(x[1:]) != pytest.approx(score(x[:1]), abs=1e-6)


def test_meco_counts_a_feature_once_per_module_returning_it():
    x = _meco_inputs()
    conv = _meco_net()[0]
    single = run("meco", nn.Sequential(conv), Batch(x, torch.zeros(2, dtype=torch.long)))
    nested = run("meco", nn.Sequential(nn.Sequential(conv)), Batch(x, torch.zeros(2, dtype=torch.long)))
    rows = nn.functional.conv2d(x, conv.weight)[0].detach().numpy().reshape(3, -1)
    assert single == pytest.approx(2 * _np_min_eig(rows), abs=1e-6)  # root + conv
    assert nested == pytest.approx(3 * _np_min_eig(rows), abs=1e-6)  # root + inner + conv


def test_meco_opt_equals_meco_up_to_eight_channels():
    net, x = _meco_net(), _meco_inputs()
    batch = Batch(x, torch.zeros(2, dtype=torch.long))
    assert run("meco_opt", net, batch) == pytest.approx(run("meco", net, batch), abs=1e-9)


def test_meco_opt_subsamples_eight_channels_times_c_over_8():
    torch.manual_seed(3)
    conv = nn.Conv2d(3, 12, 3, padding=1)
    x = torch.randn(1, 3, 5, 5)
    seed = 11
    got = run("meco_opt", nn.Sequential(conv), Batch(x, torch.zeros(1, dtype=torch.long)), ctx(seed=seed))
    rows = conv(x)[0].detach().numpy().reshape(12, -1)
    gen = seeded_generator(seed, 0)
    expected = 0.0
    for _ in range(2):  # two hooked calls, in order: the conv, then the root Sequential
        pick = torch.randperm(12, generator=gen)[:8].numpy()
        expected += _np_min_eig(rows[pick]) * 12 / 8
    assert got == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------- SWAP


class _Patterns(nn.Module):
    """ReLU on the 4-D input, then a ReLU on a 2-D tensor (which SWAP must ignore)."""

    def __init__(self):
        super().__init__()
        self.relu4d, self.relu2d = nn.ReLU(), nn.ReLU()
        self.weight = nn.Parameter(torch.zeros(1000))  # 1.0 thousand parameters, unused
        self.auxiliary_head = nn.Parameter(torch.zeros(500))  # not counted ("auxiliary")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.relu4d(x)
        return self.relu2d(torch.ones(x.shape[0], 3))  # pattern (1,1,1): unseen among the 4-D ones


def _pattern_inputs() -> torch.Tensor:
    # 3 examples x 4 neurons; neuron patterns over the examples: 110, 110, 000, 101 -> 3 distinct
    signs = torch.tensor([[1.0, 1.0, -1.0, 1.0], [2.0, 0.5, -2.0, -1.0], [-1.0, -3.0, -0.5, 4.0]])
    return signs.reshape(3, 1, 1, 4)


def test_swap_hand_case():
    net, x = _Patterns(), _pattern_inputs()
    assert swap_mod.swap_count(net, x) == 3
    # no weights to re-initialise: every repeat sees the same patterns
    assert run("swap", net, Batch(x, torch.zeros(3, dtype=torch.long))) == 3.0


def test_swap_reg_factor_counts_thousands_of_parameters():
    net, x = _Patterns(), _pattern_inputs()
    assert swap_mod.parameter_thousands(net) == 1.0
    factor = math.exp(-((1.0 - swap_mod.SWAP_REG_MU) ** 2) / swap_mod.SWAP_REG_SIGMA)
    assert run("swap_reg", net, Batch(x, torch.zeros(3, dtype=torch.long))) == pytest.approx(3.0 * factor, rel=1e-12)


@pytest.mark.parametrize("batch", [5, 16, 20, 21, 52, 53, 70, 130])
def test_swap_packing_matches_unique_of_sign_rows(batch):
    gen = torch.Generator().manual_seed(batch)
    acts = torch.relu(torch.randn(batch, 2, 3, 3, generator=gen))
    acts[:, 0] = acts[:, 1]  # duplicate neurons
    acts[:, :, 0, 0] = 0.0  # an always-off pattern
    codes = [swap_mod.pack_patterns(acts), swap_mod.pack_patterns(acts[:, :1])]
    signs = torch.sign(torch.cat([acts.reshape(batch, -1), acts[:, :1].reshape(batch, -1)], 1))
    reference = torch.unique(signs.T, dim=0)
    assert swap_mod.count_patterns(codes) == reference.shape[0]


def test_swap_gaussian_init_and_missing_relus():
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Linear(3, 2))
    swap_mod.gaussian_init(net, seeded_generator(0, 0))
    assert torch.all(net[0].bias == 0) and torch.all(net[1].weight == 1) and torch.all(net[1].bias == 0)
    assert 0.5 < float(net[0].weight.detach().std()) < 1.6  # N(0, 1), 54 draws
    with pytest.raises(ValueError, match="nn.ReLU"):
        swap_mod.swap_count(nn.Sequential(nn.Conv2d(1, 1, 1)), torch.randn(2, 1, 2, 2))


# ---------------------------------------------------------------- AZ-NAS


def test_expressivity_isotropic_closed_form():
    # positions (rows): (1,0), (-1,0), (0,1), (0,-1): covariance diag(1/2, 1/2) -> p = (1/2, 1/2)
    feat = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]).T.reshape(1, 2, 2, 2)
    expected = -2 * 0.5 * math.log(0.5 + 1e-8)
    assert az_mod.expressivity_scores([feat])[0] == pytest.approx(expected, rel=1e-12)


def test_expressivity_matches_numpy():
    gen = torch.Generator().manual_seed(4)
    feat = torch.randn(3, 5, 4, 4, generator=gen)
    rows = feat.permute(0, 2, 3, 1).reshape(-1, 5).double().numpy()
    rows = rows - rows.mean(0)
    s = np.linalg.eigvalsh(rows.T @ rows / rows.shape[0])
    p = s / s.sum()
    assert az_mod.expressivity_scores([feat])[0] == pytest.approx(float(np.sum(-p * np.log(p + 1e-8))), rel=1e-10)


class _Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class _Subsample(nn.Module):
    def forward(self, x):
        return x[:, :, ::2, ::2]


class _TinyCellNet(nn.Module):
    """stem (1 channel) + cells + head, the attributes AZ-NAS's feature extraction reads."""

    def __init__(self, cells):
        super().__init__()
        self.stem = nn.Conv2d(3, 1, 1)
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(1, 2)

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.classifier(x.mean(dim=(2, 3)))


def _block_score(sigma: float) -> float:
    return -sigma - 1 / (sigma + 1e-6) + 2


def test_trainability_closed_forms():
    # one channel: x2 gives M = 2 mean(g^2) = 2; subsampling gives M = (mean g^2, 0, 0, 0) -> sigma 1
    net = _TinyCellNet([_Scale(2.0), _Subsample()])
    got = run("az_trainability", net, None, ctx(input_shape=(3, 4, 4)))
    assert got == pytest.approx((_block_score(2.0) + _block_score(1.0)) / 2, rel=1e-12)
    identity = _TinyCellNet([_Scale(2.0), nn.Identity()])
    assert run("az_trainability", identity, None, ctx(input_shape=(3, 4, 4))) == -math.inf


def test_expressivity_and_progressivity_on_one_channel_features():
    # every feature has one channel: p = (1,), e = -ln(1 + 1e-8) per feature, steps 0
    net = _TinyCellNet([_Scale(2.0), _Subsample()])
    per_feature = -math.log(1 + 1e-8)
    assert run("az_expressivity", net, None, ctx(input_shape=(3, 4, 4))) == pytest.approx(3 * per_feature, rel=1e-9)
    assert run("az_progressivity", net, None, ctx(input_shape=(3, 4, 4))) == pytest.approx(0.0, abs=1e-15)


def test_az_needs_stem_and_cells():
    for name in ("az_expressivity", "az_progressivity", "az_trainability"):
        with pytest.raises(ValueError, match="stem"):
            run(name, nn.Sequential(nn.Conv2d(3, 2, 1)), None, ctx(input_shape=(3, 4, 4)))


def test_az_complexity_is_benchmark_flops():
    net = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.Flatten(), nn.Linear(16, 2))
    # conv: 3 * 4 per position x 4 positions; linear: 16 * 2 + 2 bias
    assert run("az_complexity", net, None, ctx(input_shape=(3, 2, 2))) == pytest.approx((48 + 34) / 1e6, abs=1e-15)
    nb = build_nb201(ARCH, 10)
    batch = Batch(torch.zeros(1, 3, 32, 32), torch.zeros(1, dtype=torch.long))
    assert run("az_complexity", nb, batch) == run("flops", copy.deepcopy(nb), batch)


def test_az_nas_aggregate_hand_case():
    columns = {"a": np.array([3.0, 1.0, 2.0]), "b": np.array([1.0, 1.0, 5.0])}  # b ties: ranks 1.5, 1.5, 3
    expected = np.log([1.0 * 0.5, (1 / 3) * 0.5, (2 / 3) * 1.0])
    np.testing.assert_allclose(az_mod.az_nas_aggregate(columns), expected, rtol=1e-12)
    # NaN ranks with -inf at the bottom (shared rank 1.5 here)
    with_nan = az_mod.az_nas_aggregate({"c": np.array([np.nan, -np.inf, 1.0])})
    np.testing.assert_allclose(with_nan, np.log([1.5 / 3, 1.5 / 3, 1.0]), rtol=1e-12)
    with pytest.raises(ValueError):
        az_mod.az_nas_aggregate({"a": np.ones(2), "b": np.ones(3)})
    with pytest.raises(ValueError):
        az_mod.az_nas_aggregate({})


# ---------------------------------------------------------------- conventions and NB201 smoke


def _tiny_nb201() -> nn.Module:
    torch.manual_seed(0)
    return build_nb201(ARCH, 10, C=4, N=1)


def _batch(size: int) -> Batch:
    gen = torch.Generator().manual_seed(9)
    return Batch(torch.randn(size, 3, 16, 16, generator=gen), torch.randint(0, 10, (size,), generator=gen))


@pytest.mark.parametrize("name", OURS)
def test_deterministic_and_global_rng_untouched(name, monkeypatch):
    monkeypatch.setattr(swap_mod, "REPEATS", 2)
    net, batch = _tiny_nb201(), _batch(8)
    context = ctx(num_classes=10, seed=7, input_shape=(3, 16, 16))
    torch_state, py_state, np_state = torch.get_rng_state(), random.getstate(), np.random.get_state()
    inputs_before = batch.inputs.clone()
    used = copy.deepcopy(net)
    first = run(name, used, batch, context)
    second = run(name, copy.deepcopy(net), batch, context)
    assert torch.equal(batch.inputs, inputs_before)
    assert not any(m._forward_hooks for m in used.modules())  # every hook removed
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == py_state
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    assert first == second


@pytest.mark.parametrize("name", ["meco_opt", "swap", "az_expressivity", "az_trainability"])
def test_seed_changes_random_proxies(name, monkeypatch):
    monkeypatch.setattr(swap_mod, "REPEATS", 1)
    net, batch = _tiny_nb201(), _batch(16)  # 16 examples: SWAP's pattern count is far from 2**16
    a = run(name, copy.deepcopy(net), batch, ctx(num_classes=10, seed=1))
    b = run(name, copy.deepcopy(net), batch, ctx(num_classes=10, seed=2))
    assert a != b


def test_nb201_smoke_finite(monkeypatch):
    monkeypatch.setattr(swap_mod, "REPEATS", 1)
    monkeypatch.setattr(az_mod, "AZ_BATCH", 8)  # a full-size network; the reference draws 64
    torch.manual_seed(0)
    net = build_nb201(ARCH, 10)
    gen = torch.Generator().manual_seed(3)
    inputs, targets = torch.randn(16, 3, 32, 32, generator=gen), torch.randint(0, 10, (16,), generator=gen)
    context = ctx(num_classes=10, seed=5, input_shape=(3, 32, 32))
    for name in OURS:
        spec = PROXIES.get(name)
        size = min(spec.batch_size or 16, 16)
        value = spec.fn(copy.deepcopy(net), Batch(inputs[:size], targets[:size]), context)
        assert math.isfinite(value), name
