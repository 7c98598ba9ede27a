"""A benchmark search space opened on a data directory, for the Python API (``nb.open_space``):
its architectures, their networks as the scorer builds them, and their ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from nasbench_cli.errors import UsageError
from nasbench_cli.options import POSITIVE, SEED

PathLike = Union[str, Path]
ArchRef = Union[int, str]


# --- spaces -----------------------------------------------------------------------------------------
class Space:
    """One benchmark search space opened on a data directory (``open_space`` makes it).

    >>> bench = open_space("nb201")
    >>> len(bench)
    15625
    >>> bench.index(bench.arch(42))
    42
    """

    def __init__(self, space, data_dir: Path):
        #: the underlying ``nasbench_cli.spaces.SearchSpace``
        self.raw = space
        self.data_dir = Path(data_dir)
        self._truth = None

    @property
    def name(self) -> str:
        return self.raw.name

    def __len__(self) -> int:
        return len(self.raw)

    def __repr__(self) -> str:
        return f"Space({self.name!r}, {len(self)} architectures, data_dir={str(self.data_dir)!r})"

    def arch(self, index: int) -> str:
        """The benchmark's string of architecture ``index``."""
        return self.raw.arch_str(self._check_index(index))

    def index(self, arch: ArchRef) -> int:
        """The index of an architecture string (a decimal index is checked and returned)."""
        return self.raw.parse_ref(str(arch))

    def sample(self, n: int, seed: int = 0) -> List[int]:
        """``n`` distinct indices drawn as ``nasbench score --n N --seed SEED`` draws them.

        >>> open_space("nb201").sample(3, seed=0) == open_space("nb201").sample(3, seed=0)
        True
        """
        from nasbench_cli.selection import select_indices

        return select_indices(self.raw, SEED.check(seed, "seed"), POSITIVE.check(n, "n"))

    def build(self, index: ArchRef, dataset: str = "cifar10", num_classes: Optional[int] = None, bn: bool = True,
              seed: Optional[int] = None, **options: Any):
        """The untrained network of an architecture, as the benchmark trained it: the space's
        official network with ``dataset``'s classes (``num_classes`` overrides) and BatchNorm.

        ``seed``: initialise the weights as `nasbench score --seed SEED` does for this
        architecture (torch's global generator is seeded with ``derive_seed(seed, "arch", index)``);
        None leaves torch's generator as it is. ``options``: the space's build options (e.g.
        ``C=1, N=1`` for NB201's thin network; ``space.raw.build_option_names`` lists them).

        >>> net = open_space("nb201").build(0, num_classes=1, seed=0)  # NASWOT's 1-unit head
        """
        import torch

        from nasbench_cli.datasets import get_dataset
        from nasbench_cli.runtime import derive_seed

        i = self._check_index(self.index(index) if isinstance(index, str) else index)
        classes = (POSITIVE.check(num_classes, "num_classes") if num_classes is not None
                   else get_dataset(dataset).num_classes)
        unknown = sorted(set(options) - set(self.raw.build_option_names))
        if unknown:
            raise UsageError(f"{self.name} has no build option {', '.join(unknown)}; options: "
                             f"{', '.join(self.raw.build_option_names) or 'none'}")
        for key, value in options.items():  # widths and depths: a negative one builds nonsense
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and not value > 0:
                raise UsageError(f"build option {key} must be positive, got {value!r}")
        if seed is not None:
            seed = SEED.check(seed, "seed")
            torch.manual_seed(derive_seed(seed, "arch", i))
        return self.raw.build(i, classes, bn=bn, **options)

    def truth(self, index: ArchRef) -> Dict[str, Optional[float]]:
        """Accuracy columns (``<dataset>/<split>@<epochs>``) of one architecture; None for an empty cell."""
        table = self._ground_truth()
        i = self._check_index(self.index(index) if isinstance(index, str) else index)
        return table.accuracies(i)

    def truth_frame(self):
        """The whole ground-truth table as a DataFrame indexed by ``arch_index`` (a copy)."""
        return self._ground_truth().frame

    def _ground_truth(self):
        if self._truth is None:
            from nasbench_cli.errors import DataMissingError
            from nasbench_cli.groundtruth import ground_truth_path

            self._truth = self.raw.ground_truth()
            if self._truth is None:
                raise DataMissingError(
                    f"no {self.name} ground truth: expected {ground_truth_path(self.name, self.data_dir)} "
                    f"(`nasbench data convert ARCHIVE --data-dir {self.data_dir}` writes it)")
        return self._truth

    def _check_index(self, index: int) -> int:
        from nasbench_cli.errors import InvalidArchError

        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self):
            raise InvalidArchError(f"{self.name}: index {index!r} is out of range 0..{len(self) - 1}")
        return int(index)


def open_space(name: str, data_dir: Optional[PathLike] = None) -> Space:
    """Open search space ``name`` (``nasbench spaces`` lists them) on a data directory.

    ``data_dir``: as ``--data-dir``; None means ``$NASBENCH_DATA``, else the user cache. A directory
    named here or in ``$NASBENCH_DATA`` that does not exist is a DataDirMissingError at once, not a
    puzzling failure at the first score.

    >>> bench = open_space("nb201", data_dir="../shared/data")
    >>> bench.arch(0)
    '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|'
    """
    from nasbench_cli.paths import resolve_data_dir
    from nasbench_cli.spaces import SPACES, create_space

    SPACES.get(name)  # unknown: UnknownNameError listing the valid names
    root = resolve_data_dir(data_dir, must_exist=True, given_as="open_space(data_dir=...)")
    return Space(create_space(name, root), root)
