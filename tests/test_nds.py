"""NDS: the <Space>.json reader, cell and AnyNet networks (parameter fidelity), the spaces, `nasbench score`.

No NDS files are shipped: each test writes small files in the release's schema. The parameter counts
checked against NDS come from real NDS records, as printed by NNI's NDS query tutorial (job 1 of
Amoeba, 45505 of ResNeXt-A, 108998 of ResNet, 154692 of Vanilla: ``parameters`` = params / 1e6).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.errors import DataCorruptError, DataMissingError, InvalidArchError
from nasbench_cli.models.anynet import AnyNetSpec, build_anynet
from nasbench_cli.models.nds_cells import Genotype, build_cell_network
from nasbench_cli.models.nds_ops import OP_NAMES, make_op
from nasbench_cli.nds import NDS_FILES, load_nds, nds_path, read_nds_table
from nasbench_cli.spaces import SPACES, create_space
from nasbench_cli.spaces import nds as nds_spaces  # noqa: F401  (registers the NDS spaces)

# DARTS-V2 (Liu et al., ICLR 2019), the genotype published with DARTS
DARTS_V2 = {
    "normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 1],
               ["sep_conv_3x3", 1], ["skip_connect", 0], ["skip_connect", 0], ["dil_conv_3x3", 2]],
    "normal_concat": [2, 3, 4, 5],
    "reduce": [["max_pool_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["max_pool_3x3", 1],
               ["max_pool_3x3", 0], ["skip_connect", 2], ["skip_connect", 2], ["max_pool_3x3", 1]],
    "reduce_concat": [2, 3, 4, 5],
}

# real NDS records: net dict -> params
AMOEBA_JOB1 = {
    "aux": False, "depth": 12, "drop_prob": 0.0, "width": 32,
    "genotype": {
        "normal": [["avg_pool_3x3", 0], ["conv_7x1_1x7", 1], ["sep_conv_3x3", 2], ["sep_conv_5x5", 0],
                   ["dil_sep_conv_3x3", 2], ["dil_sep_conv_3x3", 2], ["skip_connect", 4], ["dil_sep_conv_3x3", 4],
                   ["conv_7x1_1x7", 2], ["sep_conv_3x3", 4]],
        "normal_concat": [3, 5, 6],
        "reduce": [["avg_pool_3x3", 0], ["dil_sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 0],
                   ["skip_connect", 2], ["sep_conv_7x7", 0], ["conv_7x1_1x7", 4], ["skip_connect", 4],
                   ["conv_7x1_1x7", 0], ["conv_7x1_1x7", 5]],
        "reduce_concat": [3, 6],
    },
}
RESNEXT_A = {"block_type": "res_bottleneck_block", "bot_muls": [0.0, 0.25, 0.25, 0.25], "ds": [1, 16, 1, 4],
             "num_gs": [1, 2, 1, 2], "ss": [1, 1, 2, 2], "ws": [16, 64, 128, 16]}
RESNET = {"block_type": "res_basic_block", "bot_muls": None, "ds": [1, 12, 12, 12], "num_gs": None,
          "ss": [1, 1, 2, 2], "ws": [16, 24, 24, 40]}
VANILLA = {"block_type": "double_plain_block", "bot_muls": [], "ds": [1, 12, 12, 12], "num_gs": [],
           "ss": [1, 1, 2, 2], "ws": [16, 24, 32, 40]}
REAL_RECORDS = [("Amoeba", AMOEBA_JOB1, 4_190_314), ("ResNeXt-A", RESNEXT_A, 83_002),
                ("ResNet", RESNET, 594_138), ("Vanilla", VANILLA, 689_770)]

DARTS_OPS = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine, OpenMP's waiting threads slow small convs 100x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def job(net: dict, final_error: float = 7.5, params: int = 1000, flops: int = 2000, max_ep: int = 100,
        aux: bool = False) -> dict:
    """One job dict in the NDS release's schema."""
    curve = list(np.linspace(60.0, final_error, max_ep))
    return {"net": net, "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": max_ep, "lr_policy": "cos"},
            "train_ep_top1": curve, "train_ep_loss": [1.0] * max_ep, "test_ep_top1": curve,
            "min_test_top1": min(curve), "params": params, "flops": flops, "rng_seed": 1, "job_id": 7,
            "prec_time": 0.1, "iter_time": 0.05, "exp_mem": 1.0, "act_mem": 1.0}


