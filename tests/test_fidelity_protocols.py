"""Reference protocols: TE-NAS's linear regions and NTK, the zero-cost code's NB201 network, and
the per-proxy options (``--proxy-option``, ``--network-variant``) that select them and key them."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from nasbench_cli.cli import main
from nasbench_cli.errors import UsageError
from nasbench_cli.models.nb201 import Cell, ReLUConvBN, ResidualReduction, build_nb201
from nasbench_cli.proxies import PROXIES, Batch, ProxyContext
from nasbench_cli.proxies import linear_regions as lr_mod
from nasbench_cli.proxies import ntk as ntk_mod
from nasbench_cli.proxies._layers import kaiming_normal_init, seeded_generator
from nasbench_cli.proxies.fisher import fisher_per_layer
from nasbench_cli.scoring import (
    ArchitectureScorer,
    ScoreSettings,
    build_options,
    code_fingerprint,
    parse_proxy_options,
    score_context,
)
from nasbench_cli.spaces import create_space
from nasbench_cli.store import SCHEMA_VERSION, ScoreContext, ScoreStore

CPU = torch.device("cpu")
#: node 1 is all zero (its only edge is `none`) and two convolutions read it
ZERO_READ = "|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
#: no convolution reads an all-zero node
NO_ZERO = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


def settings(proxies, options=(), variant="official", batch_size=None) -> ScoreSettings:
    return ScoreSettings("nb201", "synthetic", tuple(proxies), 0, batch_size, "auto", "train",
                         parse_proxy_options(options, tuple(proxies)), variant)


def image_batch(n: int = 40, size: int = 8, seed: int = 0) -> Batch:
    gen = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(n, 3, size, size, generator=gen), torch.randint(0, 10, (n,), generator=gen))


# ---------------------------------------------------------------- TE-NAS's single cell


def test_single_cell_network_is_one_cell_without_stem_or_reductions():
    net = build_nb201(NO_ZERO, 10, **dict(lr_mod.SINGLE_CELL))
    assert isinstance(net.stem, nn.Identity)
    assert len(net.cells) == 1 and isinstance(net.cells[0], Cell)
    assert not any(isinstance(m, ResidualReduction) for m in net.modules())
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    # five convolution edges, 1 -> 1 channel; the head reads 1 channel
    assert len(convs) == 5 and all(c.in_channels == c.out_channels == 1 for c in convs)
    assert net.classifier.in_features == 1 and net.lastact[0].num_features == 1
    # one-channel 3x3 crops in, logits out, spatial size kept through the cell
    assert net(torch.randn(5, 1, 3, 3)).shape == (5, 10)
    # the space builds the same network for the proxy (NATS tss shares the builder)
    for name in ("nb201", "nats-tss"):
        space = create_space(name, None)
        index = space.index_of(NO_ZERO)
        torch.manual_seed(0)
        built = space.build(index, 10, **dict(lr_mod.SINGLE_CELL))
        torch.manual_seed(0)
        direct = build_nb201(NO_ZERO, 10, **dict(lr_mod.SINGLE_CELL))
        assert [k for k in built.state_dict()] == [k for k in direct.state_dict()]
        assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), direct.state_dict().values()))


def test_scorer_builds_the_single_cell_for_linear_regions_and_the_full_net_for_others():
    space = create_space("nb201", None)
    specs = [PROXIES.get("linear_regions"), PROXIES.get("fisher")]
    scorer = ArchitectureScorer(space, specs, image_batch(), 10, settings(["linear_regions", "fisher"]), CPU)
    assert dict(scorer._variant(specs[0])[2]) == {"C": 1, "N": 1, "depth": 1, "stem": False}
    assert scorer._variant(specs[1])[2] == ()


def coded_images(n: int = 6, channels: int = 3, size: int = 7) -> torch.Tensor:
    """Pixel value = image * 1e4 + channel * 1e3 + row * 10 + col: every crop says where it is from."""
    i, c, r, k = torch.meshgrid(torch.arange(n), torch.arange(channels), torch.arange(size), torch.arange(size),
                                indexing="ij")
    return (i * 10000 + c * 1000 + r * 10 + k).double()


def test_rand_channel_crops_keep_one_whole_channel_of_one_window():
    images = coded_images()
    crops = lr_mod.random_crops(images, 300, 3, seeded_generator(0), channels=1)
    # TE-NAS's RandChannel(1) selects the channel: one channel, not three with two zeroed
    assert crops.shape == (300, 1, 3, 3)
    seen = set()
    for crop in crops:
        code = int(crop[0, 0, 0])
        i, c, r, k = code // 10000, (code % 10000) // 1000, (code % 1000) // 10, code % 10
        assert torch.equal(crop[0], images[i, c, r:r + 3, k:k + 3])
        seen.add(c)
    assert seen == {0, 1, 2}  # every colour channel gets chosen
    # two channels of three: a subset in the image's channel order, as RandChannel sorts its choice
    pairs = lr_mod.random_crops(images, 200, 3, seeded_generator(1), channels=2)
    first, second = (pairs[:, 0, 0, 0] % 10000) // 1000, (pairs[:, 1, 0, 0] % 10000) // 1000
    assert bool((first < second).all())
    # same generator seed, same crops
    assert torch.equal(crops, lr_mod.random_crops(images, 300, 3, seeded_generator(0), channels=1))


def test_crops_come_from_successive_shuffled_passes_over_the_images():
    images = coded_images(n=50)
    crops = lr_mod.random_crops(images, 120, 3, seeded_generator(0), channels=1, distinct=True)
    which = [int(v) // 10000 for v in crops[:, 0, 0, 0]]
    # every 50 consecutive crops: each image once (a loader's shuffled epoch), then the rest
    assert sorted(which[:50]) == sorted(which[50:100]) == list(range(50))
    assert len(set(which[100:])) == 20 and which[:50] != which[50:100]
    # the default pass size is a TE-NAS loader batch: 1000 crops, 1000 different images
    assert PROXIES.get("linear_regions").batch_size == lr_mod.CHUNK == 1000


def straightforward_count(net: nn.Module, images: torch.Tensor, seed: int, repeat: int) -> int:
    """TE-NAS's procedure written out: re-init fan-in, forward 1000 crops at a time in train mode,
    collect every ReLU's output signs as one string per crop, count the distinct strings."""
    crops = lr_mod.random_crops(images, 3000, 3, seeded_generator(lr_mod.CROP_SEED, repeat), channels=1,
                                distinct=True)
    kaiming_normal_init(net, "fan_in", seeded_generator(seed, repeat))
    outputs = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: outputs.append(out.detach().clone()))
             for m in net.modules() if isinstance(m, nn.ReLU)]
    codes = set()
    net.train()
    with torch.no_grad():
        for start in (0, 1000, 2000):
            outputs.clear()
            net(crops[start:start + 1000])
            signs = torch.cat([o.reshape(o.shape[0], -1) for o in outputs], dim=1) > 0
            codes.update("".join("1" if b else "0" for b in row) for row in signs.tolist())
    for hook in hooks:
        hook.remove()
    return len(codes)


