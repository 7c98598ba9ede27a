"""`nasbench data status|convert|download`, run through Click's test runner."""

from __future__ import annotations

import json
import io
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from nasbench_cli.commands.data import data
from nasbench_cli.groundtruth import GroundTruth, find_ground_truth

TSS_DIR = "nats/NATS-tss-v1_0-3ffb9-simple"
SSS_DIR = "nats/NATS-sss-v1_0-50262-simple"
ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
         "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]


def _run(arch: str, dataset: str, seed: int, epochs: int, final: float) -> dict:
    """ResultsCount.__dict__ of one trial (cifar10 only: x-valid/ori-test as the benchmark names)."""
    splits = ["ori-test"] if dataset == "cifar10" else ["x-valid", "ori-test"]
    return {"name": dataset, "net_state_dict": None, "train_acc1es": {e: 1.0 for e in range(epochs)},
            "train_acc5es": None, "train_losses": {e: 1.0 for e in range(epochs)},
            "train_times": OrderedDict((e, 2.0) for e in range(epochs)),
            "arch_config": {"channel": 16, "num_cells": 5, "arch_str": arch, "class_num": 10},
            "params": np.float64(0.5), "flop": np.float64(70.0), "seed": seed, "epochs": epochs,
            "latency": [np.float64(0.02)], "eval_names": splits,
            "eval_acc1es": {f"{s}@{e}": np.float64(final if e == epochs - 1 else 1.0)
                            for s in splits for e in range(epochs)},
            "eval_times": {f"{s}@{e}": 0.5 for s in splits for e in range(epochs)},
            "eval_losses": {f"{s}@{e}": 1.0 for s in splits for e in range(epochs)}}


def write_pth(path: Path) -> Path:
    """A one-architecture NAS-Bench-201 .pth (index 1), legacy format with numpy-1 names."""
    def state(epochs, seeds, base):
        results = {(d, s): _run(ARCHS[1], d, s, epochs, base + k + s / 1000)
                   for k, d in enumerate(("cifar10-valid", "cifar10")) for s in seeds}
        return {"arch_index": 1, "arch_str": ARCHS[1], "all_results": results,
                "dataset_seed": {"cifar10-valid": seeds, "cifar10": seeds}, "clear_net_done": True}

    archive = {"meta_archs": ARCHS, "evaluated_indexes": [1],
               "arch2infos": {1: {"less": state(12, [777], 50.0),
                                  "full": state(200, [777, 888, 999], 80.0)}}}
    buffer = io.BytesIO()
    torch.save(archive, buffer, _use_new_zipfile_serialization=False, pickle_protocol=2)
    path.write_bytes(buffer.getvalue().replace(b"cnumpy._core.multiarray\n",
                                               b"cnumpy.core.multiarray\n"))
    return path


def _assert_one_line_error(result, code=None):
    assert result.exit_code != 0 and (code is None or result.exit_code == code), result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output


