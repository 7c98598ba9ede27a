"""Ground truth: the compact table, the NB201 .pth reader and the NATS-Bench archive reader."""

from __future__ import annotations

import bz2
import io
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import torch

from nasbench_cli.errors import DataCorruptError, DataMissingError, InvalidArchError, UsageError
from nasbench_cli.groundtruth import (
    GroundTruth,
    archive_table,
    convert_archive,
    find_ground_truth,
    parse_accuracy_column,
)
from nasbench_cli.groundtruth.safe_load import allow_numpy_in_torch_load, load_torch_archive

TSS_DIR = "nats/NATS-tss-v1_0-3ffb9-simple"
SSS_DIR = "nats/NATS-sss-v1_0-50262-simple"
REAL_INDICES = [0, 11, 284]
# formats.md: cifar10 parameter counts (M) of the real records
TSS_PARAMS = {0: 0.129306, 11: 0.802426, 284: 0.101306}
SSS_PARAMS = {0: 0.011714, 11: 0.049202, 284: 0.144834}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
SPLITS = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
          "cifar100": ("x-valid", "x-test", "ori-test"),
          "ImageNet16-120": ("x-valid", "x-test", "ori-test")}


# --- writing a small NAS-Bench-201 .pth in the official layout ---------------------------------------
def _final_acc(index: int, dataset: str, split: str, seed: int, epochs: int) -> float:
    """A distinct, made-up final accuracy per (arch, dataset, split, seed, schedule)."""
    return 40.0 + index + list(CLASSES).index(dataset) * 3.1 + len(split) * 0.7 + seed / 1000 \
        + epochs / 10


def _params(index: int, dataset: str) -> float:
    return 0.1 + index / 100 + CLASSES[dataset] / 10000


def _run(arch: str, index: int, dataset: str, seed: int, epochs: int) -> dict:
    """ResultsCount.__dict__ of one trial, numpy float64 scalars where the real files have them."""
    splits = SPLITS[dataset]
    last = epochs - 1
    return {
        "name": dataset, "net_state_dict": None,
        "train_acc1es": {e: 10.0 + e for e in range(epochs)}, "train_acc5es": None,
        "train_losses": {e: 2.0 - e / epochs for e in range(epochs)},
        "train_times": OrderedDict((e, np.float64(1.5 + index)) for e in range(epochs)),
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": arch,
                        "class_num": CLASSES[dataset]},
        "params": np.float64(_params(index, dataset)), "flop": np.float64(10.0 + index),
        "seed": seed, "epochs": epochs, "latency": [np.float64(0.01)],
        "eval_names": list(splits),
        "eval_acc1es": {f"{s}@{e}": np.float64(
            _final_acc(index, dataset, s, seed, epochs) if e == last else 5.0 + e)
            for s in splits for e in range(epochs)},
        "eval_times": {f"{s}@{e}": 0.25 for s in splits for e in range(epochs)},
        "eval_losses": {f"{s}@{e}": 1.0 for s in splits for e in range(epochs)},
    }


def _arch_results(arch: str, index: int, epochs: int, seeds: Dict[str, List[int]]) -> dict:
    """ArchResults state: arch_index, arch_str, all_results, dataset_seed, clear_net_done."""
    return {"arch_index": index, "arch_str": arch,
            "all_results": {(d, s): _run(arch, index, d, s, epochs)
                            for d, ss in seeds.items() for s in ss},
            "dataset_seed": {d: list(ss) for d, ss in seeds.items()}, "clear_net_done": True}


NB201_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]
FULL_SEEDS = {d: [777, 888, 999] for d in CLASSES}
LESS_SEEDS = {"cifar10-valid": [111, 777], "cifar10": [111], "cifar100": [111],
              "ImageNet16-120": [111]}


def nb201_archive(evaluated=(0, 2)) -> dict:
    return {"meta_archs": list(NB201_ARCHS),
            "arch2infos": {i: {"less": _arch_results(NB201_ARCHS[i], i, 12, LESS_SEEDS),
                               "full": _arch_results(NB201_ARCHS[i], i, 200, FULL_SEEDS)}
                           for i in evaluated},
            "evaluated_indexes": list(evaluated)}


