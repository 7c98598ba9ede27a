"""Per-sample gradient helper, ntk through it, VKDNW, GradSign, trainable_layers, VKDNW's aggregate.

Oracles: plain per-example loops (the helper), ``reference/vkdnw.py`` and ``reference/gradsign.py``
(the authors' algorithms step by step) on small NB201 networks (C=8, N=1: the benchmark's cell
network, thinner, so that the loops stay fast).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from nasbench_cli.analysis.derived import ENSEMBLE_RULES, ensemble_score, vkdnw_log_rank_sum
from nasbench_cli.models.nb201 import build_nb201
from nasbench_cli.proxies import PROXIES, PROXY_GROUPS, Batch, ProxyContext
from nasbench_cli.proxies import _per_sample as ps
from nasbench_cli.proxies import gradsign as gs_mod
from nasbench_cli.proxies import ntk as ntk_mod
from nasbench_cli.proxies import trainable_layers as tl_mod
from nasbench_cli.proxies import vkdnw as vk_mod
from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator
from nasbench_cli.reference import gradsign as ref_gs
from nasbench_cli.reference import vkdnw as ref_vk

CPU = torch.device("cpu")
ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|",
    "|none~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
)


def small_net(arch: str = ARCHS[0], seed: int = 1, dtype=torch.float32, **kw) -> nn.Module:
    torch.manual_seed(seed)
    return build_nb201(arch, 10, C=8, N=1, **kw).to(dtype)


def data(b: int = 6, hw: int = 16, dtype=torch.float32):
    gen = torch.Generator().manual_seed(0)
    return torch.randn(b, 3, hw, hw, generator=gen).to(dtype), torch.randint(0, 10, (b,), generator=gen)


def ctx(seed: int = 0, **options) -> ProxyContext:
    return ProxyContext(num_classes=10, device=CPU, seed=seed, input_shape=(3, 16, 16), options=options)


def loop_grads(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example CE gradients, each example alone (the GradSign loop), as rows."""
    rows = []
    for i in range(x.shape[0]):
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x[[i]]), y[[i]]).backward()
        rows.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                               for p in net.parameters()]))
    return torch.stack(rows)


# ---------------------------------------------------------------- the shared helper


def test_helper_equals_the_per_sample_loop_on_an_nb201_net():
    # float64: train-mode BatchNorm on one example is ill-conditioned where a channel is nearly
    # constant, and float32 round-off then differs between any two orders of summation
    net = small_net(dtype=torch.float64).train()
    x, y = data(dtype=torch.float64)
    jac = ps.per_sample_jacobian(net, x, lambda o, t: F.cross_entropy(o, t), extras=(y,), chunk=4)
    assert list(jac) == [n for n, _ in net.named_parameters()]
    G = ps.flatten_rows(jac)
    expected = loop_grads(copy.deepcopy(net), x, y)
    assert G.shape == expected.shape
    assert torch.allclose(G, expected, rtol=1e-9, atol=1e-12)
    # each example alone (batch-of-one statistics) is not the coupled whole-batch gradient
    coupled = ps.flatten_rows(ps.per_sample_jacobian(net, x, lambda o, t: F.cross_entropy(o, t, reduction="none"),
                                                     extras=(y,), coupled=True))
    assert not torch.allclose(coupled, expected, rtol=1e-3, atol=1e-6)


def test_helper_leaves_batchnorm_buffers_and_module_state_alone():
    net = small_net().train()
    x, y = data()
    net(x)  # non-trivial running statistics
    before = {n: b.clone() for n, b in net.named_buffers()}
    ps.per_sample_jacobian(net, x, lambda o, t: F.cross_entropy(o, t), extras=(y,))
    after = dict(net.named_buffers())
    assert before.keys() == after.keys()
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert all(m.track_running_stats for m in net.modules() if isinstance(m, nn.BatchNorm2d))


def test_coupled_helper_vectorised_and_loop_agree_with_ntk_oracle():
    net = small_net(dtype=torch.float64).train()
    x, _ = data(b=5, dtype=torch.float64)
    G_vec = ntk_mod.per_example_gradients(net, x, vectorized=True)
    G_loop = ntk_mod.per_example_gradients(net, x, vectorized=False)
    oracle = ntk_mod.per_example_gradients_loop(net(x), ntk_mod.ntk_weights(net))
    assert G_vec.shape == G_loop.shape == oracle.shape
    assert torch.allclose(G_vec, oracle, rtol=1e-9, atol=1e-12)
    assert torch.allclose(G_loop, oracle, rtol=1e-9, atol=1e-12)


