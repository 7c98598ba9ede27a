"""Zero-cost and TE-NAS proxies: closed forms on tiny networks, benchmark records, conventions."""

from __future__ import annotations

import bz2
import copy
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.proxies import fisher as fisher_mod
from nasbench_cli.proxies import grasp as grasp_mod
from nasbench_cli.proxies import linear_regions as lr_mod
from nasbench_cli.proxies import ntk as ntk_mod
from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator

OURS = ("fisher", "flops", "grad_norm", "grasp", "jacob_cov", "linear_regions", "linear_regions_net", "ntk", "params",
        "snip", "synflow")
CPU = torch.device("cpu")


def ctx(num_classes: int = 3, seed: int = 0) -> ProxyContext:
    return ProxyContext(num_classes=num_classes, device=CPU, seed=seed)


# ---------------------------------------------------------------- tiny two-layer MLP, by hand


def mlp(d: int = 4, h: int = 5, k: int = 3, dtype=torch.float64) -> nn.Sequential:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k)).to(dtype)


def mlp_batch(b: int = 6, d: int = 4, k: int = 3, dtype=torch.float64) -> Batch:
    gen = torch.Generator().manual_seed(2)
    return Batch(torch.randn(b, d, generator=gen, dtype=dtype), torch.randint(0, k, (b,), generator=gen))


def mlp_parts(net: nn.Sequential, batch: Batch):
    """numpy float64 weights, activations and hand-derived cross-entropy gradients."""
    W1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    W2, b2 = net[2].weight.detach().numpy(), net[2].bias.detach().numpy()
    x, y = batch.inputs.numpy(), batch.targets.numpy()
    z = x @ W1.T + b1
    a = np.maximum(z, 0)
    out = a @ W2.T + b2
    p = np.exp(out - out.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    D = (p - np.eye(out.shape[1])[y]) / x.shape[0]  # dL/dout for the mean cross-entropy
    dz = (D @ W2) * (z > 0)
    return dict(W1=W1, b1=b1, W2=W2, b2=b2, x=x, z=z, a=a, out=out, D=D, dz=dz, dW1=dz.T @ x, dW2=D.T @ a)


def run(name: str, model: nn.Module, batch: Batch, context: ProxyContext | None = None) -> float:
    return PROXIES.get(name).fn(model, batch, context or ctx())


def test_grad_norm_closed_form():
    net, batch = mlp(), mlp_batch()
    P = mlp_parts(net, batch)
    expected = np.linalg.norm(P["dW1"]) + np.linalg.norm(P["dW2"])  # biases do not count
    assert run("grad_norm", net, batch) == pytest.approx(expected, rel=1e-10)


def test_snip_closed_form():
    net, batch = mlp(), mlp_batch()
    P = mlp_parts(net, batch)
    expected = np.abs(P["dW1"] * P["W1"]).sum() + np.abs(P["dW2"] * P["W2"]).sum()
    assert run("snip", net, batch) == pytest.approx(expected, rel=1e-10)


def test_snip_equals_mask_derivative():
    """The reference's |dL/dmask| at mask = 1, computed with an explicit mask."""
    net, batch = mlp(), mlp_batch()
    masks = [torch.ones_like(net[0].weight, requires_grad=True), torch.ones_like(net[2].weight, requires_grad=True)]
    h = F.relu(F.linear(batch.inputs, net[0].weight.detach() * masks[0], net[0].bias.detach()))
    out = F.linear(h, net[2].weight.detach() * masks[1], net[2].bias.detach())
    grads = torch.autograd.grad(F.cross_entropy(out, batch.targets), masks)
    expected = sum(float(g.abs().sum()) for g in grads)
    assert run("snip", mlp(), batch) == pytest.approx(expected, rel=1e-10)


def test_synflow_closed_form():
    net, batch = mlp(), mlp_batch()
    P = mlp_parts(net, batch)
    aW1, ab1, aW2 = np.abs(P["W1"]), np.abs(P["b1"]), np.abs(P["W2"])
    a = aW1 @ np.ones(aW1.shape[1]) + ab1  # all positive: every ReLU passes
    c = aW2.sum(0)  # dR/da
    expected = (aW2 * a[None, :]).sum() + (aW1 * c[:, None]).sum()
    value = run("synflow", net, batch)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-12)


