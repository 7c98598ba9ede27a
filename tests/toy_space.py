"""A toy search space registered from outside the package: 36 tiny conv nets, no data files.

Importing this module registers the space ``toy`` (once, under whichever name the module is
imported). Architecture = (depth, width, kernel, skip) from the choices below, index = position in
``itertools.product`` order, string e.g. ``d2-w8-k3-skip``. Networks: a stem conv, ``depth - 1``
more convs (with a residual add for ``skip``), each followed by a ReLU, global average pooling and
a linear classifier; they accept any image of at least 1x1 pixels and build in about a millisecond.

Its benchmark is made up but deterministic: :func:`ground_truth_rows` gives a final test accuracy
``cifar10/test@20``, a short-schedule validation accuracy ``cifar10/valid@5`` (a search's default
fitness), its training time ``cifar10/train_time@5`` and ``params``. :func:`write_ground_truth`
puts the table where the space looks for it; :func:`write_archive` writes a JSON "official archive"
that ``nasbench data convert ARCHIVE --space toy`` turns into the same table.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from torch import nn

from nasbench_cli.errors import DataCorruptError, InvalidArchError
from nasbench_cli.groundtruth import ArchiveFormat, ConversionReport, GroundTruth
from nasbench_cli.spaces import SPACES, BenchmarkFile, BenchmarkInfo, SearchSpace

NAME = "toy"
DEPTHS = (1, 2, 3)
WIDTHS = (2, 4, 8)
KERNELS = (1, 3)
SKIPS = ("plain", "skip")
CHOICES: Tuple[Tuple[Any, ...], ...] = (DEPTHS, WIDTHS, KERNELS, SKIPS)
TABLE = f"{NAME}/ground_truth.csv"
ARCHIVE = f"{NAME}/toy_results.json"
FINAL, FITNESS, TIME = "cifar10/test@20", "cifar10/valid@5", "cifar10/train_time@5"

Arch = Tuple[int, int, int, str]


def format_arch(arch: Arch) -> str:
    depth, width, kernel, skip = arch
    return f"d{depth}-w{width}-k{kernel}-{skip}"


def parse_arch(text: str) -> Arch:
    """``d2-w8-k3-skip`` -> (2, 8, 3, "skip"); InvalidArchError says which part is wrong."""
    parts = text.strip().split("-")
    if len(parts) != 4:
        raise InvalidArchError(f"malformed toy architecture '{text}': expected d<depth>-w<width>-k<kernel>-plain|skip")
    try:
        arch = (int(parts[0].removeprefix("d")), int(parts[1].removeprefix("w")), int(parts[2].removeprefix("k")),
                parts[3])
    except ValueError:
        raise InvalidArchError(f"malformed toy architecture '{text}': depth, width and kernel are integers") from None
    for value, allowed in zip(arch, CHOICES):
        if value not in allowed:
            raise InvalidArchError(f"toy architecture '{text}': {value} is not one of {allowed}")
    return arch  # type: ignore[return-value]


def convert_toy_archive(src: Path, out: Path, space: str = NAME, progress: bool = False) -> ConversionReport:
    """The toy's converter: its JSON archive (arch -> [test, valid, seconds, params]) -> table."""
    try:
        results = json.loads(Path(src).read_text())
        rows = [{"arch_index": ToySpace.index_of_arch(parse_arch(arch)), "arch": arch, FINAL: values[0],
                 FITNESS: values[1], TIME: values[2], "params": values[3]} for arch, values in results.items()]
    except (OSError, ValueError, TypeError, IndexError, AttributeError, InvalidArchError) as err:
        raise DataCorruptError(f"{src}: not a toy results archive ({err})") from None
    table = GroundTruth.from_rows(rows, source=src)
    path = table.write(out)
    return ConversionReport(path=path, space=space, format=ArchiveFormat("toy results archive", Path(src), None),
                            rows=len(table), columns=["arch_index", *table.columns])