def test_ntk_value_unchanged_by_the_helper():
    """The registered proxy equals kappa of the oracle loop's G after the same re-init."""
    net, (x, y) = small_net(), data(b=8)
    value = PROXIES.get("ntk").fn(copy.deepcopy(net), Batch(x, y), ctx(seed=3, repeats=1))
    oracle_net = copy.deepcopy(net).train()
    kaiming_normal_init(oracle_net, "fan_out", seeded_generator(3, 0))
    G = ntk_mod.per_example_gradients_loop(oracle_net(x), ntk_mod.ntk_weights(oracle_net)).double()
    assert value == pytest.approx(ntk_mod.condition_number(G @ G.T), rel=1e-5)


# ---------------------------------------------------------------- trainable_layers


@pytest.mark.parametrize("arch, convs", [(ARCHS[0], 4), (ARCHS[1], 1), (ARCHS[2], 6),
                                         ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0)])
def test_trainable_layers_counts_parameter_tensors_as_vkdnw(arch, convs):
    net = build_nb201(arch, 10)
    # stem 3, reductions 7 + 7, last BN 2, classifier 2; each conv edge: conv + BN scale/shift, 15 cells
    assert PROXIES.get("trainable_layers").fn(net, None, ctx()) == 21 + 45 * convs
    assert tl_mod.count_parameter_tensors(nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4),
                                                        nn.Flatten(), nn.Linear(4, 2))) == 5


# ---------------------------------------------------------------- VKDNW


def test_vkdnw_covariance_factor_matches_the_reference_and_factorises():
    logits = torch.randn(7, 10, generator=torch.Generator().manual_seed(4))
    L = vk_mod.covariance_factor(logits)
    assert torch.allclose(L, ref_vk.cholesky_covariance(logits).double(), atol=2e-6)
    keep, shift = vk_mod.smoothing(10)
    p = torch.softmax(logits.double(), 1) * keep + shift
    # L L^T = diag(p) - p p^T up to the code's float16 smoothing (p sums to ~1.0002, not 1)
    assert torch.allclose(L @ L.transpose(1, 2), torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1), atol=1e-3)
    assert torch.equal(L, torch.tril(L))


@pytest.mark.parametrize("arch", ARCHS)
def test_vkdnw_entropy_matches_the_authors_algorithm(arch):
    net = small_net(arch)
    kaiming_normal_init(net, "fan_in", seeded_generator(0))
    x, _ = data()
    # float64: the two orders of operations agree to round-off
    n64 = copy.deepcopy(net).double()
    ours = vk_mod.vkdnw_entropy(copy.deepcopy(n64), x.double())
    assert ours == pytest.approx(ref_vk.entropy_of(copy.deepcopy(n64), x.double()), rel=1e-9)
    # float32 (the reference's own precision): the near-zero deciles of a rank-deficient Fisher
    # (6 inputs x 9 < P) are round-off, which moves the entropy by < 1e-3 relative
    assert vk_mod.vkdnw_entropy(copy.deepcopy(net), x) == pytest.approx(ref_vk.entropy_of(copy.deepcopy(net), x),
                                                                        rel=2e-3)
    assert 0.0 < ours <= math.log(9)


def test_vkdnw_selection_is_first_tensors_entry_zero():
    net = small_net()
    chosen = vk_mod.selected_entries(net, layers=5, entries=1)
    assert list(chosen) == [n for n, _ in net.named_parameters()][:5]
    assert all(idx.tolist() == [0] for idx in chosen.values())
    first = next(iter(net.parameters()))
    two = vk_mod.selected_entries(net, layers=1, entries=2)
    assert list(two.values())[0].tolist() == [0, first.numel() - 1]