def test_synflow_ignores_batch_values_and_works_in_float64():
    net = mlp()
    b1, b2 = mlp_batch(), Batch(mlp_batch().inputs * 100.0, mlp_batch().targets)
    assert run("synflow", copy.deepcopy(net), b1) == run("synflow", copy.deepcopy(net), b2)
    spec = PROXIES.get("synflow")
    assert (spec.bn, spec.dtype, spec.loss) == (False, "float64", None)


def test_synflow_large_values_are_finite_in_float64():
    """20 layers of width 64 with |W| ~ 1 give about 1e36, beyond float32's range."""
    torch.manual_seed(0)
    layers = []
    for _ in range(20):
        layers += [nn.Linear(64, 64, bias=False), nn.ReLU()]
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.uniform_(0.5, 1.5)
    value = run("synflow", net.double(), Batch(torch.zeros(2, 64, dtype=torch.float64), torch.zeros(2, dtype=torch.long)))
    assert math.isfinite(value) and value > 1e36


def flat_loss(net: nn.Sequential, batch: Batch):
    """Cross-entropy as a function of the flattened weights (biases fixed), plus the weights."""
    W1, W2 = net[0].weight.detach(), net[2].weight.detach()
    b1, b2 = net[0].bias.detach(), net[2].bias.detach()
    n1 = W1.numel()

    def loss(theta: torch.Tensor) -> torch.Tensor:
        w1, w2 = theta[:n1].view_as(W1), theta[n1:].view_as(W2)
        return F.cross_entropy(F.linear(F.relu(F.linear(batch.inputs, w1, b1)), w2, b2), batch.targets)

    return loss, torch.cat([W1.reshape(-1), W2.reshape(-1)])


def test_grasp_equals_minus_theta_hessian_gradient():
    net, batch = mlp(), mlp_batch()
    loss, theta = flat_loss(net, batch)
    H = torch.autograd.functional.hessian(loss, theta)  # explicit P x P Hessian
    g = torch.autograd.functional.jacobian(loss, theta)
    expected = float(-(theta * (H @ g)).sum())
    value = run("grasp", net, batch)
    assert value == pytest.approx(expected, rel=1e-8)
    # the sign matters: the proxy is -theta.Hg, not theta.Hg
    assert abs(expected) > 1e-6 and np.sign(value) == np.sign(expected)


def test_grasp_hessian_gradient_products_per_layer():
    net, batch = mlp(), mlp_batch()
    loss, theta = flat_loss(net, batch)
    H = torch.autograd.functional.hessian(loss, theta)
    hg = H @ torch.autograd.functional.jacobian(loss, theta)
    pairs = grasp_mod.hessian_gradient_products(net, batch)
    ours = torch.cat([p[1].reshape(-1) for p in pairs])
    assert torch.allclose(ours, hg, rtol=1e-8, atol=1e-12)


def test_fisher_mlp_closed_form():
    net, batch = mlp(), mlp_batch()
    P = mlp_parts(net, batch)
    # layer 1: act z, grad dz; layer 2: act out, grad D; each channel counted in_features times
    f1 = 0.5 * ((P["z"] * P["dz"]) ** 2).mean(0)
    f2 = 0.5 * ((P["out"] * P["D"]) ** 2).mean(0)
    expected = f1.sum() * P["W1"].shape[1] + f2.sum() * P["W2"].shape[1]
    assert run("fisher", net, batch) == pytest.approx(expected, rel=1e-10)


class TinyConvNet(nn.Module):
    """conv -> BN -> ReLU -> conv (+ in-place residual) -> ReLU -> pool -> linear. The residual is
    added in place to a conv output, which the Fisher proxy must still see unmodified."""

    def __init__(self, num_classes: int = 3, bn: bool = True, width: int = 4, in_channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width) if bn else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.relu2 = nn.ReLU(inplace=True)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn(self.conv1(x)))
        y = self.conv2(h)
        y += h
        return self.fc(self.relu2(y).mean(dim=(2, 3)))


