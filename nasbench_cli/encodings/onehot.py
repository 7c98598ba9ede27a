"""``onehot``: NB201 / NATS-tss cells as one bit per (edge, operation): 6 edges x 5 operations.

Edges in the arch string's order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3), operations in the
benchmark's order (none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3); exactly one
bit per edge is set. This is the "one-hot per edge" encoding of White et al. (2021) and NASLib.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nasbench_cli.encodings.base import ENCODINGS, Encoding
from nasbench_cli.models.nb201 import OP_NAMES
from nasbench_cli.spaces.nb201 import NUM_EDGES, NUM_NODES, parse_arch

#: (source, target) node of each edge, in arch-string order
EDGES = tuple((src, dst) for dst in range(1, NUM_NODES) for src in range(dst))
COLUMNS = tuple(f"e{src}{dst}:{op}" for src, dst in EDGES for op in OP_NAMES)


def encode_arch(arch: str) -> np.ndarray:
    """The 30 bits of one NB201 arch string."""
    bits = np.zeros((NUM_EDGES, len(OP_NAMES)), dtype=np.float64)
    for edge, op in enumerate(parse_arch(arch)):
        bits[edge, OP_NAMES.index(op)] = 1.0
    return bits.ravel()


def _encode(space, indices: Sequence[int]) -> np.ndarray:
    return np.array([encode_arch(space.arch_str(i)) for i in indices]).reshape(len(indices), len(COLUMNS))


ONEHOT = Encoding("onehot", "one bit per (edge, operation) of the cell: 6 x 5 = 30 bits",
                  spaces=("nb201", "nats-tss"), default_for=("nb201", "nats-tss"), columns=COLUMNS, encoder=_encode)
ENCODINGS.add(ONEHOT.name, ONEHOT)
