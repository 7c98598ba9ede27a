"""NATS-Bench spaces: index order, strings, and parameter counts equal to the real archives'."""

from __future__ import annotations

import bz2
import itertools
import pickle

import numpy as np
import pytest
import torch

from nasbench_cli.errors import InvalidArchError
from nasbench_cli.spaces import create_space
from nasbench_cli.spaces.nats_sss import FIXED_CELL, WIDTHS, parse_channels

SSS_DIR = "NATS-sss-v1_0-50262-simple"
TSS_DIR = "NATS-tss-v1_0-3ffb9-simple"


def _record(shared_data, space_dir, index):
    path = shared_data / "nats" / space_dir / f"{index:06d}.pickle.pbz2"
    if not path.exists():
        pytest.skip(f"real NATS record {path} absent")
    with bz2.open(path, "rb") as handle:
        return pickle.load(handle)


def _cifar10_results(record_hp):
    key = next(k for k in record_hp["all_results"] if k[0] == "cifar10")
    return record_hp["all_results"][key]


@pytest.mark.parametrize("index, channels, params", [
    (0, "8:8:8:8:8", 0.011714), (11, "8:8:8:16:32", 0.049202), (284, "8:8:40:32:40", 0.144834)])
def test_sss_strings_and_parameter_counts_match_archive(shared_data, index, channels, params):
    record = _record(shared_data, SSS_DIR, index)["90"]
    results = _cifar10_results(record)
    space = create_space("nats-sss", shared_data)
    assert space.arch_str(index) == record["arch_str"] == channels
    assert results["arch_config"]["genotype"] == FIXED_CELL
    net = space.build(index, num_classes=10)
    count = sum(p.numel() for p in net.parameters()) / 1e6
    assert count == pytest.approx(float(results["params"]), abs=1e-6)
    assert count == pytest.approx(params, abs=1e-6)


def test_sss_index_order_is_product_order_and_matches_meta(shared_data):
    space = create_space("nats-sss")
    assert len(space) == 8**5
    assert [space.arch_str(i) for i in range(3)] == ["8:8:8:8:8", "8:8:8:8:16", "8:8:8:8:24"]
    expected = [":".join(map(str, c)) for c in itertools.product(WIDTHS, repeat=5)]
    assert [space.arch_str(i) for i in range(len(space))] == expected
    meta = shared_data / "nats" / SSS_DIR / "meta.pickle.pbz2"
    if meta.exists():
        with bz2.open(meta, "rb") as handle:
            assert list(pickle.load(handle)["meta_archs"]) == expected


@pytest.mark.parametrize("bad, fragment", [("8:8:8:8", "expected 5 widths"), ("8:8:9:8:8", "width 3 is '9'"),
                                           ("8:8:x:8:8", "width 3")])
def test_sss_malformed_strings(bad, fragment):
    with pytest.raises(InvalidArchError, match=fragment):
        parse_channels(bad)


def test_sss_mutation_changes_one_width():
    space = create_space("nats-sss")
    rng = np.random.default_rng(1)
    for _ in range(30):
        child = space.mutate(1000, rng)
        a, b = parse_channels(space.arch_str(1000)), parse_channels(space.arch_str(child))
        assert sum(x != y for x, y in zip(a, b)) == 1


def test_sss_builds_for_imagenet16_resolution():
    space = create_space("nats-sss")
    assert space.build(5, 120)(torch.randn(2, 3, 16, 16)).shape == (2, 120)


def test_tss_order_comes_from_the_archive_meta(shared_data):
    meta = shared_data / "nats" / TSS_DIR / "meta.pickle.pbz2"
    if not meta.exists():
        pytest.skip(f"{meta} absent")
    space = create_space("nats-tss", shared_data)
    with bz2.open(meta, "rb") as handle:
        archs = pickle.load(handle)["meta_archs"]
    assert [space.arch_str(i) for i in (0, 11, 284, 15624)] == [archs[i] for i in (0, 11, 284, 15624)]
    record = _record(shared_data, TSS_DIR, 11)["200"]
    assert space.index_of(record["arch_str"]) == 11
    count = sum(p.numel() for p in space.build(11, 10).parameters()) / 1e6
    assert count == pytest.approx(float(_cifar10_results(record)["params"]), abs=1e-6)


def test_score_rows_carry_the_archive_accuracies_and_params(shared_data, tmp_path):
    """nats-sss records 0, 11, 284 -> converted table -> `nasbench score` rows."""
    from click.testing import CliRunner

    import pandas as pd
    from nasbench_cli.cli import main
    from nasbench_cli.groundtruth import convert_archive

    archive = shared_data / "nats" / SSS_DIR
    if not archive.exists():
        pytest.skip(f"{archive} absent")
    table = convert_archive(archive, out=tmp_path / "sss.csv").path
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, [
        "score", "--space", "nats-sss", "--dataset", "synthetic", "--archs", "-", "--batch-size", "8",
        "--no-store", "--quiet", "--ground-truth", str(table), "--data-dir", str(tmp_path), "--out", str(out)],
        input="0\n11\n284\n")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out).set_index("index")
    for index, params in ((0, 0.011714), (11, 0.049202), (284, 0.144834)):
        record = _record(shared_data, SSS_DIR, index)["90"]
        results = _cifar10_results(record)
        assert rows.loc[index, "benchmark_params"] == pytest.approx(params)
        expected = results["eval_acc1es"][f"ori-test@{results['epochs'] - 1}"]
        assert rows.loc[index, "cifar10/ori-test@90"] == pytest.approx(expected, abs=1e-6)
