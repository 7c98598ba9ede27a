"""The search-space interface: architectures, their indices and strings, and their networks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
from torch import nn

from nasbench_cli.registry import Registry
from nasbench_cli.spaces.benchmark import NB201_DATASETS, BenchmarkInfo


class _BenchmarkDatasets:
    """``space.datasets`` (on the class too): the datasets of the space's ``benchmark``."""

    def __get__(self, obj: Optional["SearchSpace"], owner: type) -> Tuple[str, ...]:
        return (owner if obj is None else obj).benchmark.datasets


class SearchSpace(ABC):
    """A benchmark's set of architectures.

    Architectures are referred to by their benchmark index (an int) wherever the benchmark has one;
    ``arch_str`` gives the benchmark's own string form. Spaces that need files (an archive listing
    the architectures) receive the data directory when created. What the benchmark says about the
    space (datasets, ground-truth table, final and fitness columns, reference builds) is the class
    attribute ``benchmark``.
    """

    #: registry name, e.g. "nb201"
    name: str = ""
    #: the benchmark's facts about this space (see nasbench_cli.spaces.benchmark)
    benchmark: BenchmarkInfo = BenchmarkInfo(datasets=NB201_DATASETS)
    #: datasets whose networks this space can build (``benchmark.datasets``)
    datasets = _BenchmarkDatasets()

    #: keyword options ``build`` understands (a proxy asking for others cannot apply to this space)
    build_option_names: Sequence[str] = ()

    #: True where every ReLU of every network of the space provably lies on an input-output path
    #: (NB201: the `none` edge multiplies by zero and stays in the graph), so NASWOT need not
    #: search the autograd graph for them
    relus_on_path: bool = False

    def __init__(self, data_dir: Optional[Path] = None):
        self.data_dir = data_dir

    @property
    def index_order(self) -> str:
        """What an index means (recorded in provenance); spaces read from files say which."""
        return "benchmark"

    @abstractmethod
    def __len__(self) -> int:
        """Number of architectures."""

    def all_indices(self) -> range:
        """Every architecture's index (``--all``); a space that cannot list its members (NB101
        without its table) raises a UsageError saying what it needs."""
        return range(len(self))

    @abstractmethod
    def arch_str(self, index: int) -> str:
        """The benchmark's string for architecture ``index``."""

    @abstractmethod
    def index_of(self, text: str) -> int:
        """The index of an architecture string; raises InvalidArchError saying what is wrong."""

    def parse_ref(self, text: str) -> int:
        """An index from a user's reference: a decimal index or an architecture string."""
        from nasbench_cli.errors import InvalidArchError

        text = text.strip()
        if text.isdigit():
            index = int(text)
            if not 0 <= index < len(self):
                raise InvalidArchError(
                    f"{self.name}: index {index} is out of range 0..{len(self) - 1}"
                )
            return index
        return self.index_of(text)

    def sample(self, rng: np.random.Generator, n: int, replace: bool = False) -> list:
        """``n`` indices drawn uniformly (without replacement unless asked)."""
        if not replace and n > len(self):
            from nasbench_cli.errors import UsageError

            raise UsageError(f"{self.name} has {len(self)} architectures; cannot sample {n}")
        return [int(i) for i in rng.choice(len(self), size=n, replace=replace)]

    @abstractmethod
    def build(self, index: int, num_classes: int, bn: bool = True, **options: Any) -> nn.Module:
        """The untrained PyTorch network of architecture ``index``; ``forward`` returns logits."""

    def reference_build_options(self, need: str) -> Dict[str, Any]:
        """Extra ``build`` options for the reference protocol a proxy declares
        (``ProxySpec.reference_build``, e.g. the NASWOT authors' reduced NB101 network); {} for ""
        or a protocol this benchmark does not know (its own network is used)."""
        return self.benchmark.reference_build_options(need)

    def ground_truth(self):
        """Benchmark accuracies keyed by this space's indices (a GroundTruth), or None when the
        data directory has no table for it (`nasbench data convert` writes one)."""
        path = self.benchmark.ground_truth_path(Path(self.data_dir)) if self.data_dir is not None else None
        if path is None or not path.is_file():
            return None
        from nasbench_cli.groundtruth import GroundTruth

        return GroundTruth.read(path)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """A neighbour of ``index`` (for evolutionary search)."""
        raise NotImplementedError(f"{self.name} has no mutation operator")


SPACES: "Registry[type]" = Registry("space")
