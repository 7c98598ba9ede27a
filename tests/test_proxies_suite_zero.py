"""epe_nas, l2_norm, plain and zen (the NAS-Bench-Suite-Zero proxies): closed forms on tiny networks,
NASLib's released NB201 values, registration, determinism, RNG hygiene and NB201 smoke scores."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from nasbench_cli.cli import main
from nasbench_cli.models.nb201 import build_nb201
from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.proxies import epe_nas as epe_mod
from nasbench_cli.proxies import zen as zen_mod
from nasbench_cli.proxies._layers import seeded_generator

NAMES = ("epe_nas", "l2_norm", "plain", "zen")
CPU = torch.device("cpu")
K = 1e-5


def ctx(seed: int = 0, num_classes: int = 3, input_shape=None) -> ProxyContext:
    return ProxyContext(num_classes=num_classes, device=CPU, seed=seed, input_shape=input_shape)


def run(name: str, model: nn.Module, batch, context: ProxyContext | None = None) -> float:
    return PROXIES.get(name).fn(model, batch, context or ctx())


def built(fn):
    """``fn()`` under a forked torch RNG (builders draw initial weights from the global RNG)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return fn()


def mlp(d: int = 4, h: int = 6, k: int = 3, relu: bool = True) -> nn.Sequential:
    def make():
        return nn.Sequential(nn.Linear(d, h), nn.ReLU() if relu else nn.Identity(), nn.Linear(h, k)).double()
    return built(make)


def batch_of(labels, d: int = 4, seed: int = 2) -> Batch:
    gen = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(len(labels), d, generator=gen, dtype=torch.float64), torch.tensor(labels))


# ---------------------------------------------------------------- l2_norm


def test_l2_norm_is_the_sum_of_weight_norms():
    def make():
        return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(3, 4))
    net = built(make)
    with torch.no_grad():  # biases and BatchNorm must not count
        net[0].bias.fill_(100.0)
        net[1].weight.fill_(7.0)
        net[5].bias.fill_(-50.0)
    expected = np.linalg.norm(net[0].weight.detach().numpy().ravel()) + np.linalg.norm(net[5].weight.detach().numpy())
    assert run("l2_norm", net, None) == pytest.approx(expected, rel=1e-12)


# NASLib's released NB201 CIFAR-10 values (naslib/data/zc_nasbench201.json at automl/NASLib commit
# a06ba0e9, key = NASLib op indices). Under PyTorch's default init each layer's ||W||^2 is close to
# out_channels / 3, so a freshly built benchmark network must land within a fraction of a percent.
NASLIB_L2 = {
    "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|": 231.306396484375,
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|": 78.66703033447266,
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|":
        282.83148193359375,
}


@pytest.mark.parametrize("arch", sorted(NASLIB_L2))
def test_l2_norm_matches_naslib_released_nb201_values(arch):
    net = built(lambda: build_nb201(arch, 10))
    assert run("l2_norm", net, None) == pytest.approx(NASLIB_L2[arch], rel=1e-2)


# ---------------------------------------------------------------- plain


