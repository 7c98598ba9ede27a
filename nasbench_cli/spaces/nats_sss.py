"""NATS-Bench size space (sss): 32,768 channel configurations of one fixed cell."""

from __future__ import annotations

import itertools
from typing import Any, Dict, List, Tuple

import numpy as np
from torch import nn

from nasbench_cli.errors import InvalidArchError
from nasbench_cli.groundtruth.convert import convert_archive
from nasbench_cli.models.nb201 import build_cell_network, parse_genotype
from nasbench_cli.spaces.base import SPACES, SearchSpace
from nasbench_cli.spaces.benchmark import (
    NB201_DATASETS,
    NB201_FITNESS_DATASETS,
    NB201_TEST_SPLITS,
    BenchmarkFile,
    BenchmarkInfo,
)
from nasbench_cli.spaces.nats_tss import NATS_URL

WIDTHS: Tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
#: the cell every sss network uses (the archives' `genotype` field)
FIXED_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

BENCHMARK = BenchmarkInfo(
    datasets=NB201_DATASETS,
    ground_truth_file="nats-sss/ground_truth.csv",
    ground_truth_source="`nasbench data convert <NATS sss archive>`",
    archives=(BenchmarkFile("NATS-Bench sss archive",
                            ("nats/NATS-sss-v1_0-50262-simple", "nats/NATS-sss-v1_0-50262.pickle.pbz2"),
                            f"{NATS_URL}; then `nasbench data convert <archive>`"),),
    converter=convert_archive,
    final_epochs="90",
    test_splits=NB201_TEST_SPLITS,
    fitness_epochs="12",
    fitness_datasets=NB201_FITNESS_DATASETS,
)


def parse_channels(text: str) -> Tuple[int, ...]:
    """'8:16:32:48:64' -> (8, 16, 32, 48, 64); InvalidArchError says which part is wrong."""
    parts = text.strip().split(":")
    if len(parts) != NUM_LAYERS:
        raise InvalidArchError(
            f"malformed NATS-sss architecture '{text}': expected {NUM_LAYERS} widths joined by ':', found {len(parts)}"
        )
    widths = []
    for position, part in enumerate(parts, start=1):
        if not part.isdigit() or int(part) not in WIDTHS:
            raise InvalidArchError(
                f"malformed NATS-sss architecture '{text}': width {position} is '{part}', "
                f"expected one of {', '.join(map(str, WIDTHS))}"
            )
        widths.append(int(part))
    return tuple(widths)


@SPACES.register("nats-sss")
class NATSSizeSpace(SearchSpace):
    """NATS-Bench size search space: 32,768 width choices for 5 layers (Dong et al., TPAMI 2021)."""

    name = "nats-sss"
    benchmark = BENCHMARK
    index_order = "itertools.product of the 8 widths over 5 layers (the archive's order)"

    def __init__(self, data_dir=None):
        super().__init__(data_dir)
        self._configs: List[Tuple[int, ...]] = list(itertools.product(WIDTHS, repeat=NUM_LAYERS))
        self._index: Dict[Tuple[int, ...], int] = {c: i for i, c in enumerate(self._configs)}

    def __len__(self) -> int:
        return len(self._configs)

    def arch_str(self, index: int) -> str:
        return ":".join(map(str, self._configs[index]))

    def index_of(self, text: str) -> int:
        return self._index[parse_channels(text)]

    def build(self, index: int, num_classes: int, bn: bool = True, **options: Any) -> nn.Module:
        return build_cell_network(parse_genotype(FIXED_CELL), self._configs[index], num_classes, bn)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """Change one layer's width to a different choice."""
        config = list(self._configs[index])
        layer = int(rng.integers(NUM_LAYERS))
        config[layer] = [w for w in WIDTHS if w != config[layer]][int(rng.integers(len(WIDTHS) - 1))]
        return self._index[tuple(config)]