def conv_batch(b: int = 8, size: int = 6, k: int = 3) -> Batch:
    gen = torch.Generator().manual_seed(3)
    return Batch(torch.randn(b, 3, size, size, generator=gen), torch.randint(0, k, (b,), generator=gen))


def make_conv_net(seed: int = 0, **kw) -> TinyConvNet:
    torch.manual_seed(seed)
    return TinyConvNet(**kw)


def test_fisher_conv_direct():
    net, batch = make_conv_net(), conv_batch()
    # the same network written out functionally, activations kept and differentiated directly
    a1 = F.conv2d(batch.inputs, net.conv1.weight, padding=1)
    h = F.relu(F.batch_norm(a1, None, None, net.bn.weight, net.bn.bias, training=True))
    a2 = F.conv2d(h, net.conv2.weight, net.conv2.bias, padding=1)
    a3 = F.linear(F.relu(a2 + h).mean(dim=(2, 3)), net.fc.weight, net.fc.bias)
    grads = torch.autograd.grad(F.cross_entropy(a3, batch.targets), [a1, a2, a3])
    expected = 0.0
    for act, grad, layer in zip([a1, a2, a3], grads, [net.conv1, net.conv2, net.fc]):
        g = act * grad
        g_nk = g.sum(dim=(2, 3)) if g.dim() == 4 else g
        expected += float((0.5 * g_nk.detach().pow(2).mean(0)).sum()) * layer.weight[0].numel()
    assert run("fisher", copy.deepcopy(net), batch) == pytest.approx(expected, rel=1e-4)


def test_fisher_counts_a_shared_layer_once_per_call():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(torch.tanh(self.fc(x)))

    torch.manual_seed(0)
    net = Twice().double()
    batch = mlp_batch(b=5, d=3, k=3)
    x = batch.inputs
    a1 = F.linear(x, net.fc.weight, net.fc.bias)
    a2 = F.linear(torch.tanh(a1), net.fc.weight, net.fc.bias)
    g1, g2 = torch.autograd.grad(F.cross_entropy(a2, batch.targets), [a1, a2])
    per_channel = 0.5 * (a1 * g1).pow(2).mean(0) + 0.5 * (a2 * g2).pow(2).mean(0)
    expected = float(per_channel.detach().sum()) * 3
    assert run("fisher", net, batch) == pytest.approx(expected, rel=1e-10)


def test_fisher_channel_values():
    act = torch.tensor([[[[1.0, 2.0]]], [[[3.0, 0.0]]]])  # B=2, C=1, 1x2
    grad = torch.tensor([[[[1.0, 1.0]]], [[[2.0, 5.0]]]])
    # g_n = (1 + 2, 6 + 0) -> 0.5 * mean(9, 36) = 11.25
    assert fisher_mod.channel_fisher(act, grad).tolist() == [11.25]


# ---------------------------------------------------------------- jacob_cov


class HalfSquare(nn.Module):
    """f(x) = 0.5 * |x|^2 per example: its input Jacobian is x itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x.pow(2).flatten(1).sum(1, keepdim=True)


def test_jacob_cov_known_correlation():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]], dtype=torch.float64)
    # Pearson r by hand: deviations (-1.5,-.5,.5,1.5) and (-1.75,-.75,.25,2.25)
    u, v = np.array([-1.5, -0.5, 0.5, 1.5]), np.array([-1.75, -0.75, 0.25, 2.25])
    r = (u @ v) / math.sqrt((u @ u) * (v @ v))
    k = 1e-5
    expected = -sum(math.log(l + k) + 1.0 / (l + k) for l in (1 + r, 1 - r))
    value = run("jacob_cov", HalfSquare(), Batch(x, torch.zeros(2, dtype=torch.long)))
    assert value == pytest.approx(expected, rel=1e-9)


def test_jacob_cov_perfectly_correlated_rows():
    """A linear net has the same Jacobian for every example: corrcoef is all ones."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3)).double()
    B, k = 5, 1e-5
    batch = Batch(torch.randn(B, 3, 2, 2, dtype=torch.float64), torch.zeros(B, dtype=torch.long))
    expected = -(math.log(B + k) + 1 / (B + k) + (B - 1) * (math.log(k) + 1 / k))
    assert run("jacob_cov", net, batch) == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_input_independent_output_is_nan():
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    nn.init.zeros_(net[1].weight)
    batch = Batch(torch.randn(4, 3, 2, 2), torch.zeros(4, dtype=torch.long))
    assert math.isnan(run("jacob_cov", net, batch))