def test_plain_closed_form_signed_and_without_biases():
    net, batch = mlp(), batch_of([0, 1, 2, 2, 1, 0, 0])
    W1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    W2, b2 = net[2].weight.detach().numpy(), net[2].bias.detach().numpy()
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    z = x @ W1.T + b1
    a = np.maximum(z, 0)
    out = a @ W2.T + b2
    p = np.exp(out - out.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dout = (p - np.eye(3)[y]) / len(y)  # mean cross-entropy
    dW2 = dout.T @ a
    dW1 = ((dout @ W2) * (z > 0)).T @ x
    expected = np.sum(W1 * dW1) + np.sum(W2 * dW2)
    assert run("plain", net, batch) == pytest.approx(expected, rel=1e-10)
    # signed: not the snip value (which takes |.|) unless every term has one sign
    assert abs(expected) < np.abs(W1 * dW1).sum() + np.abs(W2 * dW2).sum()


# ---------------------------------------------------------------- epe_nas


def hand_epe(jac: np.ndarray, labels, many: bool) -> float:
    """EPE-NAS written out: correlations from centred, normalised rows."""
    scores = []
    for c in sorted(set(labels)):
        rows = jac[np.asarray(labels) == c]
        if len(rows) == 1:
            if not many:
                scores.append(math.log(1 + K))
            continue
        centred = rows - rows.mean(1, keepdims=True)
        unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
        s = np.log(np.abs(unit @ unit.T) + K).sum()
        scores.append(s / len(rows) if many else s)
    s = np.array(scores)
    return float(np.abs(s).sum()) if not many else float(np.abs(s[:, None] - s[None, :]).sum() / len(s))


def mlp_input_jacobian(net: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """d(sum of outputs)/dx per example for Linear-ReLU-Linear: W1^T (relu'(z) * W2^T 1)."""
    W1, b1, W2 = (net[0].weight.detach().numpy(), net[0].bias.detach().numpy(), net[2].weight.detach().numpy())
    z = x @ W1.T + b1
    return ((z > 0) * W2.sum(0)) @ W1


def test_epe_nas_matches_a_written_out_version():
    labels = [0, 0, 1, 1, 1, 2, 0, 1, 0, 1]  # class 2 has a single example: adds log(1 + k)
    net, batch = mlp(), batch_of(labels)
    jac = mlp_input_jacobian(net, batch.inputs.numpy())
    assert run("epe_nas", net, batch) == pytest.approx(hand_epe(jac, labels, many=False), rel=1e-10)


def test_epe_nas_linear_network_closed_form():
    # every Jacobian row equals W^T 1: all correlations are 1, so s_c = n_c^2 log(1 + k)
    labels = [0, 0, 0, 1, 1, 2]
    net, batch = mlp(relu=False), batch_of(labels)
    expected = (9 + 4 + 1) * math.log(1 + K)
    assert run("epe_nas", net, batch) == pytest.approx(expected, rel=1e-9)


def test_epe_nas_more_than_100_outputs_uses_pairwise_differences():
    labels = [0, 0, 0, 5, 5, 7, 7, 7, 7, 9]  # class 9 alone: left out, not counted in the divisor
    net, batch = mlp(k=101), batch_of(labels)
    jac = mlp_input_jacobian(net, batch.inputs.numpy())
    expected = hand_epe(jac, labels, many=True)
    assert run("epe_nas", net, batch) == pytest.approx(expected, rel=1e-10)
    assert expected != pytest.approx(hand_epe(jac, labels, many=False))


def test_epe_nas_constant_jacobian_rows_give_nan():
    net, batch = mlp(), batch_of([0, 0, 1])
    with torch.no_grad():
        net[0].weight.zero_()  # the output ignores the input: zero Jacobian rows
    assert math.isnan(run("epe_nas", net, batch))
    assert math.isnan(epe_mod.epe_nas_score(np.zeros((1, 5)), np.array([3]), 10))  # one constant row
    assert epe_mod.epe_nas_score(np.zeros((1, 5)), np.array([3]), 120) == 0.0  # skipped, nothing scored


# ---------------------------------------------------------------- zen


class TinyConvNet(nn.Module):
    """Conv 1x1 -> BN -> ReLU -> global pool -> linear: its Zen-score can be written out."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1, bias=True)
        self.bn = nn.BatchNorm2d(3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.bn(self.conv(x)))).flatten(1))


def hand_zen(seed: int, shape=(2, 4, 4), n: int = 32, gamma: float = 0.01, momentum: float = 0.1, eps: float = 1e-5):
    """The documented protocol in numpy: draws (conv W, linear W, x, e), BN in train mode, running var."""
    gen = seeded_generator(seed, 0)
    W = torch.randn((3, 2, 1, 1), generator=gen).double().numpy()[:, :, 0, 0]
    torch.randn((2, 3), generator=gen)  # the linear layer's draw (it does not reach the features)
    x = torch.randn((n,) + shape, generator=gen).double().numpy()
    e = torch.randn((n,) + shape, generator=gen).double().numpy()
    running = np.ones(3)

    def features(inp):
        nonlocal running
        z = np.einsum("oc,nchw->nohw", W, inp)
        mean, var = z.mean((0, 2, 3)), z.var((0, 2, 3))
        count = z.size / 3
        running = (1 - momentum) * running + momentum * var * count / (count - 1)
        return np.maximum((z - mean[None, :, None, None]) / np.sqrt(var + eps)[None, :, None, None], 0)

    f1, f2 = features(x), features(x + gamma * e)
    spread = np.abs(f1 - f2).reshape(n, -1).sum(1).mean()
    return math.log(spread) + 0.5 * math.log(running.mean())


def test_zen_closed_form_on_a_tiny_network():
    value = run("zen", built(TinyConvNet), None, ctx(seed=5, input_shape=(2, 4, 4)))
    assert value == pytest.approx(hand_zen(5), rel=1e-4)
    # the batch_size option is the number of Gaussian inputs drawn
    sized = ProxyContext(num_classes=3, device=CPU, seed=5, input_shape=(2, 4, 4), options={"batch_size": 8})
    assert run("zen", built(TinyConvNet), None, sized) == pytest.approx(hand_zen(5, n=8), rel=1e-4)


def test_zen_reset_running_statistics_first():
    net = built(TinyConvNet)
    net.train()
    with torch.no_grad():  # a network that has already seen data scores as a fresh one
        net(torch.randn(8, 2, 4, 4) * 30)
    assert run("zen", net, None, ctx(seed=5, input_shape=(2, 4, 4))) == pytest.approx(hand_zen(5), rel=1e-4)


def test_zen_takes_the_shape_from_the_batch_without_input_shape():
    batch = Batch(torch.zeros(3, 2, 4, 4), torch.zeros(3, dtype=torch.long))
    assert run("zen", built(TinyConvNet), batch, ctx(seed=5)) == pytest.approx(hand_zen(5), rel=1e-4)
    with pytest.raises(ValueError, match="input shape"):
        run("zen", built(TinyConvNet), None, ctx(seed=5))


class NoPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


class OwnPrePool(NoPool):
    def forward_before_global_avg_pool(self, x):
        return self.conv(x)


def test_zen_needs_pre_pooling_features():
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d"):
        run("zen", built(NoPool), None, ctx(input_shape=(2, 4, 4)))
    # a model may say itself where its pre-pooling features are; a linear map gives
    # log(mean_n sum |W (gamma e_n)|) exactly
    net = built(OwnPrePool)
    value = run("zen", net, None, ctx(seed=1, input_shape=(2, 4, 4)))
    gen = seeded_generator(1, 0)
    W = torch.randn((3, 2, 1, 1), generator=gen).double().numpy()[:, :, 0, 0]
    torch.randn((2, 3), generator=gen)
    torch.randn((32, 2, 4, 4), generator=gen)
    e = torch.randn((32, 2, 4, 4), generator=gen).double().numpy()
    expected = math.log(np.abs(np.einsum("oc,nchw->nohw", W, 0.01 * e)).reshape(32, -1).sum(1).mean())
    assert value == pytest.approx(expected, rel=1e-3)


class ZeroFeatures(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.conv(x) * 0.0).flatten(1)


def test_zen_input_independent_features_score_minus_inf():
    assert run("zen", built(ZeroFeatures), None, ctx(input_shape=(2, 4, 4))) == -math.inf


def test_zen_refuses_batchnorm_without_running_statistics():
    net = built(TinyConvNet)
    net.bn = nn.BatchNorm2d(3, track_running_stats=False)
    with pytest.raises(ValueError, match="track_running_stats"):
        run("zen", net, None, ctx(input_shape=(2, 4, 4)))


# ---------------------------------------------------------------- registration and conventions


def test_specs_follow_the_reference_protocol():
    specs = {name: PROXIES.get(name) for name in NAMES}
    assert all(s.direction == "max" and s.bn and s.head == "dataset" and s.dtype == "float32" for s in specs.values())
    assert [n for n, s in specs.items() if s.needs_data] == ["epe_nas", "plain"]  # l2_norm, zen: no data
    assert [(n, s.loss) for n, s in specs.items() if s.loss] == [("plain", "cross_entropy")]
    # NAS-Bench-Suite-Zero's configs set batch_size 32 (zen draws that many Gaussian inputs)
    assert specs["epe_nas"].batch_size == specs["plain"].batch_size == specs["zen"].batch_size == 32
    assert zen_mod.BATCH_SIZE == 32 and zen_mod.MIXUP_GAMMA == 0.01 and zen_mod.REPEATS == 1
    assert [(o.name, o.default) for o in specs["zen"].options] == [("batch_size", 32)]


def test_proxies_command_lists_them_as_higher_is_better():
    result = CliRunner().invoke(main, ["proxies"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1] for line in result.output.splitlines() if line.strip()}
    assert all(lines[name] == "higher" for name in NAMES)


ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def small_nb201():
    """A real NB201 topology at reduced width and depth, and a CIFAR-shaped batch of 64."""
    net = built(lambda: build_nb201(ARCH, 10, C=8, N=2))
    gen = torch.Generator().manual_seed(3)
    batch = Batch(torch.randn(64, 3, 32, 32, generator=gen), torch.randint(0, 10, (64,), generator=gen))
    return net, batch


def score(name: str, net: nn.Module, batch: Batch, seed: int = 0) -> float:
    model = copy.deepcopy(net)
    model.train()
    return run(name, model, batch, ctx(seed=seed, num_classes=10, input_shape=(3, 32, 32)))


@pytest.mark.parametrize("name", NAMES)
def test_nb201_scores_are_finite_deterministic_and_leave_global_rngs_alone(name, small_nb201):
    net, batch = small_nb201
    torch_state, np_state, py_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    first = score(name, net, batch)
    assert math.isfinite(first)
    assert score(name, net, batch) == first
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1]) and random.getstate() == py_state


def test_zen_depends_on_the_seed_only_through_its_draws(small_nb201):
    net, batch = small_nb201
    assert score("zen", net, batch, seed=0) != score("zen", net, batch, seed=1)
    # the network's own weights do not matter: zen re-initialises them
    other = built(lambda: build_nb201(ARCH, 10, C=8, N=2))
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(3.0)
    assert score("zen", other, batch) == pytest.approx(score("zen", net, batch), rel=1e-6)


def test_scorer_runs_them_on_a_space():
    from nasbench_cli.engine.work import ScorerSpec, build_scorer
    from nasbench_cli.scoring import ScoreSettings

    settings = ScoreSettings("toy", "synthetic", NAMES, 0, 8, "auto", "train")
    scorer = build_scorer(ScorerSpec(settings, None, "cpu", 1, "toy_space"))[0]
    results = scorer.score_proxies(20)
    assert {n: (r.error, math.isfinite(r.value)) for n, r in results.items()} == {n: (None, True) for n in NAMES}