class ToySpace(SearchSpace):
    """Toy space: 36 tiny conv nets (depth x width x kernel x skip), for tests."""

    name = NAME
    benchmark = BenchmarkInfo(
        datasets=("cifar10",),
        ground_truth_file=TABLE,
        ground_truth_source="`nasbench data convert <toy archive> --space toy` (tests/toy_space.py)",
        archives=(BenchmarkFile("toy results archive", (ARCHIVE,), "tests/toy_space.py: write_archive()"),),
        converter=convert_toy_archive,
        final_epochs="20",
        test_splits={"cifar10": "test"},
        fitness_epochs="5",
        fitness_split="valid",
        fitness_datasets={"cifar10": "cifar10", "synthetic": "cifar10"},
    )
    _archs: List[Arch] = list(itertools.product(*CHOICES))  # type: ignore[arg-type]

    @classmethod
    def index_of_arch(cls, arch: Arch) -> int:
        return cls._archs.index(arch)

    def __len__(self) -> int:
        return len(self._archs)

    def arch_str(self, index: int) -> str:
        return format_arch(self._archs[index])

    def index_of(self, text: str) -> int:
        return self.index_of_arch(parse_arch(text))

    def build(self, index: int, num_classes: int, bn: bool = True, **options: Any) -> nn.Module:
        depth, width, kernel, skip = self._archs[index]
        return ToyNet(depth, width, kernel, skip == "skip", num_classes, bn)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """Change one of the four choices to a different value."""
        arch = list(self._archs[index])
        k = int(rng.integers(len(CHOICES)))
        others = [value for value in CHOICES[k] if value != arch[k]]
        arch[k] = others[int(rng.integers(len(others)))]
        return self.index_of_arch(tuple(arch))  # type: ignore[arg-type]


class ToyNet(nn.Module):
    """conv-(BN)-ReLU, then ``depth - 1`` conv-(BN)-ReLU blocks (residual when ``skip``), pool, linear."""

    def __init__(self, depth: int, width: int, kernel: int, skip: bool, num_classes: int, bn: bool):
        super().__init__()
        self.skip = skip
        self.stem = self._block(3, width, kernel, bn)
        self.blocks = nn.ModuleList(self._block(width, width, kernel, bn) for _ in range(depth - 1))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    @staticmethod
    def _block(c_in: int, c_out: int, kernel: int, bn: bool) -> nn.Sequential:
        layers: List[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=not bn)]
        if bn:
            layers.append(nn.BatchNorm2d(c_out))
        return nn.Sequential(*layers, nn.ReLU())

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x) if self.skip else block(x)
        return self.head(x)


def ground_truth_rows() -> List[Dict[str, Any]]:
    """The made-up benchmark: deeper, wider, 3x3 and residual nets are better (exact in binary)."""
    rows = []
    space = ToySpace()
    for index, (depth, width, kernel, skip) in enumerate(ToySpace._archs):
        quality = 4 * DEPTHS.index(depth) + 3 * WIDTHS.index(width) + 2 * KERNELS.index(kernel) + SKIPS.index(skip)
        params = sum(p.numel() for p in space.build(index, 10).parameters())
        rows.append({"arch_index": index, "arch": format_arch((depth, width, kernel, skip)),
                     FINAL: 60.0 + 1.5 * quality, FITNESS: 40.0 + quality + 0.25 * (index % 3),
                     TIME: 60.0 * depth + 2.0 * width, "params": params / 1e6})
    return rows


def write_ground_truth(data_dir: Path, indices: Optional[List[int]] = None) -> Path:
    """The toy's compact table at ``<data_dir>/toy/ground_truth.csv`` (only ``indices`` if given)."""
    rows = [row for row in ground_truth_rows() if indices is None or row["arch_index"] in indices]
    return GroundTruth.from_rows(rows).write(Path(data_dir) / TABLE)


def write_archive(data_dir: Path) -> Path:
    """The toy's "official archive" (JSON) at ``<data_dir>/toy/toy_results.json``."""
    path = Path(data_dir) / ARCHIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({row["arch"]: [row[FINAL], row[FITNESS], row[TIME], row["params"]]
                                for row in ground_truth_rows()}))
    return path


if NAME not in SPACES:  # importable as `toy_space` and `tests.toy_space`: register once
    SPACES.add(NAME, ToySpace)
