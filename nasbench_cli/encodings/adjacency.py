"""``adjacency``: NB101 cells as the upper triangle of a 7-vertex adjacency matrix + one-hot ops.

The pruned spec is embedded in 7 vertices as the space numbers it (``spaces.nb101.embed``):
input first, its interior vertices next, unused padding vertices, output last. Then 21 bits, edge
(i, j) for i < j in row-major order, and for each of the 5 interior vertex slots 3 bits (conv3x3,
conv1x1, maxpool3x3 in the benchmark's order). A padding vertex has no edges and **no op bit set**
(all three zero), so a 5-vertex cell never looks like a 7-vertex one with two unconnected convs.
This is NASLib's ``adjacency_one_hot`` layout for NB101 (White et al., 2021), 36 numbers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nasbench_cli.encodings.base import ENCODINGS, Encoding
from nasbench_cli.nb101.spec import MAX_VERTICES, OPS
from nasbench_cli.spaces.nb101 import EDGES, embed

INTERIOR = MAX_VERTICES - 2
COLUMNS = (*(f"edge{i}{j}" for i, j in EDGES), *(f"v{v}:{op}" for v in range(1, INTERIOR + 1) for op in OPS))


def encode_spec(spec) -> np.ndarray:
    """The 36 numbers of one (pruned) ModelSpec."""
    matrix, _ = embed(spec)
    edges = np.array([matrix[i, j] for i, j in EDGES], dtype=np.float64)
    ops = np.zeros((INTERIOR, len(OPS)), dtype=np.float64)
    for vertex, op in enumerate(spec.ops[1:-1]):  # the pruned spec's interior ops, in embedded order
        ops[vertex, OPS.index(op)] = 1.0
    return np.concatenate([edges, ops.ravel()])


def _encode(space, indices: Sequence[int]) -> np.ndarray:
    return np.array([encode_spec(space.spec(i)) for i in indices]).reshape(len(indices), len(COLUMNS))


ADJACENCY = Encoding("adjacency", "NB101: 21 upper-triangle adjacency bits of the 7-vertex cell + one-hot "
                     "op of each of the 5 interior vertices (padding vertices all zero): 36 numbers",
                     spaces=("nb101",), default_for=("nb101",), columns=COLUMNS, encoder=_encode)
ENCODINGS.add(ADJACENCY.name, ADJACENCY)