def random_darts_net(rng: np.random.Generator, width: int = 8, depth: int = 5) -> dict:
    genotype = {}
    for cell in ("normal", "reduce"):
        genotype[cell] = [[DARTS_OPS[rng.integers(len(DARTS_OPS))], int(rng.integers(node + 2))]
                          for node in range(4) for _ in range(2)]
        genotype[f"{cell}_concat"] = [2, 3, 4, 5]
    return {"genotype": genotype, "width": width, "depth": depth, "aux": False, "drop_prob": 0.0}


def write(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.fixture
def darts_dir(tmp_path) -> Path:
    """A data dir whose nds/DARTS.json holds DARTS-V2 and three random DARTS networks."""
    rng = np.random.default_rng(0)
    nets = [{"genotype": DARTS_V2, "width": 8, "depth": 5, "aux": True, "drop_prob": 0.2}]
    nets += [random_darts_net(rng) for _ in range(3)]
    jobs = []
    for i, net in enumerate(nets):
        params = count(build_cell_network(Genotype.from_dict(net["genotype"]), 8, 5, 10, aux=net["aux"]))
        jobs.append(job(net, final_error=5.0 + i, params=params, flops=10_000 + i))
    write(tmp_path / "nds" / "DARTS.json", jobs)
    return tmp_path


# --- reader --------------------------------------------------------------------------------------
def test_reader_keeps_position_accuracy_and_costs(tmp_path):
    path = write(tmp_path / "nds" / "ResNet.json",
                 [job(RESNET, 6.51, 594_138, 184_519_578), job(VANILLA, 15.65, 689_770, 208_363_930)])
    data = load_nds(path)
    assert [e.accuracy for e in data.entries] == pytest.approx([93.49, 84.35])
    assert [e.params for e in data.entries] == [594_138, 689_770]
    assert [e.flops for e in data.entries] == [184_519_578, 208_363_930]
    assert json.loads(data.entries[1].arch) == VANILLA
    frame = read_nds_table(path)
    assert list(frame.columns) == ["arch_index", "arch", "cifar10/test@100", "params", "flops"]
    assert frame["arch_index"].tolist() == [0, 1]
    assert frame["params"].tolist() == pytest.approx([0.594138, 0.689770])  # millions, as table.py says
    assert frame["arch"][0] == json.dumps(RESNET, sort_keys=True, separators=(",", ":"))


def test_reruns_file_is_top_then_mid_whatever_the_key_order(tmp_path):
    top = [job(RESNET, 5.0), job(VANILLA, 6.0)]
    mid = [job(RESNEXT_A, 9.0)]
    # mid first in the file: the index order must still be top, then mid
    text = '{"mid": %s,\n "top": %s}' % (json.dumps(mid), json.dumps(top))
    path = write(tmp_path / "nds" / "ResNet_reruns.json", text)
    data = load_nds(path)
    assert [e.accuracy for e in data.entries] == pytest.approx([95.0, 94.0, 91.0])
    assert json.loads(data.entries[2].arch) == RESNEXT_A


def test_imagenet_files_and_mixed_schedules_get_their_columns(tmp_path):
    path = write(tmp_path / "nds" / "DARTS_in.json",
                 [job(AMOEBA_JOB1, 30.0, max_ep=50), job(AMOEBA_JOB1, 25.0, max_ep=100)])
    frame = load_nds(path).frame()
    assert list(frame.columns) == ["arch_index", "arch", "imagenet/test@100", "imagenet/test@50", "params", "flops"]
    assert math.isnan(frame["imagenet/test@100"][0]) and frame["imagenet/test@50"][0] == pytest.approx(70.0)
    truth = load_nds(path).ground_truth()
    assert truth.accuracy_columns == ["imagenet/test@100", "imagenet/test@50"]
    assert truth.accuracy(1, "imagenet/test@100") == pytest.approx(75.0)


def test_file_is_read_once_and_again_when_replaced(tmp_path):
    path = write(tmp_path / "nds" / "ResNet.json", [job(RESNET, 5.0)])
    first = load_nds(path)
    assert load_nds(path) is first
    write(path, [job(RESNET, 5.0), job(VANILLA, 6.0)])
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert len(load_nds(path).entries) == 2


def test_missing_file_names_the_expected_path(tmp_path):
    with pytest.raises(DataMissingError) as err:
        load_nds(nds_path(tmp_path, "DARTS"))
    message = str(err.value)
    assert str(tmp_path / "nds" / "DARTS.json") in message and "data.zip" in message


def test_unzipped_release_folder_is_found(tmp_path):
    path = write(tmp_path / "nds_data" / "ENAS.json", [job(RESNET)])
    assert nds_path(tmp_path, "ENAS") == path


@pytest.mark.parametrize("content, fragment", [
    ('[{"net": {"block_type": "res_basic_block"}', "not a valid NDS JSON file"),
    ("[" + json.dumps(job(RESNET)) + ", ", "not a valid NDS JSON file"),
    ("[" + json.dumps(job(RESNET)), "unterminated list"),
    ("{\"top\": []}", "'mid'"),
    ("[1, 2]", "job 0 is a int"),
    ("[]", "no jobs"),
    ("[" + json.dumps(job(RESNET)) + "] trailing", "extra data"),
    ("", "empty file"),
])
def test_broken_json_names_the_file(tmp_path, content, fragment):
    path = write(tmp_path / "nds" / "PNAS.json", content)
    with pytest.raises(DataCorruptError) as err:
        load_nds(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


@pytest.mark.parametrize("drop, fragment", [
    ("test_ep_top1", "lacks test_ep_top1"), ("net", "lacks net"), ("params", "lacks params"),
])
def test_missing_keys_name_file_job_and_key(tmp_path, drop, fragment):
    jobs = [job(RESNET), job(VANILLA)]
    del jobs[1][drop]
    path = write(tmp_path / "nds" / "Vanilla.json", jobs)
    with pytest.raises(DataCorruptError) as err:
        load_nds(path)
    assert str(path) in str(err.value) and "job 1" in str(err.value) and fragment in str(err.value)


def test_nan_final_error_is_a_missing_accuracy(tmp_path):
    diverged = job(VANILLA)
    diverged["test_ep_top1"][-1] = float("nan")
    path = write(tmp_path / "nds" / "Vanilla.json", [job(RESNET, 5.0), diverged])
    truth = load_nds(path).ground_truth()
    assert truth.accuracy(0, "cifar10/test@100") == pytest.approx(95.0)
    assert truth.accuracy(1, "cifar10/test@100") is None


def test_non_numeric_curve_is_corrupt(tmp_path):
    bad = job(RESNET)
    bad["test_ep_top1"][-1] = "n/a"
    path = write(tmp_path / "nds" / "ResNet.json", [bad])
    with pytest.raises(DataCorruptError, match="test_ep_top1"):
        load_nds(path)


# --- cell networks -------------------------------------------------------------------------------
def test_darts_v2_parameter_count_matches_the_darts_code():
    genotype = Genotype.from_dict(DARTS_V2)
    # DARTS's train.py logs "param size = 3.349342MB" (auxiliary head excluded) for C=36, 20 cells
    assert count(build_cell_network(genotype, 36, 20, 10)) == 3_349_342
    # the auxiliary head sits on 4 x 144 = 576 channels: 1x1 conv to 128 + BN, 2x2 conv to 768 + BN, linear
    aux = 576 * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * 10 + 10
    assert count(build_cell_network(genotype, 36, 20, 10, aux=True)) == 3_349_342 + aux


def test_tiny_cell_networks_by_hand():
    zero = [["none", 0], ["none", 1]]
    genotype = Genotype.from_dict({"normal": zero, "normal_concat": [2], "reduce": zero, "reduce_concat": [2]})
    # depth 1: the only cell is a reduction cell (index 0 = depth // 3), C = 4 -> 8 channels
    # CIFAR: stem 3->12 (324 + BN 24), preprocess0/1 ReLU-1x1 12->8 + BN (96 + 16 each), linear 8->1 (9)
    assert count(build_cell_network(genotype, 4, 1, 1)) == 324 + 24 + 2 * (96 + 16) + 9
    # ImageNet: stem0 3->2 (54 + 4), 2->4 (72 + 8); stem1 4->4 (144 + 8); preprocess0 factorized
    # reduce 4->8 (two 1x1 4->4 + BN 16), preprocess1 1x1 4->8 + BN; linear 8->1
    assert count(build_cell_network(genotype, 4, 1, 1, imagenet=True)) == 54 + 4 + 72 + 8 + 144 + 8 + 48 + 48 + 9


def test_cell_networks_run_on_cifar_and_imagenet_inputs():
    genotype = Genotype.from_dict(AMOEBA_JOB1["genotype"])
    torch.manual_seed(0)
    net = build_cell_network(genotype, 8, 5, 1)
    assert net(torch.randn(3, 3, 32, 32)).shape == (3, 1)
    net_in = build_cell_network(genotype, 8, 5, 7, imagenet=True)
    assert net_in(torch.randn(2, 3, 64, 64)).shape == (2, 7)


@pytest.mark.parametrize("name", OP_NAMES)
@pytest.mark.parametrize("stride", [1, 2])
def test_every_operation_keeps_channels_and_applies_the_stride(name, stride):
    out = make_op(name, 6, stride)(torch.randn(2, 6, 8, 8))
    assert out.shape == (2, 6, 8 // stride, 8 // stride)


@pytest.mark.parametrize("change, fragment", [
    (lambda g: g["normal"].__setitem__(0, ["conv_9x9", 0]), "unknown operation 'conv_9x9'"),
    (lambda g: g["normal"].__setitem__(2, ["skip_connect", 4]), "input 4"),
    (lambda g: g["reduce"].pop(), "two per node"),
    (lambda g: g.__setitem__("normal_concat", [2, 9]), "normal_concat"),
    (lambda g: g.pop("reduce"), "lacks reduce"),
])
def test_malformed_genotypes_say_what_is_wrong(change, fragment):
    genotype = json.loads(json.dumps(DARTS_V2))
    change(genotype)
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        Genotype.from_dict(genotype)


# --- AnyNet --------------------------------------------------------------------------------------
@pytest.mark.parametrize("net, expected", [
    # stem 3->4 conv + BN = 108 + 8; stage 1: 4->8, w_b = 4, 2 groups: proj 32 + 16, 1x1 16 + 8,
    # grouped 3x3 4*4*9/2 = 72 + 8, 1x1 32 + 16; stage 2: 8->16 stride 2, w_b = 4, 4 groups: proj 128 + 32,
    # 1x1 32 + 8, 3x3 36 + 8, 1x1 64 + 32; head 16*10 + 10
    ({"block_type": "res_bottleneck_block", "ds": [1, 1, 1], "ws": [4, 8, 16], "ss": [1, 1, 2],
      "bot_muls": [0.0, 0.5, 0.25], "num_gs": [1, 2, 4]},
     116 + (32 + 16 + 16 + 8 + 72 + 8 + 32 + 16) + (128 + 32 + 32 + 8 + 36 + 8 + 64 + 32) + 170),
    # stage 1: two 4->4 basic blocks, no projection: 2 x (144 + 8) each; stage 2: 4->8 stride 2 with
    # projection 32 + 16, 3x3 288 + 16, 3x3 576 + 16; head 8*10 + 10
    ({"block_type": "res_basic_block", "ds": [1, 2, 1], "ws": [4, 4, 8], "ss": [1, 1, 2]},
     116 + 2 * 2 * (144 + 8) + (32 + 16 + 288 + 16 + 576 + 16) + 90),
    # plain blocks: 4->6 (216 + 12, 324 + 12), 6->8 (432 + 16, 576 + 16)
    ({"block_type": "double_plain_block", "ds": [1, 1, 1], "ws": [4, 6, 8], "ss": [1, 1, 2]},
     116 + (216 + 12 + 324 + 12) + (432 + 16 + 576 + 16) + 90),
])
def test_small_anynets_by_hand(net, expected):
    model = build_anynet(AnyNetSpec.from_dict(net), 10)
    assert count(model) == expected
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("family, net, params", REAL_RECORDS)
def test_parameter_counts_equal_real_nds_records(family, net, params):
    built = nds_spaces.build_nds_network(net, 10, aux=True)
    assert count(built) == params, family


def test_imagenet_anynet_swaps_in_the_7x7_stem():
    spec = AnyNetSpec.from_dict(RESNET)
    # stem conv 3x3 (3*16*9 = 432) becomes 7x7 (3*16*49 = 2352); the max pool has no weights
    assert count(build_anynet(spec, 10, imagenet=True)) == 594_138 - 432 + 2352
    assert build_anynet(spec, 3, imagenet=True)(torch.randn(2, 3, 64, 64)).shape == (2, 3)


def test_anynet_uses_pycls_initialisation():
    torch.manual_seed(0)
    model = build_anynet(AnyNetSpec.from_dict(RESNET), 10)
    assert float(model.fc.weight.detach().std()) == pytest.approx(0.01, rel=0.2)
    assert float(model.fc.bias.detach().abs().max()) == 0.0
    conv = model.stem[0]
    fan_out = 3 * 3 * conv.out_channels
    assert float(conv.weight.detach().std()) == pytest.approx(math.sqrt(2.0 / fan_out), rel=0.25)


@pytest.mark.parametrize("change, fragment", [
    ({"num_gs": [1, 3, 1, 2]}, "divisible by 3 groups"),
    ({"ds": [2, 16, 1, 4]}, "stem"),
    ({"block_type": "inverted_block"}, "unknown AnyNet block_type"),
    ({"ws": [16, 64]}, "one entry per stage"),
    ({"bot_muls": None}, "needs bot_muls"),
])
def test_malformed_anynet_configs_say_what_is_wrong(change, fragment):
    with pytest.raises(ValueError, match=fragment):
        AnyNetSpec.from_dict({**RESNEXT_A, **change})


# --- spaces --------------------------------------------------------------------------------------
def test_one_space_per_release_file():
    names = {f"nds-{stem.lower()}" for stem in NDS_FILES}
    assert len(NDS_FILES) == 34 and names <= set(SPACES.names())
    assert SPACES.get("nds-darts").datasets == ("cifar10",)
    assert SPACES.get("nds-resnext-a_in").datasets == ("imagenet",)


def test_space_indexes_builds_and_counts_like_the_file(darts_dir):
    space = create_space("nds-darts", darts_dir)
    assert len(space) == 4
    for index in range(len(space)):
        assert count(space.build(index, 10, aux=True)) == space.entry(index).params
    # scoring builds drop the auxiliary head; the network still returns logits only
    assert count(space.build(0, 10)) < space.entry(0).params
    assert space.build(0, 1)(torch.randn(2, 3, 32, 32)).shape == (2, 1)
    text = space.arch_str(2)
    reordered = json.dumps(dict(reversed(list(json.loads(text).items()))), indent=2)
    assert space.index_of(reordered) == 2 and space.parse_ref("3") == 3
    assert space.ground_truth().accuracy(1, "cifar10/test@100") == pytest.approx(94.0)


def test_real_records_rebuilt_through_their_spaces(tmp_path):
    for family, net, params in REAL_RECORDS:
        write(tmp_path / "nds" / f"{family}.json", [job(net, params=params)])
        space = create_space(f"nds-{family.lower()}", tmp_path)
        assert count(space.build(0, 10, aux=True)) == params


def test_space_errors(tmp_path, darts_dir):
    with pytest.raises(DataMissingError, match="ENAS.json"):
        create_space("nds-enas", tmp_path)
    space = create_space("nds-darts", darts_dir)
    with pytest.raises(InvalidArchError, match="not in"):
        space.index_of(json.dumps({"genotype": DARTS_V2, "width": 99, "depth": 5}))
    with pytest.raises(InvalidArchError, match="JSON"):
        space.index_of("sep_conv_3x3")
    broken = json.loads(space.arch_str(1))
    broken["genotype"]["normal"][0][0] = "conv_9x9"
    write(tmp_path / "nds" / "PNAS.json", [job(broken)])
    with pytest.raises(DataCorruptError, match=r"PNAS.json: job 0 .*conv_9x9"):
        create_space("nds-pnas", tmp_path).build(0, 1)


# --- nasbench score ------------------------------------------------------------------------------
def test_score_command_runs_on_an_nds_file(darts_dir, tmp_path):
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["score", "--space", "nds-darts", "--dataset", "synthetic", "--batch-size", "8",
                                       "--n", "2", "--data-dir", str(darts_dir), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 2 and table["index"].between(0, 3).all()
    assert table["naswot"].map(math.isfinite).all()
    space = create_space("nds-darts", darts_dir)
    assert [space.arch_str(i) for i in table["index"]] == table["arch"].tolist()
    # the NDS file's accuracies (100 - final error) join the rows, so `correlate` can use them
    assert table["cifar10/test@100"].tolist() == pytest.approx([95.0 - i for i in table["index"]])


def test_correlate_works_on_nds_scores(darts_dir, tmp_path):
    out = tmp_path / "scores.csv"
    args = ["score", "--space", "nds-darts", "--dataset", "synthetic", "--batch-size", "8", "--all",
            "--data-dir", str(darts_dir), "--out", str(out), "--quiet", "--no-store"]
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(main, ["correlate", str(out), "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    corr = pd.read_csv(tmp_path / "scores.correlation.csv")
    assert corr["target"].tolist() == ["cifar10/test@100"] and corr["n"].tolist() == [4]


def test_score_refuses_imagenet_space_on_cifar(tmp_path):
    write(tmp_path / "nds" / "DARTS_in.json", [job(AMOEBA_JOB1)])
    result = CliRunner().invoke(main, ["score", "--space", "nds-darts_in", "--dataset", "cifar10", "--n", "1",
                                       "--data-dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 2 and "no networks for dataset cifar10" in result.output