def write_nb201_pth(path: Path, archive: dict, numpy1_names: bool = True) -> Path:
    """torch.save the archive; like the 2020 files, in the legacy format with numpy-1 names."""
    if not numpy1_names:
        torch.save(archive, path)
        return path
    buffer = io.BytesIO()
    torch.save(archive, buffer, _use_new_zipfile_serialization=False, pickle_protocol=2)
    raw = buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"numpy.core.multiarray\nscalar" in raw  # the scalars really are in the file
    path.write_bytes(raw)
    return path


def _expected_acc(index: int, dataset: str, split: str, epochs: int, seeds) -> float:
    return sum(_final_acc(index, dataset, split, s, epochs) for s in seeds) / len(seeds)


# --- the compact table --------------------------------------------------------------------------------
def test_shared_table_reads_and_rewrites_byte_for_byte(shared_data):
    path = shared_data / "nb201" / "ground_truth.csv"
    table = GroundTruth.read(path)
    assert len(table) == 15625 and table.source == path
    assert table.accuracy_columns[:3] == [
        "cifar10/ori-test@200", "cifar100/x-test@200", "ImageNet16-120/x-test@200"]
    assert "cifar10-valid/x-valid@12" in table.accuracy_columns
    assert table.to_csv_text() == path.read_text()
    assert table.arch(0).startswith("|avg_pool_3x3~0|+|nor_conv_1x1~0|")
    row = table.row(11)
    assert row["arch_index"] == 11 and row["cifar10/ori-test@200"] == pytest.approx(91.5833)
    assert set(table.accuracies(11)) == set(table.accuracy_columns)


def test_from_rows_orders_columns_and_formats_floats_stably(tmp_path):
    rows = [
        {"cifar10-valid/train_time@12": 86.5, "flops": 15.6, "arch": "b", "arch_index": 7,
         "cifar100/params": 0.8082759999999999, "params": np.float64(0.802426),
         "cifar10/ori-test@12": 69.55, "cifar100/x-test@200": 52.9, "zz_note": "x",
         "cifar10-valid/x-valid@200": 81.98266665690103},
        {"arch_index": 2, "arch": "a", "cifar10/ori-test@12": float("nan")},
    ]
    table = GroundTruth.from_rows(rows)
    text = table.to_csv_text()
    header, first, second = text.splitlines()
    assert header.split(",") == [
        "arch_index", "arch", "cifar10-valid/x-valid@200", "cifar100/x-test@200",
        "cifar10/ori-test@12", "params", "flops", "cifar100/params",
        "cifar10-valid/train_time@12", "zz_note"]
    assert first == "2,a,,,,,,,,"  # rows sorted by index, NaN written as an empty cell
    assert second == "7,b,81.9826666569,52.9,69.55,0.802426,15.6,0.808276,86.5,x"
    out = table.write(tmp_path / "t" / "gt.csv")
    assert out.read_bytes() == text.encode()
    again = GroundTruth.read(out)
    assert again.to_csv_text() == text
    assert again.row(2)["cifar10/ori-test@12"] is None
    assert again.accuracy(7, "cifar100/x-test@200") == 52.9


def test_lookup_of_unknown_rows_and_columns(shared_data):
    table = GroundTruth.read(shared_data / "nb201" / "ground_truth.csv")
    assert 15624 in table and 15625 not in table and "x" not in table
    assert table.lookup(15625) is None
    with pytest.raises(InvalidArchError, match="15625"):
        table.row(15625)
    with pytest.raises(InvalidArchError, match="cifar10/ori-test@200"):
        table.accuracy(0, "cifar10/ori-test@90")


def test_column_names():
    assert parse_accuracy_column("cifar10-valid/x-valid@200") == ("cifar10-valid", "x-valid", "200")
    assert parse_accuracy_column("ImageNet16-120/x-test@01") == ("ImageNet16-120", "x-test", "01")
    assert parse_accuracy_column("cifar10-valid/train_time@12") is None
    assert parse_accuracy_column("params") is None