def test_jacob_cov_does_not_touch_the_batch():
    batch = conv_batch()
    before = batch.inputs.clone()
    run("jacob_cov", make_conv_net(), batch)
    assert torch.equal(batch.inputs, before) and not batch.inputs.requires_grad


# ---------------------------------------------------------------- NTK


def test_ntk_linear_model_is_condition_number_of_gram():
    """For logits = W x, d(sum logits)/dW = x in every row: Theta = k X X^T for any W."""
    gen = torch.Generator().manual_seed(5)
    X = torch.randn(4, 6, generator=gen, dtype=torch.float64)
    eig = np.linalg.eigvalsh(X.numpy() @ X.numpy().T)
    expected = eig[-1] / eig[0]
    torch.manual_seed(0)
    net = nn.Linear(6, 3, bias=True).double()  # the bias is not a `weight`: it must be left out
    batch = Batch(X, torch.zeros(4, dtype=torch.long))
    assert ntk_mod.ntk_condition(net, X) == pytest.approx(expected, rel=1e-8)
    # the registered proxy re-initialises W first; the kernel does not depend on W here
    assert run("ntk", net, batch) == pytest.approx(expected, rel=1e-8)
    with_bias = np.linalg.eigvalsh(X.numpy() @ X.numpy().T + 1.0)
    assert with_bias[-1] / with_bias[0] != pytest.approx(expected, rel=1e-3)


def test_ntk_vmapped_and_looped_gradients_agree():
    net, batch = make_conv_net(), conv_batch(b=5)
    G = ntk_mod.per_example_gradients(net, batch.inputs, vectorized=True)
    logits = net(batch.inputs)
    G_loop = ntk_mod.per_example_gradients_loop(logits, ntk_mod.ntk_weights(net))
    assert G.shape == G_loop.shape
    assert torch.allclose(G, G_loop, rtol=1e-4, atol=1e-6)
    # BatchNorm's scale is a `weight` too (TE-NAS: 'weight' in name)
    names = [n for n, p in net.named_parameters() if any(p is w for w in ntk_mod.ntk_weights(net))]
    assert names == ["conv1.weight", "bn.weight", "conv2.weight", "fc.weight"]


def test_condition_number_edge_cases():
    assert ntk_mod.condition_number(torch.diag(torch.tensor([4.0, 1.0]))) == pytest.approx(4.0)
    assert ntk_mod.condition_number(torch.diag(torch.tensor([1.0, 0.0]))) == math.inf
    assert ntk_mod.condition_number(torch.zeros(3, 3)) == math.inf


def test_ntk_seed_decides_the_init():
    batch = conv_batch(b=6)
    a = run("ntk", make_conv_net(0), batch, ctx(seed=0))
    b = run("ntk", make_conv_net(1), batch, ctx(seed=0))  # incoming init is replaced
    c = run("ntk", make_conv_net(0), batch, ctx(seed=1))
    assert a == pytest.approx(b, rel=1e-6)
    assert a != pytest.approx(c, rel=1e-6)


def test_kaiming_init_statistics():
    layer = nn.Conv2d(20, 40, 3)
    kaiming_normal_init(layer, "fan_out", seeded_generator(0))
    assert float(layer.weight.detach().std()) == pytest.approx(math.sqrt(2.0 / (40 * 9)), rel=0.05)
    assert float(layer.bias.detach().abs().sum()) == 0.0
    kaiming_normal_init(layer, "fan_in", seeded_generator(0))
    assert float(layer.weight.detach().std()) == pytest.approx(math.sqrt(2.0 / (20 * 9)), rel=0.05)


# ---------------------------------------------------------------- linear regions


