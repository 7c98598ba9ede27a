"""NEAR, RBFleX-NAS and WRCor: registration, hand-computed cases, and the authors' algorithms
(``nasbench_cli.reference``) as oracles on NB201 networks."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench_cli.models.nb201 import build_nb201
from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.proxies import near as near_mod
from nasbench_cli.proxies import rbflex as rbflex_mod
from nasbench_cli.proxies import wrcor as wrcor_mod
from nasbench_cli.reference import near as near_ref
from nasbench_cli.reference import rbflex as rbflex_ref
from nasbench_cli.reference import wrcor as wrcor_ref

CPU = torch.device("cpu")
OURS = ("near", "rbflex", "wrcor")
# three NB201 cells: convolutions and pooling; `none` edges (a zero node feeds a conv); skips only
ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|",
    "|none~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|nor_conv_3x3~2|",
    "|skip_connect~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
]


def ctx(seed: int = 0, **options) -> ProxyContext:
    return ProxyContext(num_classes=10, device=CPU, seed=seed, options=options)


def small_nb201(arch: str, seed: int) -> nn.Module:
    """An NB201 network, narrower and shallower (C=8, N=2) so that the oracles stay fast."""
    torch.manual_seed(seed)
    return build_nb201(arch, 10, C=8, N=2).train()


def images(count: int, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(count, 3, 32, 32, generator=g), torch.randint(0, 10, (count,), generator=g))


def no_hooks_left(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._backward_hooks for m in model.modules())


# ---------------------------------------------------------------- registration


def test_registration_follows_the_authors_protocols():
    expected = {"near": (128, None), "rbflex": (3, None), "wrcor": (64, "cross_entropy")}
    for name, (batch_size, loss) in expected.items():
        spec = PROXIES.get(name)
        assert (spec.batch_size, spec.loss) == (batch_size, loss), name
        assert spec.direction == "max" and spec.bn and spec.needs_data and spec.head == "dataset"
        assert spec.reference_build == "" and spec.dtype == "float32" and spec.summary
    gamma = PROXIES.get("rbflex").options[0]
    assert gamma.name == "gamma" and gamma.default == "fixed" and set(gamma.choices) == {"fixed", "detect"}


# ---------------------------------------------------------------- NEAR


def test_effective_rank_hand_cases():
    assert near_mod.effective_rank(torch.eye(5)) == pytest.approx(5.0, rel=1e-12)
    assert near_mod.effective_rank(torch.zeros(3, 3)) == 0.0  # the reference's NaN -> 0
    # singular values 3, 1: p = (3/4, 1/4)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert near_mod.effective_rank(torch.diag(torch.tensor([3.0, -1.0]))) == pytest.approx(math.exp(h), rel=1e-12)
    # Roy & Vetterli's closed form for a symmetric circulant matrix, as the authors test it
    rho = 0.4
    a = torch.tensor([[1, rho, rho**2, rho], [rho, 1, rho, rho**2], [rho**2, rho, 1, rho], [rho, rho**2, rho, 1]],
                     dtype=torch.float64)
    h2 = -((1 + rho) / 2 * math.log((1 + rho) / 2) + (1 - rho) / 2 * math.log((1 - rho) / 2))
    assert near_mod.effective_rank(a) == pytest.approx(math.exp(2 * h2), rel=1e-10)


def test_near_of_a_linear_relu_net_by_hand():
    # identity Linear: pre-activation matrix X = diag(3, -1, 1) (3 rows = 3 columns, so the block
    # starts at row 0), post-activation diag(3, 0, 1)
    lin = nn.Linear(3, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(3))
        lin.bias.zero_()
    net = nn.Sequential(lin, nn.ReLU())
    x = torch.diag(torch.tensor([3.0, -1.0, 1.0]))

    def erank(*p):
        return math.exp(-sum(v * math.log(v) for v in p))

    expected = erank(3 / 5, 1 / 5, 1 / 5) + erank(3 / 4, 1 / 4)
    assert near_mod.near_score(net, x) == pytest.approx(expected, rel=1e-12)
    assert PROXIES.get("near").fn(copy.deepcopy(net), Batch(x, torch.zeros(3, dtype=torch.long)), ctx()) == \
        pytest.approx(expected, rel=1e-12)


def test_near_block_start_is_a_multiple_of_the_last_dimension():
    # a (4, 2, 3, 3) feature map gives 4*3*3 = 36 rows of 2 channels; the block of 2 rows starts
    # at k*3, k in [0, 36 // 3 - 1) = [0, 11), the draw of RandomState(seed)
    out = torch.arange(4 * 2 * 3 * 3, dtype=torch.float64).reshape(4, 2, 3, 3)
    layer = near_mod._Layer()
    layer.add(out, np.random.RandomState(5))
    k = np.random.RandomState(5).randint(0, 11)
    whole = torch.transpose(out, 1, 3).flatten(0, 2)
    assert torch.equal(layer.final(), whole[3 * k:3 * k + 2])


@pytest.mark.parametrize("arch", ARCHS)
def test_near_equals_the_authors_algorithm_on_nb201(arch):
    net = small_nb201(arch, 1)
    batch = images(16)
    ours = PROXIES.get("near").fn(copy.deepcopy(net), batch, ctx(seed=7))
    ref = near_ref.near_score(copy.deepcopy(net), [batch.inputs], seed=7)
    # float64 singular values here, float32 in the reference
    assert ours == pytest.approx(ref, rel=1e-5)
    assert ours > 0


def test_near_rows_gathered_over_calls_equal_the_reference():
    # the same Linear called twice on 2 examples: 2 rows < 3 columns after the first call, so
    # its matrix is completed by the second (the reference's accumulation over calls)
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.act = nn.Tanh()

        def forward(self, x):
            return self.act(self.lin(self.act(self.lin(x))))

    torch.manual_seed(0)
    net = Twice()
    x = torch.randn(2, 3)
    for seed in range(3):
        assert near_mod.near_score(net, x, seed) == pytest.approx(near_ref.near_score(net, [x], seed), rel=1e-6)


# ---------------------------------------------------------------- RBFleX-NAS


def test_minmax_columns_keeps_the_reference_constant_column_rule():
    x = torch.tensor([[0.0, 2.0, 1.0, 5.0], [4.0, 2.0, 1.0, 5.0], [2.0, 2.0, 1.0, 5.0]], dtype=torch.float64)
    expected = torch.tensor([[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.5, 0.0, 1.0, 0.0]], dtype=torch.float64)
    assert torch.equal(rbflex_mod.minmax_columns(x), expected)
    assert torch.equal(rbflex_ref.normalize(x.clone(), axis=0), expected)


def test_rbf_logdet_by_hand():
    rows = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], dtype=torch.float64)  # distance^2 = 9
    e = math.exp(-0.1 * 9)
    assert rbflex_mod.rbf_logdet(rows, 0.1) == pytest.approx(math.log(1 - e * e), rel=1e-12)


def test_hda_candidates_by_hand():
    rows = torch.tensor([[0.0, 2.0], [1.0, 1.0], [3.0, 3.0]])
    # means 1, 1, 3; variances 1, 0, 0: pairs (0,1): 0/2, (0,2): 4/2; (1,2) has s1 + s2 = 0
    assert rbflex_mod.hda_candidates(rows) == [0.0, 2.0]
    assert rbflex_ref.hda_candidates(rows.numpy()) == pytest.approx([0.0, 2.0])


@pytest.mark.parametrize("arch", ARCHS)
def test_rbflex_equals_the_authors_algorithm_on_nb201(arch):
    net = small_nb201(arch, 2)
    x = images(3).inputs
    ours = PROXIES.get("rbflex").fn(copy.deepcopy(net), Batch(x, torch.zeros(3, dtype=torch.long)), ctx())
    ref = rbflex_ref.rbflex_score(copy.deepcopy(net), x)
    assert ours == pytest.approx(ref, rel=1e-9)
    # HDA: the smallest candidate of one network, as HDA.py's loop computes it (float32 numpy)
    k, q = rbflex_ref.hda_matrices(copy.deepcopy(net), x)
    gk, gq = rbflex_mod.detect_gammas(copy.deepcopy(net), x)
    assert gk == pytest.approx(min(rbflex_ref.hda_candidates(k)), rel=1e-4)
    assert gq == pytest.approx(min(rbflex_ref.hda_candidates(q)), rel=1e-4)
    detected = PROXIES.get("rbflex").fn(copy.deepcopy(net), Batch(x, torch.zeros(3, dtype=torch.long)),
                                        ctx(gamma="detect"))
    assert detected == pytest.approx(rbflex_ref.rbflex_score(copy.deepcopy(net), x, gk, gq), rel=1e-9)


def test_rbflex_needs_two_images():
    with pytest.raises(ValueError, match="at least 2"):
        PROXIES.get("rbflex").fn(small_nb201(ARCHS[0], 0), images(1), ctx())


# ---------------------------------------------------------------- WRCor


def test_abs_correlation_matches_numpy_and_skips_constant_rows():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 40, generator=g)
    assert np.allclose(wrcor_mod.abs_correlation(x).numpy(), np.abs(np.corrcoef(x.numpy())), rtol=1e-6, atol=1e-7)
    x[2] = 1.5  # constant row: numpy's corrcoef is NaN there
    assert wrcor_mod.abs_correlation(x) is None


def test_wrcor_block_weights_on_nb201():
    net = build_nb201(ARCHS[0], 10)  # N=5: 15 cells + 2 reduction blocks
    weights = wrcor_mod.weighted_modules(net)
    assert {w for _, w in weights} == {float(2 ** i) for i in range(18)}
    last = [w for m, w in weights if any(m is x for x in net.lastact.modules())]
    assert last == [2.0 ** 17]  # the final ReLU
    with pytest.raises(ValueError, match="cells"):
        wrcor_mod.weighted_modules(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))


@pytest.mark.parametrize("arch", ARCHS)
def test_wrcor_equals_the_authors_algorithm_on_nb201(arch):
    net = small_nb201(arch, 3)
    batch = images(16)
    ours = PROXIES.get("wrcor").fn(copy.deepcopy(net), batch, ctx())
    ref = wrcor_ref.act_grad_cor_weighted(copy.deepcopy(net), batch.inputs, batch.targets)
    assert ours == pytest.approx(ref, rel=1e-9)


# ---------------------------------------------------------------- conventions


@pytest.mark.parametrize("name", OURS)
def test_deterministic_and_leaves_no_hooks(name):
    spec = PROXIES.get(name)
    base = small_nb201(ARCHS[0], 4)
    batch = images(3 if name == "rbflex" else 12)
    rng = torch.get_rng_state()
    first_net, second_net = copy.deepcopy(base), copy.deepcopy(base)
    first = spec.fn(first_net, batch, ctx(seed=1))
    second = spec.fn(second_net, batch, ctx(seed=1))
    assert isinstance(first, float) and math.isfinite(first) and first == second
    assert no_hooks_left(first_net) and no_hooks_left(second_net)
    assert torch.equal(torch.get_rng_state(), rng)