@pytest.mark.parametrize("content, problem", [
    ("arch,cifar10/ori-test@200\nx,90.0\n", "no 'arch_index' column"),
    ("arch_index,arch,cifar10/ori-test@200\n0,x,90.0\n1,y,ninety\n", "non-numeric value 'ninety'"),
    ("arch_index,arch,params\n0,x,0.1\n0,y,0.2\n", "appears twice"),
    ("arch_index,arch\n0.5,x\n", "non-integer"),
    ("", "not a readable CSV"),
])
def test_damaged_table_names_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "nb201" / "ground_truth.csv"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(DataCorruptError) as err:
        find_ground_truth("nb201", tmp_path)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_find_ground_truth_convention(tmp_path, shared_data):
    assert find_ground_truth("nats-sss", tmp_path) is None
    assert find_ground_truth("nats-tss", tmp_path, use_embedded=False) is None
    table = find_ground_truth("nb201", shared_data)
    assert table is not None and table.source == shared_data / "nb201" / "ground_truth.csv"
    with pytest.raises(DataMissingError):
        GroundTruth.read(tmp_path / "absent.csv")


# --- NAS-Bench-201 .pth ---------------------------------------------------------------------------------
def test_nb201_pth_needs_the_numpy_allowlist_and_keeps_it_scoped(tmp_path):
    path = write_nb201_pth(tmp_path / "NAS-Bench-201-v1_0-e61699.pth", nb201_archive())
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    with allow_numpy_in_torch_load():
        loaded = torch.load(path, weights_only=True)
    assert isinstance(loaded["arch2infos"][0]["full"]["all_results"][("cifar10", 777)]["params"],
                      np.float64)
    names = [str(g) for g in torch.serialization.get_safe_globals()]
    assert not any("scalar" in name or "dtype" in name.lower() for name in names)


@pytest.mark.parametrize("numpy1_names", [True, False])
def test_nb201_pth_table_values(tmp_path, numpy1_names):
    path = write_nb201_pth(tmp_path / "nb201.pth", nb201_archive(), numpy1_names)
    table = archive_table(path)
    assert table.evaluated_indices == [0, 2] and len(table) == len(NB201_ARCHS)
    assert table.arch(2) == NB201_ARCHS[2]
    for index in (0, 2):
        row = table.row(index)
        for dataset, splits in SPLITS.items():
            for split in splits:
                assert row[f"{dataset}/{split}@200"] == pytest.approx(
                    _expected_acc(index, dataset, split, 200, FULL_SEEDS[dataset]))
                assert row[f"{dataset}/{split}@12"] == pytest.approx(
                    _expected_acc(index, dataset, split, 12, LESS_SEEDS[dataset]))
            assert row[f"{dataset}/train_time@200"] == pytest.approx(200 * (1.5 + index))
            assert row[f"{dataset}/train_time@12"] == pytest.approx(12 * (1.5 + index))
        assert row["params"] == pytest.approx(_params(index, "cifar10"))
        assert row["cifar100/params"] == pytest.approx(_params(index, "cifar100"))
        assert row["ImageNet16-120/flops"] == pytest.approx(10.0 + index)


@pytest.mark.parametrize("numpy1_names", [True, False])
def test_fast_loader_matches_torch_weights_only(tmp_path, numpy1_names):
    path = write_nb201_pth(tmp_path / "nb201.pth", nb201_archive(evaluated=(1,)), numpy1_names)
    with allow_numpy_in_torch_load():
        reference = torch.load(path, weights_only=True)
    loaded = load_torch_archive(path)
    assert loaded == reference
    run = loaded["arch2infos"][1]["full"]["all_results"][("cifar100", 888)]
    assert isinstance(run["params"], np.float64) and isinstance(run["train_times"], OrderedDict)


def test_files_with_tensors_go_through_torch_weights_only(tmp_path):
    archive = nb201_archive(evaluated=(2,))
    run = archive["arch2infos"][2]["full"]["all_results"][("cifar10", 777)]
    run["net_state_dict"] = OrderedDict(w=torch.arange(6.0).reshape(2, 3))
    path = write_nb201_pth(tmp_path / "with_weights.pth", archive)
    loaded = load_torch_archive(path)
    weights = loaded["arch2infos"][2]["full"]["all_results"][("cifar10", 777)]["net_state_dict"]
    assert torch.equal(weights["w"], torch.arange(6.0).reshape(2, 3))
    assert archive_table(path).row(2)["cifar10/ori-test@200"] == pytest.approx(
        _expected_acc(2, "cifar10", "ori-test", 200, FULL_SEEDS["cifar10"]))


class _Foreign:
    """Not on any allow-list: a file pickling it must be refused, not executed."""


