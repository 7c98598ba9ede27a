"""Each space's benchmark facts (`space.benchmark`), and the commands that read them from the registry."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from nasbench_cli.commands.data import data
from nasbench_cli.workflows.data import benchmark_files, convertible_spaces
from nasbench_cli.errors import UsageError
from nasbench_cli.groundtruth import ground_truth_path
from nasbench_cli.models.nb101 import NASWOT_OPTIONS
from nasbench_cli.proxies import PROXIES
from nasbench_cli.spaces import SPACES, SearchSpace, create_space
from nasbench_cli.spaces.benchmark import BenchmarkInfo

NB201_LIKE = ("nb201", "nats-tss", "nats-sss")
#: every scoring dataset the toolkit has, plus NDS's ImageNet and a name nothing knows
DATASETS = ("cifar10", "cifar100", "ImageNet16-120", "synthetic", "imagenet", "nothing")
#: the default fitness columns `nasbench search` used before the facts moved to the spaces
FITNESS = {"cifar10": "cifar10-valid/x-valid@12", "synthetic": "cifar10-valid/x-valid@12",
           "cifar100": "cifar100/x-valid@12", "ImageNet16-120": "ImageNet16-120/x-valid@12"}


def _builtin_spaces():
    return [name for name in SPACES.names() if SPACES.get(name).__module__.startswith("nasbench_cli.")]


def test_every_space_has_its_facts():
    for name in SPACES.names():
        cls = SPACES.get(name)
        assert isinstance(cls.benchmark, BenchmarkInfo), name
        assert cls.datasets == cls.benchmark.datasets and cls.datasets, name  # class-level alias
        if cls.benchmark.converter is not None:  # convert writes where the space reads
            assert cls.benchmark.ground_truth_path("/d") == ground_truth_path(name, "/d"), name


@pytest.mark.parametrize("name", ["nb201", "nats-tss", "nats-sss", "nb101", "nds-darts", "nds-resnext-a_in"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_fitness_columns_are_those_search_used(name, dataset):
    benchmark = SPACES.get(name).benchmark
    expected = FITNESS.get(dataset) if name in NB201_LIKE else None
    assert benchmark.fitness_column(dataset) == expected
    if expected:
        assert benchmark.time_column(expected) == expected.replace("/x-valid@", "/train_time@")


def test_final_test_columns():
    assert SPACES.get("nb201").benchmark.final_test_column("cifar100") == "cifar100/x-test@200"
    assert SPACES.get("nats-tss").benchmark.final_test_column("cifar10") == "cifar10/ori-test@200"
    assert SPACES.get("nats-sss").benchmark.final_test_column("cifar10") == "cifar10/ori-test@90"
    assert SPACES.get("nats-sss").benchmark.final_test_column("ImageNet16-120") == "ImageNet16-120/x-test@90"
    assert SPACES.get("nb101").benchmark.final_test_column("cifar10") == "cifar10/test@108"
    with pytest.raises(UsageError, match="synthetic.*final test columns: cifar10/ori-test@200"):
        SPACES.get("nb201").benchmark.final_test_column("synthetic")
    with pytest.raises(UsageError, match="no final test accuracy is defined for cifar10"):
        SPACES.get("nds-darts").benchmark.final_test_column("cifar10")  # epochs vary per file


@pytest.mark.parametrize("name, column, final", [
    ("nb201", "cifar10-valid/x-valid@200", True), ("nb201", "cifar100/x-test@12", False),
    ("nats-sss", "cifar10/ori-test@90", True), ("nats-sss", "cifar10/ori-test@200", False),
    ("nb101", "cifar10/test@108", True), ("nb101", "cifar10/test@4", False),
    ("nds-darts", "cifar10/test@100", True), ("nds-darts_in", "imagenet/test@50", True),
    ("nds-darts", "cifar10/valid@100", False), ("nb201", "params", False),
    ("nb201", "cifar10-valid/train_time@200", False),
])
def test_is_final_column(name, column, final):
    assert SPACES.get(name).benchmark.is_final_column(column) is final


def test_reference_builds_follow_the_proxys_declared_need():
    naswot = PROXIES.get("naswot")
    nb101 = create_space("nb101")
    assert nb101.reference_build_options(naswot.reference_build) == NASWOT_OPTIONS
    assert nb101.reference_build_options("") == {} and nb101.reference_build_options("unknown") == {}
    assert create_space("nb201").reference_build_options(naswot.reference_build) == {}
    options = nb101.reference_build_options("naswot")
    options["init"] = "changed"  # a copy: the benchmark's facts stay as they are
    assert nb101.reference_build_options("naswot") == NASWOT_OPTIONS
    assert not hasattr(nb101, "naswot_build_options") and not hasattr(nb101, "build_options")


def test_facts_are_read_only():
    benchmark = SPACES.get("nb101").benchmark
    with pytest.raises(dataclasses.FrozenInstanceError):
        benchmark.final_epochs = "4"  # type: ignore[misc]
    with pytest.raises(TypeError):
        benchmark.reference_builds["naswot"]["init"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        benchmark.test_splits["cifar100"] = "test"  # type: ignore[index]
    with pytest.raises(ValueError, match="ground_truth_file"):
        BenchmarkInfo(datasets=("cifar10",), converter=lambda *a, **k: None)


def test_index_order_is_an_attribute_of_every_space():
    class Plain(SearchSpace):
        def __len__(self):
            return 1

        def arch_str(self, index):
            return "x"

        def index_of(self, text):
            return 0

        def build(self, index, num_classes, bn=True, **options):
            raise NotImplementedError

    assert Plain().index_order == "benchmark" and Plain.datasets == ("cifar10", "cifar100", "ImageNet16-120")
    assert create_space("nb201").index_order.startswith("embedded NB201 table")
    assert "product" in create_space("nats-sss").index_order


def test_nds_registrations_each_have_their_own_facts():
    darts, darts_in = SPACES.get("nds-darts"), SPACES.get("nds-darts_in")
    assert darts.datasets == ("cifar10",) and darts_in.datasets == ("imagenet",)
    assert dict(darts.benchmark.test_splits) == {"cifar10": "test"}
    assert darts.benchmark.archives == darts_in.benchmark.archives  # one release, many spaces
    assert darts.benchmark.converter is None and darts.benchmark.ground_truth_file is None


def test_data_status_lists_each_file_once_from_the_registry():
    files = benchmark_files()
    labels = [item.label for item in files]
    assert len(labels) == len(set(labels))
    for name in ("nb201", "nats-tss", "nats-sss", "nb101"):
        assert f"{name} ground-truth table" in labels
    assert labels.count("NDS json files") == 1
    assert {"NAS-Bench-201 archive (.pth)", "NATS-Bench tss archive", "NATS-Bench sss archive",
            "NAS-Bench-101 tfrecord", "NB201 split: cifar10"} <= set(labels)


def test_convert_choices_are_the_spaces_with_a_converter():
    builtin = [name for name in convertible_spaces() if name in _builtin_spaces()]
    assert builtin == ["nats-sss", "nats-tss", "nb101", "nb201"]
    result = CliRunner().invoke(data, ["convert", "x.pth", "--space", "nds-darts"])
    assert result.exit_code == 2 and "'nds-darts' is not one of" in result.output


def _tfrecord(tmp_path):
    from test_nb101_reader import _good_payloads, _write

    path = tmp_path / "nasbench_only108.tfrecord"
    _write(path, _good_payloads())
    return path


def test_convert_finds_nb101_from_the_file(tmp_path):
    src = _tfrecord(tmp_path)
    result = CliRunner().invoke(data, ["convert", str(src), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "d" / "nb101" / "ground_truth.csv"
    assert f"Read NAS-Bench-101 tfrecord: {src}" in result.output
    assert "Wrote 2 rows x 13 columns (nb101) to " + str(out) in result.output
    space = create_space("nb101", tmp_path / "d")
    assert len(space) == 2 and space.ground_truth().source == out


def test_convert_nb101_under_another_name_and_refuses_a_wrong_space(tmp_path):
    src = _tfrecord(tmp_path)
    renamed = src.rename(tmp_path / "records.bin")
    result = CliRunner().invoke(data, ["convert", str(renamed), "--space", "nb101", "--out",
                                       str(tmp_path / "t.csv")])
    assert result.exit_code == 0 and (tmp_path / "t.csv").is_file(), result.output
    result = CliRunner().invoke(data, ["convert", str(renamed.rename(src)), "--space", "nb201",
                                       "--data-dir", str(tmp_path / "dd")])
    assert result.exit_code == 2 and "cannot give the 'nb201' table (possible: nb101)" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "dd").exists()