def test_linear_regions_is_the_mean_of_three_single_init_counts():
    batch = image_batch(n=40)
    net = build_nb201(NO_ZERO, 10, **dict(lr_mod.SINGLE_CELL))
    counts = [lr_mod.count_once(net, batch.inputs, 5, r) for r in range(3)]
    assert counts == [straightforward_count(net, batch.inputs, 5, r) for r in range(3)]
    assert len(set(counts)) > 1  # the initialisations differ
    ctx = ProxyContext(10, CPU, seed=5)
    value = PROXIES.get("linear_regions").fn(net, batch, ctx)
    assert value == pytest.approx(np.mean(counts), rel=1e-12)
    one = PROXIES.get("linear_regions").fn(net, batch, replace(ctx, options={"repeats": 1}))
    assert one == counts[0]


def test_batchnorm_statistics_are_per_chunk_of_1000():
    """Forwarding the 3000 crops at once (one BN batch) is a different protocol: the count differs
    for a net whose first ReLU reads a BatchNorm output."""
    batch = image_batch(n=40)
    net = build_nb201("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                      "nor_conv_3x3~2|", 10, **dict(lr_mod.SINGLE_CELL))
    crops = lr_mod.random_crops(batch.inputs, 3000, 3, seeded_generator(0), channels=1, distinct=True)
    kaiming_normal_init(net, "fan_in", seeded_generator(0))
    net.train()
    per_chunk = lr_mod.count_regions(net, crops, chunk=1000)
    assert per_chunk == lr_mod.count_once(net, batch.inputs, 0, 0)
    assert lr_mod.count_regions(net, crops, chunk=3000) != per_chunk


# ---------------------------------------------------------------- NTK options


def test_ntk_options_enter_the_key_and_defaults_spelled_out_share_it():
    spec = PROXIES.get("ntk")
    default = score_context(spec, settings(["ntk"]))
    assert (default.batch_size, default.options, default.proxy_version) == (72, "network=full;repeats=3", "2")
    spelled = score_context(spec, settings(["ntk"], ["ntk.repeats=3", "ntk.batch_size=72", "ntk.network=full"]))
    assert spelled == default
    one = score_context(spec, settings(["ntk"], ["ntk.repeats=1"]))
    assert one.options == "network=full;repeats=1" and one != default
    small = score_context(spec, settings(["ntk"], ["ntk.batch_size=32"]))
    assert small.batch_size == 32 and small.options == default.options
    # the proxy's own batch_size wins over --batch-size, which still applies to the others
    both = settings(["ntk", "fisher"], ["ntk.batch_size=16"], batch_size=24)
    assert score_context(spec, both).batch_size == 16
    assert score_context(PROXIES.get("fisher"), both).batch_size == 24
    tenas = score_context(spec, settings(["ntk"], ["ntk.network=tenas"]))
    assert tenas.options == "network=tenas;repeats=3"


def test_options_leave_the_keys_of_proxies_without_options_unchanged():
    plain = ScoreContext("nb201", "synthetic", "fisher", 64, 0, "dataset", "train", score_context(
        PROXIES.get("fisher"), settings(["fisher"])).code_version, "1", code=code_fingerprint("nasbench_cli.proxies.fisher"))
    assert score_context(PROXIES.get("fisher"), settings(["fisher"])) == plain
    # another proxy's options do not touch it
    assert score_context(PROXIES.get("fisher"), settings(["fisher", "ntk"], ["ntk.repeats=1"])) == plain
    assert plain.options == ""


def test_ntk_repeats_average_single_initialisations_and_batch_size_takes_a_prefix():
    space = create_space("nb201", None)
    index = space.index_of(NO_ZERO)
    batch = image_batch(n=12, size=8)
    opts = ["ntk.network=tenas", "ntk.batch_size=10"]
    spec = PROXIES.get("ntk")
    three = ArchitectureScorer(space, [spec], batch, 10, settings(["ntk"], opts), CPU)
    one = ArchitectureScorer(space, [spec], batch, 10, settings(["ntk"], opts + ["ntk.repeats=1"]), CPU)
    value3 = three.score_proxies(index)["ntk"].value
    value1 = one.score_proxies(index)["ntk"].value
    # the same network by hand: TE-NAS's C=3, N=1 thin net, three fan-out inits on 10 images
    ctx_seed = ProxyContext(10, CPU, seed=0)
    from nasbench_cli.runtime import derive_seed

    seed = derive_seed(0, "proxy", "ntk", index)
    torch.manual_seed(derive_seed(0, "arch", index))
    net = space.build(index, 10, C=3, N=1).train()
    kappas = []
    for r in range(3):
        kaiming_normal_init(net, "fan_out", seeded_generator(seed, r))
        kappas.append(ntk_mod.ntk_condition(net, batch.inputs[:10]))
    assert value3 == pytest.approx(np.mean(kappas), rel=1e-6)
    assert value1 == pytest.approx(kappas[0], rel=1e-6)
    assert value3 != pytest.approx(value1, rel=1e-3)
    assert ctx_seed.options == {}  # a bare context still works: proxies fall back to defaults
    larger = ArchitectureScorer(space, [spec], batch, 10, settings(["ntk"], ["ntk.network=tenas", "ntk.batch_size=12",
                                                                            "ntk.repeats=1"]), CPU)
    assert larger.score_proxies(index)["ntk"].value != pytest.approx(value1, rel=1e-6)


# ---------------------------------------------------------------- the zero-cost code's network


def _norms(module: nn.Module):
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


def test_zc_variant_structure():
    net = build_nb201(ZERO_READ, 10, variant="zc")
    cells = [m for m in net.cells if isinstance(m, Cell)]
    reductions = [m for m in net.cells if isinstance(m, ResidualReduction)]
    assert len(cells) == 15 and len(reductions) == 2
    for cell in cells:
        for op in cell.modules():
            if isinstance(op, ReLUConvBN):
                assert op[1].bias is not None  # bias=not affine
                assert not op[2].affine and not op[2].track_running_stats and op[2].running_mean is None
    for block in reductions:  # the official block: affine BN with running stats, no conv bias
        assert all(bn.affine and bn.track_running_stats for bn in _norms(block))
        assert all(c.bias is None for c in block.modules() if isinstance(c, nn.Conv2d))
    assert net.stem[1].affine and net.lastact[0].affine
    # without BatchNorm (synflow): cells, stem and head lose theirs, the reductions keep theirs
    bare = build_nb201(ZERO_READ, 10, bn=False, variant="zc")
    assert not any(_norms(c) for c in bare.cells if isinstance(c, Cell))
    assert all(len(_norms(r)) == 2 for r in bare.cells if isinstance(r, ResidualReduction))
    assert isinstance(bare.stem[1], nn.Identity) and isinstance(bare.lastact[0], nn.Identity)
    assert all(op[1].bias is not None for c in bare.cells for op in c.modules() if isinstance(op, ReLUConvBN)
               and isinstance(c, Cell))
    # the official network is unchanged: no bias, affine BN everywhere, none kept without BN
    official = build_nb201(ZERO_READ, 10)
    assert all(c.bias is None for c in official.modules() if isinstance(c, nn.Conv2d))
    assert all(bn.affine and bn.track_running_stats for bn in _norms(official))
    assert not _norms(build_nb201(ZERO_READ, 10, bn=False))
    with pytest.raises(ValueError, match="variant"):
        build_nb201(ZERO_READ, 10, variant="other")


def test_zc_bias_into_zero_variance_bn_inflates_fisher_on_a_net_reading_an_all_zero_node():
    batch = image_batch(n=16, size=8)
    fisher = PROXIES.get("fisher").fn
    ctx = ProxyContext(10, CPU)
    ratios = {}
    for arch in (ZERO_READ, NO_ZERO):
        values = {}
        for variant in ("official", "zc"):
            torch.manual_seed(0)
            values[variant] = fisher(build_nb201(arch, 10, variant=variant, C=4, N=1), batch, ctx)
        ratios[arch] = values["zc"] / values["official"]
    assert ratios[ZERO_READ] > 30
    assert 0.2 < ratios[NO_ZERO] < 5
    # the mechanism: the convolution reading node 1 outputs its bias alone (0 in the official net)
    torch.manual_seed(0)
    zc = build_nb201(ZERO_READ, 10, variant="zc", C=4, N=1).train()
    conv = zc.cells[0].edges[2][1]  # edge 1 -> 2, nor_conv_3x3
    seen = []
    handle = conv.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    per_layer = dict(fisher_per_layer(zc, batch))
    handle.remove()
    assert torch.allclose(seen[0], conv.bias.detach()[None, :, None, None].expand_as(seen[0]))
    others = [float(v.max()) for layer, v in per_layer.items() if layer is not conv]
    assert float(per_layer[conv].max()) > 100 * float(np.median(others))
    torch.manual_seed(0)
    official = build_nb201(ZERO_READ, 10, C=4, N=1).train()
    values = dict(fisher_per_layer(official, batch))
    assert float(values[official.cells[0].edges[2][1]].abs().max()) == 0.0


def test_network_variant_selects_the_build_and_enters_the_key():
    space = create_space("nb201", None)
    index = space.index_of(ZERO_READ)
    spec = PROXIES.get("fisher")
    batch = image_batch(n=16, size=8)
    zc_settings = settings(["fisher"], variant="zc")
    assert score_context(spec, zc_settings).options == "variant=zc"
    assert score_context(PROXIES.get("ntk"), settings(["ntk"], variant="zc")).options == \
        "network=full;repeats=3;variant=zc"
    zc = ArchitectureScorer(space, [spec], batch, 10, zc_settings, CPU)
    official = ArchitectureScorer(space, [spec], batch, 10, settings(["fisher"]), CPU)
    assert dict(zc._variant(spec)[2]) == {"variant": "zc"}
    assert zc.score_proxies(index)["fisher"].value > 30 * official.score_proxies(index)["fisher"].value
    with pytest.raises(UsageError, match="variant"):
        ArchitectureScorer(create_space("nb101", None), [spec], batch, 10,
                           replace(zc_settings, space="nb101"), CPU)


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize("option, expected", [
    ("ntk.foo=1", "valid options: batch_size"),
    ("ntk.repeats=x", "expected an integer"),
    ("ntk.repeats=0", "at least 1"),
    ("ntk.network=big", "full, tenas"),
    ("ntkrepeats=3", "PROXY.OPTION=VALUE"),
    ("ntk.repeats", "PROXY.OPTION=VALUE"),
    ("naswot.batch_size=8", "not scored in this run"),
    ("fisher.repeats=3", "fisher has no option 'repeats'"),
])
def test_bad_proxy_options_are_one_line_usage_errors(tmp_path, option, expected):
    result = CliRunner().invoke(main, ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", "ntk,fisher",
                                       "--n", "1", "--no-store", "--quiet", "--data-dir", str(tmp_path),
                                       "--out", str(tmp_path / "x.csv"), "--proxy-option", option])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()