def test_vkdnw_single_score_orders_like_the_pair_and_is_seeded():
    pairs = [(66, 2.1), (66, 0.3), (21, 2.19), (291, 0.0), (111, 1.0)]
    singles = [vk_mod.single_score(d, e) for d, e in pairs]
    dense = stats.rankdata([d * 100 + e for d, e in pairs], method="dense")  # lexicographic order
    assert list(stats.rankdata(singles, method="dense")) == list(dense)
    net, (x, y) = small_net(ARCHS[1]), data()
    spec = PROXIES.get("vkdnw")
    a = spec.fn(copy.deepcopy(net), Batch(x, y), ctx(seed=0))
    assert a == spec.fn(copy.deepcopy(net), None, ctx(seed=0))  # data-free: the batch is not read
    assert math.floor(a) == 21 + 3 * 3 * 1  # 3 cells (N=1), one conv edge each
    entropy = spec.fn(copy.deepcopy(net), None, ctx(seed=0, score="entropy"))
    assert a == pytest.approx(30 + entropy / 10, rel=1e-12)
    assert spec.fn(copy.deepcopy(net), None, ctx(seed=1, score="entropy")) != entropy


# ---------------------------------------------------------------- GradSign


def test_gradsign_hand_case():
    sums = np.array([3.0, -3.0, 1.0, 0.0, np.nan])
    assert gs_mod.gradsign_from_sums(sums) == 7.0
    assert gs_mod.gradsign_from_sums(sums, "mean") == pytest.approx(7.0 / 4)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("variant", ["official", "zc"])
def test_gradsign_matches_the_authors_loop(arch, variant):
    spec = PROXIES.get("gradsign")
    # float64: every sign agrees with the loop's
    net, (x, y) = small_net(arch, seed=2, variant=variant, dtype=torch.float64), data(b=8, dtype=torch.float64)
    ours = spec.fn(copy.deepcopy(net), Batch(x, y), ctx())
    assert ours == ref_gs.grad_conflict(copy.deepcopy(net), x, y)
    mean = spec.fn(copy.deepcopy(net), Batch(x, y), ctx(reduction="mean"))
    assert mean == pytest.approx(ref_gs.grad_conflict(copy.deepcopy(net), x, y, "mean"), rel=1e-12)
    # float32: batch-of-one BatchNorm is ill-conditioned on near-constant channels, and round-off
    # flips the sign of a few near-zero entries (seen: 2 in 201,602)
    net, (x, y) = small_net(arch, seed=2, variant=variant), data(b=8)
    ours = spec.fn(copy.deepcopy(net), Batch(x, y), ctx())
    assert ours == pytest.approx(ref_gs.grad_conflict(copy.deepcopy(net), x, y), rel=1e-4)
    assert 0 < ours <= 8 * sum(m.weight.numel() for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


# ---------------------------------------------------------------- registration, aggregate


def test_registration_and_conditions():
    vk, gs, tl = PROXIES.get("vkdnw"), PROXIES.get("gradsign"), PROXIES.get("trainable_layers")
    assert (vk.batch_size, vk.needs_data, vk.loss, vk.direction) == (64, False, None, "max")
    assert (gs.batch_size, gs.needs_data, gs.loss, gs.reference_build) == (128, True, "cross_entropy", "zc")
    assert (tl.needs_data, tl.direction) == (False, "max")
    assert all(s.summary and s.bn and s.head == "dataset" for s in (vk, gs, tl))
    group = PROXY_GROUPS.get("vkdnw_agg")
    assert group.members == ("vkdnw", "az_expressivity", "az_trainability", "flops", "jacob_cov")
    assert group.aggregate in ENSEMBLE_RULES and all(m in PROXIES for m in group.members)


def test_vkdnw_aggregate_rule_dense_ranks_the_first_member():
    first = np.array([1.0, 1.0, 1.0, 5.0])  # dense ranks 1, 1, 1, 2 (average ranks: 2, 2, 2, 4)
    other = np.array([4.0, 3.0, np.nan, 1.0])  # NaN ranks worst: 4, 3, 1, 2
    got = vkdnw_log_rank_sum({"vkdnw": first, "x": other})
    expected = np.log(np.array([1, 1, 1, 2]) / 4) + np.log(np.array([4, 3, 1, 2]) / 4)
    assert np.allclose(got, expected)
    via_rule = ensemble_score({"vkdnw": first, "x": -other}, {"vkdnw": "max", "x": "min"}, "vkdnw-rank")
    assert np.allclose(via_rule, expected)
