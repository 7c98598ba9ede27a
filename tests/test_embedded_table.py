"""The NB201 table shipped in the package: resolution order, sha256 check, CLI use, packaging."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.errors import DataCorruptError, DataMissingError
from nasbench_cli.groundtruth import GroundTruth, embedded, embedded_ground_truth, find_ground_truth
from nasbench_cli.groundtruth.embedded import EMBEDDED_SHA256, embedded_source, embedded_table_path
from nasbench_cli.spaces import create_space

REPO = Path(__file__).resolve().parents[1]
FINAL = "cifar10/ori-test@200"
SHARED_COLUMNS = ["arch", FINAL, "cifar100/x-test@200", "ImageNet16-120/x-test@200",
                  "cifar10-valid/x-valid@12", "cifar10/ori-test@12", "cifar100/x-valid@12",
                  "cifar100/x-test@12", "ImageNet16-120/x-valid@12", "ImageNet16-120/x-test@12"]
SYNTHETIC = ["score", "--space", "nb201", "--dataset", "synthetic", "--batch-size", "8", "--n", "3",
             "--seed", "2", "--no-store", "--no-timing", "--quiet"]


def _invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def tampered(tmp_path, monkeypatch) -> Path:
    """The package's table with one byte changed, in place of the real one."""
    copy = tmp_path / "pkg" / embedded.EMBEDDED_FILE
    copy.parent.mkdir()
    raw = bytearray(embedded_table_path().read_bytes())
    raw[len(raw) // 2] ^= 0x01
    copy.write_bytes(bytes(raw))
    monkeypatch.setattr(embedded, "embedded_table_path", lambda: copy)
    return copy


# --- the table itself ---------------------------------------------------------------------------------
def test_embedded_table_is_complete_and_named_by_its_digest():
    table = embedded_ground_truth()
    assert len(table) == 15625 and table.indices == list(range(15625))
    assert table.columns == SHARED_COLUMNS
    assert table.source == embedded_source() == f"embedded NB201 table (sha256 {EMBEDDED_SHA256})"
    assert table.arch(1) == ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                             "nor_conv_3x3~1|skip_connect~2|")
    assert table.accuracy(1, FINAL) == pytest.approx(93.66)
    assert embedded_ground_truth() is table  # parsed once per process


def test_embedded_table_equals_the_shared_table_row_for_row(shared_data):
    shared = shared_data / "nb201" / "ground_truth.csv"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent")
    assert gzip.decompress(embedded_table_path().read_bytes()) == shared.read_bytes()
    pd.testing.assert_frame_equal(embedded_ground_truth().frame, GroundTruth.read(shared).frame)


def test_tampered_file_is_refused_naming_it(tampered, tmp_path):
    with pytest.raises(DataCorruptError) as err:
        find_ground_truth("nb201", tmp_path)
    message = str(err.value)
    assert str(tampered) in message and "reinstall" in message and "\n" not in message
    with pytest.raises(DataCorruptError, match="reinstall"):
        create_space("nb201", tmp_path)  # the index order comes from it too


def test_missing_file_says_to_reinstall(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "embedded_table_path", lambda: tmp_path / "gone.csv.gz")
    with pytest.raises(DataMissingError, match="reinstall"):
        find_ground_truth("nats-tss", tmp_path)


def test_tampered_file_stops_score_with_one_line_exit_1(tampered, tmp_path):
    result = _invoke([*SYNTHETIC, "--data-dir", tmp_path, "--out", tmp_path / "s.csv"])
    line = _assert_one_line_error(result, 1)
    assert str(tampered) in line and "sha256" in line and "reinstall" in line
    assert not (tmp_path / "s.csv").exists()


# --- resolution order ---------------------------------------------------------------------------------
def test_resolution_order(tmp_path):
    assert find_ground_truth("nb201", tmp_path).source == embedded_source()
    assert find_ground_truth("nats-tss", None).source == embedded_source()
    assert find_ground_truth("nb201", tmp_path, use_embedded=False) is None
    assert find_ground_truth("nats-sss", tmp_path) is None and find_ground_truth("nb101", tmp_path) is None
    own = tmp_path / "nats-tss" / "ground_truth.csv"
    GroundTruth.from_rows([{"arch_index": 0, "arch": "x", FINAL: 1.0}]).write(own)
    assert find_ground_truth("nats-tss", tmp_path).source == own
    assert find_ground_truth("nb201", tmp_path).source == embedded_source()  # per space