def test_cli_variant_and_options_reach_key_and_provenance(tmp_path):
    import json

    out, store = tmp_path / "z.csv", tmp_path / "s.sqlite"
    args = ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", "fisher,linear_regions", "--n", "1",
            "--batch-size", "8", "--quiet", "--data-dir", str(tmp_path), "--store", str(store), "--out", str(out),
            "--network-variant", "zc", "--proxy-option", "linear_regions.repeats=1",
            "--proxy-option", "linear_regions.batch_size=40"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "z.csv.provenance.json").read_text())
    assert record["network_variant"] == "zc"
    assert record["proxy_settings"]["linear_regions"]["options"] == {"repeats": 1}
    assert record["proxy_settings"]["linear_regions"]["batch_size"] == 40
    assert record["proxy_settings"]["fisher"]["network"] == {"variant": "zc"}
    assert record["proxy_settings"]["linear_regions"]["network"] == {"C": 1, "N": 1, "depth": 1, "stem": False,
                                                                     "variant": "zc"}
    with ScoreStore(store) as opened:
        keys = {c.proxy: (c.options, c.batch_size) for c, _ in opened.contexts()}
    assert keys == {"fisher": ("variant=zc", 8), "linear_regions": ("repeats=1;variant=zc", 40)}


# ---------------------------------------------------------------- stores written before options