def one_d_net(weights, biases) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(1, len(weights)), nn.ReLU(), nn.Linear(len(weights), 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(weights, dtype=torch.float64)[:, None])
        net[0].bias.copy_(torch.tensor(biases, dtype=torch.float64))
    return net


def test_linear_regions_1d_known_count():
    xs = torch.linspace(-3, 3, 601, dtype=torch.float64)[:, None]
    # breakpoints x = 1, 0, 2: four intervals
    assert lr_mod.count_regions(one_d_net([1.0, 1.0, -1.0], [-1.0, 0.0, 2.0]), xs) == 4
    # both units switch at x = 1: two regions, not three
    assert lr_mod.count_regions(one_d_net([1.0, 2.0], [-1.0, -2.0]), xs) == 2
    # a breakpoint outside the inputs' range adds nothing
    assert lr_mod.count_regions(one_d_net([1.0, 1.0], [-1.0, 10.0]), xs) == 2
    # chunked forwarding counts across chunks
    assert lr_mod.count_regions(one_d_net([1.0, 1.0, -1.0], [-1.0, 0.0, 2.0]), xs, chunk=50) == 4


def test_random_crops_are_image_windows():
    n, h, w = 3, 7, 9
    images = torch.zeros(n, 2, h, w)
    for i in range(n):
        images[i, 0] = i * 10000 + torch.arange(h)[:, None] * 100 + torch.arange(w)[None, :]
        images[i, 1] = -images[i, 0]
    crops = lr_mod.random_crops(images, 50, 3, seeded_generator(0))
    assert crops.shape == (50, 2, 3, 3)
    for crop in crops:
        code = int(crop[0, 0, 0])
        i, r, c = code // 10000, (code % 10000) // 100, code % 100
        assert torch.equal(crop, images[i, :, r : r + 3, c : c + 3])
    again = lr_mod.random_crops(images, 50, 3, seeded_generator(0))
    assert torch.equal(crops, again)


def test_linear_regions_proxy_range_and_seed():
    # TE-NAS's crops have one colour channel: the network takes 1 input channel
    net, batch = make_conv_net(width=1, in_channels=1), conv_batch(b=8, size=8)
    value = run("linear_regions", copy.deepcopy(net), batch)
    # the mean of 3 initialisations' counts
    assert 1 <= value <= lr_mod.NUM_CROPS and value * 3 == pytest.approx(round(value * 3))
    assert value == run("linear_regions", copy.deepcopy(net), batch)
    # the incoming initialisation is replaced by the seeded one
    assert value == run("linear_regions", make_conv_net(7, width=1, in_channels=1), batch)
    spec = PROXIES.get("linear_regions")
    assert dict(spec.build_options) == {"C": 1, "N": 1, "depth": 1, "stem": False}
    # the whole-network counter keeps 3-channel crops and one initialisation
    whole = run("linear_regions_net", make_conv_net(width=1), batch)
    assert 1 <= whole <= lr_mod.NUM_CROPS and whole == int(whole)
    assert dict(PROXIES.get("linear_regions_net").build_options) == {"C": 1, "N": 1}


# ---------------------------------------------------------------- params and flops


def test_params_and_flops_counting_rule():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=True)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.AvgPool2d(2)
            self.conv2 = nn.Conv2d(4, 6, 1, bias=False)
            self.fc = nn.Linear(6, 5)

        def forward(self, x):
            x = self.conv2(self.pool(torch.relu(self.bn(self.conv(x)))))
            return self.fc(x.mean(dim=(2, 3)))

    net = Net()
    n_params = (3 * 4 * 9 + 4) + 8 + 4 * 6 + (6 * 5 + 5)
    # conv 8x8 output: (27*4 + 4 bias) per position; 1x1 conv on 4x4; linear with bias; no pool/BN
    n_flops = (27 * 4 + 4) * 64 + (4 * 6) * 16 + (6 * 5 + 5)
    batch = Batch(torch.randn(2, 3, 8, 8), torch.zeros(2, dtype=torch.long))
    assert run("params", net, batch) == pytest.approx(n_params / 1e6, abs=1e-12)
    assert run("flops", net, batch) == pytest.approx(n_flops / 1e6, abs=1e-12)
    no_data = ProxyContext(num_classes=5, device=CPU, input_shape=(3, 8, 8))
    assert PROXIES.get("flops").fn(net, None, no_data) == pytest.approx(n_flops / 1e6, abs=1e-12)
    with pytest.raises(ValueError):
        PROXIES.get("flops").fn(net, None, ctx())