def test_index_order_without_a_listing_is_the_embedded_one(tmp_path):
    table = embedded_ground_truth()
    for name in ("nb201", "nats-tss"):
        space = create_space(name, tmp_path)
        assert space.index_order == embedded_source() and space.order_source is None
        assert [space.arch_str(i) for i in (0, 1, 15624)] == [table.arch(i) for i in (0, 1, 15624)]
        assert space.ground_truth().source == embedded_source()
    assert create_space("nb201").index_order == embedded_source()


def test_shared_data_dir_keeps_its_own_table_and_order(shared_data):
    if not (shared_data / "nb201" / "ground_truth.csv").is_file():
        pytest.skip("the shared data has no nb201 table")
    space = create_space("nb201", shared_data)
    assert space.order_source == shared_data / "nb201" / "ground_truth.csv"
    assert space.ground_truth().source == shared_data / "nb201" / "ground_truth.csv"
    embedded_space = create_space("nb201", None)
    assert all(space.arch_str(i) == embedded_space.arch_str(i) for i in range(0, 15625, 7))


def _modified_table(data_dir: Path) -> Path:
    """The embedded table with every final cifar10 accuracy replaced, as the user's own table."""
    frame = embedded_ground_truth().frame
    frame[FINAL] = [(i % 400) / 4 for i in range(len(frame))]  # unmistakable values, still percentages
    return GroundTruth(frame.reset_index()).write(data_dir / "nb201" / "ground_truth.csv")


def test_user_table_in_the_data_dir_wins(tmp_path):
    path = _modified_table(tmp_path)
    out = tmp_path / "s.csv"
    result = _invoke([*SYNTHETIC, "--data-dir", tmp_path, "--out", out])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 3
    assert list(table[FINAL]) == [(i % 400) / 4 for i in table["index"]]
    embedded_table = embedded_ground_truth()
    assert list(table["cifar100/x-test@200"]) == pytest.approx(
        [embedded_table.accuracy(i, "cifar100/x-test@200") for i in table["index"]])
    record = json.loads((tmp_path / "s.csv.provenance.json").read_text())
    assert record["ground_truth"] == str(path) and record["index_order"] == str(path)


# --- the CLI on a data dir holding only CIFAR-10 ---------------------------------------------------------
def test_cifar10_only_data_dir_gets_accuracies_and_a_correlation(shared_data, tmp_path):
    cifar = shared_data / "cifar-10-batches-py"
    if not cifar.is_dir():
        pytest.skip(f"{cifar} is absent")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "cifar-10-batches-py").symlink_to(cifar, target_is_directory=True)
    out = tmp_path / "c.csv"
    result = _invoke(["score", "--space", "nb201", "--dataset", "cifar10", "--n", "3", "--no-store",
                      "--batch-size", "16", "--quiet", "--data-dir", data_dir, "--out", out])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    truth = embedded_ground_truth()
    assert [c for c in SHARED_COLUMNS[1:] if c not in table.columns] == []
    for _, row in table.iterrows():
        assert row["arch"] == truth.arch(row["index"])
        assert row[FINAL] == pytest.approx(truth.accuracy(row["index"], FINAL))
    record = json.loads((tmp_path / "c.csv.provenance.json").read_text())
    assert record["ground_truth"] == embedded_source() == record["index_order"]

    result = _invoke(["correlate", out, "--target", FINAL, "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert f"naswot  {FINAL}  n=3  tau" in result.output
    assert (tmp_path / "c.correlation.csv").is_file()


def test_data_status_names_the_embedded_table(tmp_path):
    out = _invoke(["data", "status", "--data-dir", tmp_path]).output
    for name in ("nb201", "nats-tss"):
        assert (f"embedded {name} ground-truth table: none at {tmp_path / name / 'ground_truth.csv'}, "
                "the embedded NB201 table is used") in out
    assert "first, else the embedded NB201 table (nats-tss, nb201)" in out
    assert f"ok       {embedded_source()}: {embedded_table_path()}" in out
    assert "missing  nats-sss ground-truth table" in out  # the embedded table does not serve it

    _modified_table(tmp_path)
    out = _invoke(["data", "status", "--data-dir", tmp_path]).output
    assert f"found    nb201 ground-truth table: {tmp_path / 'nb201' / 'ground_truth.csv'}" in out
    assert "embedded nats-tss ground-truth table" in out


def test_data_status_reports_a_damaged_table(tampered, tmp_path):
    result = _invoke(["data", "status", "--data-dir", tmp_path])
    assert result.exit_code == 0, result.output
    assert f"damaged  {tampered}: the embedded NB201 table is damaged" in result.output


# --- packaging --------------------------------------------------------------------------------------------
@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_package_data_ships_the_table():
    import fnmatch
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["nasbench_cli"]
    relative = embedded_table_path().relative_to(REPO / "nasbench_cli").as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), patterns
    assert (embedded_table_path().parent / "README.md").is_file()