V1_CONTEXTS = """CREATE TABLE contexts (
    id INTEGER PRIMARY KEY,
    space TEXT NOT NULL, dataset TEXT NOT NULL, proxy TEXT NOT NULL,
    batch_size INTEGER NOT NULL, seed INTEGER NOT NULL, head TEXT NOT NULL, split TEXT NOT NULL,
    code_version TEXT NOT NULL, proxy_version TEXT NOT NULL,
    UNIQUE (space, dataset, proxy, batch_size, seed, head, split, code_version, proxy_version))"""


def test_a_layout_1_store_is_migrated_and_its_scores_keep_their_keys(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '1')")
    db.execute(V1_CONTEXTS)
    db.execute("""CREATE TABLE scores (context INTEGER NOT NULL REFERENCES contexts(id), arch_index INTEGER NOT NULL,
        arch TEXT, value REAL, kind INTEGER NOT NULL, seconds REAL, error TEXT, device TEXT, created TEXT NOT NULL,
        PRIMARY KEY (context, arch_index)) WITHOUT ROWID""")
    db.execute("INSERT INTO contexts VALUES (7, 'nb201', 'cifar10', 'fisher', 64, 0, 'dataset', 'train', '0.1.0', '1')")
    db.execute("INSERT INTO scores VALUES (7, 3, 'a', 1.5, 0, 0.1, NULL, 'cpu', 'now')")
    db.commit()
    db.close()
    old_key = ScoreContext("nb201", "cifar10", "fisher", 64, 0, "dataset", "train", "0.1.0", "1")
    with ScoreStore(path) as store:
        assert store.get(old_key, 3).value == 1.5
        zc_key = replace(old_key, options="variant=zc")
        assert store.get(zc_key, 3) is None
        store.put(zc_key, 3, 99.0)
        assert store.get(zc_key, 3).value == 99.0 and store.get(old_key, 3).value == 1.5
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == SCHEMA_VERSION
    with ScoreStore(path) as store:  # opening again changes nothing
        assert {c.options: n for c, n in store.contexts()} == {"": 1, "variant=zc": 1}


def test_meco_scores_the_zc_network_on_nb201_whatever_the_variant():
    # MeCo's NB201 reference numbers come from the zero-cost code's network (reference_build "zc")
    meco = PROXIES.get("meco")
    for name in ("nb201", "nats-tss"):
        space = create_space(name, None)
        for variant in ("official", "zc"):
            run_settings = ScoreSettings(name, "synthetic", ("meco",), 0, None, "auto", "train", {}, variant)
            assert build_options(meco, run_settings, space) == {"variant": "zc"}
    assert build_options(PROXIES.get("fisher"), settings(["fisher"]), create_space("nb201", None)) == {}
    assert build_options(meco, ScoreSettings("nb101", "synthetic", ("meco",), 0, None, "auto", "train"),
                         create_space("nb101", None)) == {}
    scorer = ArchitectureScorer(create_space("nb201", None), [meco], image_batch(), 10, settings(["meco"]), CPU)
    assert dict(scorer._variant(meco)[2]) == {"variant": "zc"}
    assert meco.version != "1"  # scores stored when meco scored the official network are not reused
