"""What a benchmark says about its search space, in one object the commands read by space.

Every ``SearchSpace`` class carries one :class:`BenchmarkInfo` as its ``benchmark`` attribute: the
datasets its networks are built for, where its compact ground-truth table lives and which official
archive it is converted from, its final-epoch and search-fitness columns, and the network variants
a proxy's reference protocol asks for. ``nasbench data status|convert``, ``score``, ``search`` and
the paper tables read these facts from the space registry instead of lists of space names, so a new
space is its own module(s) plus one registration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from nasbench_cli.errors import UsageError
from nasbench_cli.groundtruth.table import accuracy_column, parse_accuracy_column

#: ``converter(src, out=PATH, space=NAME, progress=BOOL)`` writes a space's compact table at ``out``
#: from an official archive and returns a report with ``path``, ``space``, ``rows``, ``columns`` and
#: ``format.description`` (see :class:`nasbench_cli.groundtruth.convert.ConversionReport`)
Converter = Callable[..., Any]

#: NAS-Bench-201's datasets and the column of each one's final test accuracy (NATS-Bench too)
NB201_DATASETS: Tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
NB201_TEST_SPLITS: Mapping[str, str] = {"cifar10": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}
#: the table dataset whose short-schedule validation accuracy is REA's fitness, per scoring dataset
#: (NB201's reference REA searches CIFAR-10 on its train/valid split, "cifar10-valid")
NB201_FITNESS_DATASETS: Mapping[str, str] = {
    "cifar10": "cifar10-valid", "synthetic": "cifar10-valid", "cifar100": "cifar100",
    "ImageNet16-120": "ImageNet16-120"}


@dataclass(frozen=True)
class BenchmarkFile:
    """A benchmark file or folder: alternatives (relative paths, globs allowed) and its source."""

    label: str
    candidates: Tuple[str, ...]
    source: str


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class BenchmarkInfo:
    """The facts of one benchmark that commands need about its space (see the module docstring).

    Column names follow the compact table (:mod:`nasbench_cli.groundtruth.table`):
    ``<dataset>/<split>@<epochs>``.
    """

    #: datasets whose networks the space builds (``synthetic`` batches fit every space)
    datasets: Tuple[str, ...]
    #: the compact table, relative to the data directory; None where the archive is read directly
    ground_truth_file: Optional[str] = None
    #: how to make the table (shown by ``data status`` when it is missing)
    ground_truth_source: str = ""
    #: the official files the table comes from, or that the space reads directly (NDS json)
    archives: Tuple[BenchmarkFile, ...] = ()
    #: what ``nasbench data convert --space`` calls; None: the space has no converter
    converter: Optional[Converter] = None
    #: the training schedule label of the final accuracies (``200``); None where it varies per
    #: architecture (NDS: each file's ``max_ep``)
    final_epochs: Optional[str] = None
    #: per dataset, the split of the accuracy papers report as its test accuracy
    test_splits: Mapping[str, str] = field(default_factory=dict)
    #: the short schedule whose validation accuracy is a search's default fitness; None: no default
    fitness_epochs: Optional[str] = None
    fitness_split: str = "x-valid"
    #: per scoring dataset, the table dataset of the fitness column
    fitness_datasets: Mapping[str, str] = field(default_factory=dict)
    #: ``build`` options per reference protocol a proxy declares (``ProxySpec.reference_build``),
    #: e.g. NB101: ``{"naswot": {"stem_channels": 16, "init": "naswot"}}``
    reference_builds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.converter is not None and not self.ground_truth_file:
            raise ValueError("a benchmark with a converter needs the ground_truth_file it writes")
        # one info is shared by every instance of a space: keep it read-only
        object.__setattr__(self, "datasets", tuple(self.datasets))
        object.__setattr__(self, "archives", tuple(self.archives))
        object.__setattr__(self, "test_splits", _frozen(self.test_splits))
        object.__setattr__(self, "fitness_datasets", _frozen(self.fitness_datasets))
        object.__setattr__(self, "reference_builds",
                           _frozen({need: _frozen(opts) for need, opts in self.reference_builds.items()}))

    # --- columns ------------------------------------------------------------------------------
    def final_test_column(self, dataset: str) -> str:
        """The accuracy papers report for ``dataset``: its test split after the full schedule,
        e.g. ``cifar100/x-test@200``; UsageError where the benchmark defines none."""
        split = self.test_splits.get(dataset)
        if self.final_epochs is None or split is None:
            known = ", ".join(f"{d}/{s}@{self.final_epochs}" for d, s in self.test_splits.items())
            raise UsageError(f"no final test accuracy is defined for {dataset} in this benchmark"
                             + (f" (final test columns: {known})" if self.final_epochs and known else ""))
        return accuracy_column(dataset, split, self.final_epochs)

    def is_final_column(self, column: str) -> bool:
        """True for an accuracy column after the full training schedule: ``@<final_epochs>``, or,
        where the schedule varies per architecture, the dataset's test split at any epoch."""
        parsed = parse_accuracy_column(column)
        if parsed is None:
            return False
        dataset, split, epochs = parsed
        if self.final_epochs is not None:
            return epochs == self.final_epochs
        return split == self.test_splits.get(dataset)

    def fitness_column(self, dataset: str) -> Optional[str]:
        """A search's default fitness when scoring on ``dataset``: the short-schedule validation
        accuracy, e.g. ``cifar10-valid/x-valid@12`` (NB201's reference REA); None: no default."""
        if self.fitness_epochs is None or dataset not in self.fitness_datasets:
            return None
        return accuracy_column(self.fitness_datasets[dataset], self.fitness_split, self.fitness_epochs)

    @staticmethod
    def time_column(fitness_column: str) -> str:
        """The training time of a fitness column's schedule: ``cifar10-valid/x-valid@12`` ->
        ``cifar10-valid/train_time@12``."""
        dataset, _, rest = fitness_column.partition("/")
        epochs = rest.rpartition("@")[2]
        return f"{dataset}/train_time@{epochs}"

    # --- networks -----------------------------------------------------------------------------
    def reference_build_options(self, need: str) -> Dict[str, Any]:
        """``build`` options for a proxy's reference protocol; {} for "" or one this benchmark
        does not know (its own network is used)."""
        return dict(self.reference_builds.get(need, {})) if need else {}

    # --- files --------------------------------------------------------------------------------
    def ground_truth_path(self, data_dir: Path) -> Optional[Path]:
        """Where the compact table lives under ``data_dir``; None when the space has none."""
        return Path(data_dir) / self.ground_truth_file if self.ground_truth_file else None

    def files(self, space: str) -> Tuple[BenchmarkFile, ...]:
        """The table (labelled with the space's name) and the archives, for ``data status``."""
        table = ()
        if self.ground_truth_file:
            table = (BenchmarkFile(f"{space} ground-truth table", (self.ground_truth_file,),
                                   self.ground_truth_source),)
        return table + self.archives

    def convert(self, src: Path, out: Path, space: str, progress: bool = False) -> Any:
        """Write ``space``'s table at ``out`` from the archive ``src`` (the converter's report)."""
        if self.converter is None:
            raise UsageError(f"{space} has no converter: its table is not made from an archive")
        return self.converter(src, out=out, space=space, progress=progress)