@pytest.fixture(scope="module")
def nats_records(shared_data):
    folder = shared_data / "nats" / "NATS-tss-v1_0-3ffb9-simple"
    if not folder.is_dir():
        pytest.skip(f"NATS-tss records not found at {folder}")
    out = {}
    for index in (0, 11, 284):
        with bz2.open(folder / f"{index:06d}.pickle.pbz2", "rb") as handle:
            state = pickle.load(handle)["200"]
        out[index] = state
    return out


@pytest.mark.parametrize("index", [0, 11, 284])
def test_params_and_flops_match_nats_records(nats_records, index):
    nb201 = pytest.importorskip("nasbench_cli.models.nb201")
    state = nats_records[index]
    checked = set()
    for (dataset, _seed), record in state["all_results"].items():
        if dataset in checked:
            continue  # every seed of a dataset holds the same counts
        checked.add(dataset)
        classes = record["arch_config"]["class_num"]
        shape = (3, 16, 16) if dataset.startswith("ImageNet16") else (3, 32, 32)
        net = nb201.build_nb201(state["arch_str"], classes)
        batch = Batch(torch.zeros((2,) + shape), torch.zeros(2, dtype=torch.long))
        assert run("params", net, batch, ctx(classes)) == pytest.approx(float(record["params"]), abs=5e-7)
        assert run("flops", net, batch, ctx(classes)) == pytest.approx(float(record["flop"]), abs=5e-6)
    assert checked >= {"cifar10", "cifar100", "ImageNet16-120"}


# ---------------------------------------------------------------- conventions across proxies


def test_registered_specs():
    for name in OURS:
        spec = PROXIES.get(name)
        assert spec.direction == ("min" if name == "ntk" else "max"), name
        assert spec.summary, name
    for name in ("grad_norm", "snip", "grasp", "fisher"):
        assert PROXIES.get(name).loss == "cross_entropy" and PROXIES.get(name).bn
    assert not PROXIES.get("params").needs_data and not PROXIES.get("flops").needs_data
    assert PROXIES.get("ntk").batch_size == 72  # TE-NAS's code (its paper's text: 32)
    for name in PROXIES.names():
        assert PROXIES.get(name).direction in ("max", "min")


@pytest.mark.parametrize("name", OURS)
def test_deterministic_and_no_side_effects(name):
    spec = PROXIES.get(name)
    dtype = torch.float64 if spec.dtype == "float64" else torch.float32
    # linear_regions feeds one-channel crops (TE-NAS's RandChannel(1)) to its single cell
    channels = 1 if name == "linear_regions" else 3
    base = make_conv_net(0, bn=spec.bn, width=2, in_channels=channels).to(dtype)
    raw = conv_batch(b=6, size=6)
    batch = Batch(raw.inputs.to(dtype), raw.targets)
    inputs_before = batch.inputs.clone()
    state_before = {k: v.clone() for k, v in base.state_dict().items()}
    rng_before = torch.get_rng_state()

    first = copy.deepcopy(base)
    a = spec.fn(first, batch, ctx())
    assert isinstance(a, float)
    # another proxy run in between (on its own copy) changes nothing
    PROXIES.get("synflow").fn(copy.deepcopy(base).double(),
                              Batch(batch.inputs[:, :channels].double(), batch.targets), ctx())
    b = spec.fn(copy.deepcopy(base), batch, ctx())
    assert a == b or (math.isnan(a) and math.isnan(b))
    # the global RNG, the batch and the network the copy came from are untouched; no hooks left
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.equal(batch.inputs, inputs_before) and not batch.inputs.requires_grad
    for k, v in base.state_dict().items():
        assert torch.equal(v, state_before[k]), k
    for module in first.modules():
        assert not module._forward_hooks and not module._backward_hooks