@pytest.mark.parametrize("damage", ["truncated", "missing key", "foreign global",
                                    "foreign global with tensor"])
def test_damaged_nb201_pth_names_the_file(tmp_path, damage):
    path = tmp_path / "broken.pth"
    if damage == "truncated":
        write_nb201_pth(path, nb201_archive())
        path.write_bytes(path.read_bytes()[:3000])
    elif damage == "missing key":
        archive = nb201_archive()
        del archive["evaluated_indexes"]
        write_nb201_pth(path, archive)
    elif damage == "foreign global":
        torch.save({"meta_archs": [], "arch2infos": {}, "evaluated_indexes": [],
                    "x": _Foreign()}, path)
    else:  # the same, with a tensor: refused by torch's own weights-only loader
        torch.save({"meta_archs": [], "arch2infos": {}, "evaluated_indexes": [],
                    "t": torch.zeros(2), "x": _Foreign()}, path)
    with pytest.raises(DataCorruptError) as err:
        archive_table(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    if damage.startswith("foreign global"):
        assert "_Foreign" in str(err.value)


# --- NATS-Bench ------------------------------------------------------------------------------------------
def _load_bz2(path: Path):
    with bz2.open(path, "rb") as handle:
        return pickle.load(handle)


def _hand_accuracies(record: dict) -> Dict[str, float]:
    """Accuracy columns computed by hand from a raw record: mean over seeds of the last epoch."""
    out = {}
    for hp, state in record.items():
        for dataset, seeds in state["dataset_seed"].items():
            runs = [state["all_results"][(dataset, s)] for s in seeds]
            for split in runs[0]["eval_names"]:
                finals = [r["eval_acc1es"][f"{split}@{r['epochs'] - 1}"] for r in runs]
                out[f"{dataset}/{split}@{hp}"] = sum(finals) / len(finals)
    return out


@pytest.mark.parametrize("folder, hps, params", [
    (TSS_DIR, ("12", "200"), TSS_PARAMS), (SSS_DIR, ("01", "12", "90"), SSS_PARAMS)])
def test_real_nats_records(shared_data, folder, hps, params):
    table = archive_table(shared_data / folder)
    assert table.evaluated_indices == REAL_INDICES
    meta = _load_bz2(shared_data / folder / "meta.pickle.pbz2")
    assert {parse_accuracy_column(c)[2] for c in table.accuracy_columns} == set(hps)
    for index in REAL_INDICES:
        record = _load_bz2(shared_data / folder / f"{index:06d}.pickle.pbz2")
        expected = _hand_accuracies(record)
        row = table.row(index)
        assert set(expected) == set(table.accuracy_columns)
        for column, value in expected.items():
            assert row[column] == pytest.approx(value, abs=1e-9), column
        assert row["arch"] == meta["meta_archs"][index]
        assert row["params"] == pytest.approx(params[index], abs=1e-9)
        run = next(iter(record[hps[-1]]["all_results"].values()))
        assert row["cifar10-valid/train_time@" + hps[-1]] > 0 and run["train_times"]


def test_nats_tss_agrees_with_the_shared_nb201_table(shared_data):
    nats = archive_table(shared_data / TSS_DIR)
    nb201 = GroundTruth.read(shared_data / "nb201" / "ground_truth.csv")
    for index in REAL_INDICES:
        assert nats.arch(index) == nb201.arch(index)
        for column in nb201.accuracy_columns:  # the shared table is rounded to 4 decimals
            assert nats.accuracy(index, column) == pytest.approx(
                nb201.accuracy(index, column), abs=6e-5), (index, column)


def _single_file(shared_data: Path, folder: str, out: Path) -> Path:
    meta = _load_bz2(shared_data / folder / "meta.pickle.pbz2")
    records = {i: _load_bz2(shared_data / folder / f"{i:06d}.pickle.pbz2") for i in REAL_INDICES}
    archive = dict(meta, arch2infos=records, evaluated_indexes=set(REAL_INDICES))
    with bz2.open(out, "wb", compresslevel=1) as handle:
        pickle.dump(archive, handle, protocol=4)
    return out


@pytest.mark.parametrize("folder, name", [(TSS_DIR, "NATS-tss-v1_0-3ffb9.pickle.pbz2"),
                                          (SSS_DIR, "NATS-sss-v1_0-50262.pickle.pbz2")])
def test_single_file_archive_matches_fast_mode_dir(shared_data, tmp_path, folder, name):
    path = _single_file(shared_data, folder, tmp_path / name)
    assert archive_table(path).to_csv_text() == archive_table(shared_data / folder).to_csv_text()


def test_single_file_with_unknown_space_needs_space(shared_data, tmp_path):
    path = _single_file(shared_data, SSS_DIR, tmp_path / "archive.pickle.pbz2")
    with pytest.raises(UsageError, match="--space"):
        archive_table(path)
    assert archive_table(path, space="nats-sss").evaluated_indices == REAL_INDICES


def _copy_dir(shared_data: Path, folder: str, dest: Path, indices=REAL_INDICES) -> Path:
    dest.mkdir()
    (dest / "meta.pickle.pbz2").write_bytes((shared_data / folder / "meta.pickle.pbz2").read_bytes())
    for i in indices:
        name = f"{i:06d}.pickle.pbz2"
        (dest / name).write_bytes((shared_data / folder / name).read_bytes())
    return dest


def test_fast_dir_damage_names_the_file(shared_data, tmp_path):
    no_meta = _copy_dir(shared_data, TSS_DIR, tmp_path / "NATS-tss-v1_0-3ffb9-simple")
    (no_meta / "meta.pickle.pbz2").unlink()
    with pytest.raises(DataCorruptError, match=str(no_meta / "meta.pickle.pbz2")):
        archive_table(no_meta)

    truncated = _copy_dir(shared_data, SSS_DIR, tmp_path / "sss")
    record = truncated / "000011.pickle.pbz2"
    record.write_bytes(record.read_bytes()[:5000])
    with pytest.raises(DataCorruptError) as err:
        archive_table(truncated)
    assert str(record) in str(err.value)

    empty = _copy_dir(shared_data, SSS_DIR, tmp_path / "meta-only", indices=[])
    with pytest.raises(DataMissingError, match="no architecture results"):
        archive_table(empty)


def test_truncated_single_file_names_the_file(shared_data, tmp_path):
    path = _single_file(shared_data, TSS_DIR, tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2")
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(DataCorruptError, match=str(path)):
        archive_table(path)


def test_sss_record_without_times_still_gives_accuracies(shared_data, tmp_path):
    """Official get_more_info fails on such records; the converter must not."""
    import nats_bench

    folder = _copy_dir(shared_data, SSS_DIR, tmp_path / "NATS-sss-v1_0-50262-simple", [11])
    record_path = folder / "000011.pickle.pbz2"
    record = _load_bz2(record_path)
    expected = _hand_accuracies(record)
    for state in record.values():
        for key, run in state["all_results"].items():
            run["train_times"] = None
            if key[0] == "cifar100":  # incomplete eval times: the official getter raises
                run["eval_times"].pop(next(iter(run["eval_times"])))
            else:
                run["eval_times"] = {}
    with bz2.open(record_path, "wb", compresslevel=1) as handle:
        pickle.dump(record, handle)

    api = nats_bench.create(str(folder), "sss", fast_mode=True, verbose=False)
    with pytest.raises(TypeError):
        api.get_more_info(11, "cifar10", hp="12", is_random=False)

    table = archive_table(folder)
    row = table.row(11)
    for column, value in expected.items():
        assert row[column] == pytest.approx(value, abs=1e-9), column
    assert row["params"] == pytest.approx(SSS_PARAMS[11])
    assert not any("train_time" in c for c in table.columns)


def test_convert_writes_default_path_and_refuses_wrong_space(shared_data, tmp_path):
    report = convert_archive(shared_data / TSS_DIR, data_dir=tmp_path)
    assert report.path == tmp_path / "nats-tss" / "ground_truth.csv" and report.rows == 15625
    assert find_ground_truth("nats-tss", tmp_path).evaluated_indices == REAL_INDICES
    report = convert_archive(shared_data / TSS_DIR, data_dir=tmp_path, space="nb201")
    assert report.path == tmp_path / "nb201" / "ground_truth.csv"
    with pytest.raises(UsageError, match="nats-sss"):
        convert_archive(shared_data / SSS_DIR, data_dir=tmp_path, space="nb201")