def test_status_lists_found_and_missing(shared_data):
    result = CliRunner().invoke(data, ["status", "--data-dir", str(shared_data)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"found    NATS-Bench tss archive: {shared_data / TSS_DIR} (folder, 3 architecture" in out
    assert f"found    nb201 ground-truth table: {shared_data / 'nb201' / 'ground_truth.csv'}" in out
    assert f"missing  NAS-Bench-101 tfrecord: {shared_data / 'nb101/nasbench_only108.tfrecord'}" in out
    assert "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord" in out
    assert f"missing  NDS json files: {shared_data / 'nds/*.json'}" in out
    assert str(shared_data / "splits" / "cifar-split.txt") in out
    assert f"found    cifar10: {shared_data / 'cifar-10-batches-py' / 'test_batch'}" in out


def test_status_on_an_empty_dir_from_the_environment(tmp_path):
    (tmp_path / "nds").mkdir()
    (tmp_path / "nds" / "DARTS.json").write_text("[]")
    result = CliRunner().invoke(data, ["status"], env={"NASBENCH_DATA": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert f"Data directory: {tmp_path}" in result.output
    assert f"found    NDS json files: {tmp_path / 'nds' / 'DARTS.json'}" in result.output
    assert "found    NATS" not in result.output and "found    nb201" not in result.output
    assert f"missing  NATS-Bench sss archive: {tmp_path / SSS_DIR}" in result.output


def test_convert_real_nats_tss_dir(shared_data, tmp_path):
    result = CliRunner().invoke(data, ["convert", str(shared_data / TSS_DIR),
                                       "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out_path = tmp_path / "nats-tss" / "ground_truth.csv"
    assert f"Wrote 15625 rows x 34 columns (nats-tss) to {out_path} (3 with results;" in result.output
    assert "Peak memory" in result.output and "MiB" in result.output
    table = find_ground_truth("nats-tss", tmp_path)
    assert table.evaluated_indices == [0, 11, 284] and len(table) == 15625
    assert [table.row(i)["params"] for i in (0, 11, 284)] == [0.129306, 0.802426, 0.101306]
    shared = find_ground_truth("nb201", shared_data)
    assert table.accuracy(11, "cifar10/ori-test@200") == pytest.approx(
        shared.accuracy(11, "cifar10/ori-test@200"), abs=6e-5)


def test_convert_test_written_pth(tmp_path):
    src = write_pth(tmp_path / "NAS-Bench-201-v1_0-e61699.pth")
    out = tmp_path / "out" / "table.csv"
    result = CliRunner().invoke(data, ["convert", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "NAS-Bench-201 .pth archive" in result.output and f"Wrote {len(ARCHS)} rows" in result.output and "(1 with results" in result.output
    table = GroundTruth.read(out)
    row = table.row(1)
    assert row["arch"] == ARCHS[1]
    assert row["cifar10/ori-test@200"] == pytest.approx(81.0 + 0.888)  # mean over 777/888/999
    assert row["cifar10-valid/x-valid@200"] == pytest.approx(80.888)
    assert row["cifar10-valid/x-valid@12"] == pytest.approx(50.777)
    assert row["cifar10/train_time@200"] == pytest.approx(400.0)
    assert row["params"] == 0.5 and row["flops"] == 70.0


def test_convert_pth_to_default_location(tmp_path):
    src = write_pth(tmp_path / "archive.pth")
    result = CliRunner().invoke(data, ["convert", str(src)], env={"NASBENCH_DATA": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert find_ground_truth("nb201", tmp_path).evaluated_indices == [1]


@pytest.mark.parametrize("case", ["absent", "garbage", "truncated pth", "dir without meta",
                                  "wrong space"])
def test_convert_bad_inputs_give_one_line(shared_data, tmp_path, case):
    args = ["convert"]
    if case == "absent":
        args.append(str(tmp_path / "nothing.pth"))
    elif case == "garbage":
        (tmp_path / "x.bin").write_bytes(b"not an archive at all")
        args.append(str(tmp_path / "x.bin"))
    elif case == "truncated pth":
        src = write_pth(tmp_path / "t.pth")
        src.write_bytes(src.read_bytes()[:2000])
        args.append(str(src))
    elif case == "dir without meta":
        (tmp_path / "empty").mkdir()
        args.append(str(tmp_path / "empty"))
    else:
        args += [str(shared_data / SSS_DIR), "--space", "nb201"]
    result = CliRunner().invoke(data, args + ["--data-dir", str(tmp_path / "dd")])
    _assert_one_line_error(result, 2 if case == "wrong space" else 1)
    assert not (tmp_path / "dd").exists()  # nothing written


def test_download_calls_the_dataset_downloader(tmp_path, monkeypatch):
    import nasbench_cli.datasets.download as download_module

    calls = []
    monkeypatch.setattr(download_module, "download_dataset",
                        lambda name, data_dir, progress: calls.append((name, data_dir, progress)))
    result = CliRunner().invoke(data, ["download", "cifar100", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert calls == [("cifar100", tmp_path, True)]


def test_status_names_the_score_store_in_use(tmp_path, monkeypatch):
    """`data status` says which store runs use and why: --store, $NASBENCH_STORE, else the user cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NASBENCH_STORE", raising=False)
    default = tmp_path / "cache" / "nasbench" / "scores.sqlite"
    result = CliRunner().invoke(data, ["status", "--data-dir", str(tmp_path)])
    assert f"Score store: {default} (user cache; not created yet)" in result.output
    result = CliRunner().invoke(data, ["status", "--data-dir", str(tmp_path), "--json"],
                                env={"NASBENCH_STORE": str(tmp_path / "env.sqlite")})
    store = json.loads(result.output)["store"]
    assert store == {"path": str(tmp_path / "env.sqlite"), "origin": "$NASBENCH_STORE", "exists": False, "bytes": None,
                     "score_store": None, "problem": None}
    result = CliRunner().invoke(data, ["status", "--store", str(tmp_path / "mine.sqlite")])
    assert f"Score store: {tmp_path / 'mine.sqlite'} (--store;" in result.output
