"""NAS-Bench-101 module specifications: validity, pruning, and the benchmark's module hash.

A module is a DAG of at most 7 vertices given by an upper-triangular 0/1 adjacency matrix and one
operation per vertex (``input`` first, ``output`` last). Vertices that are not on an
input-to-output path do not change the computation; they are pruned before the spec is checked
against the space's limits and before hashing, exactly as the benchmark does, so every spec of
the same computation has the same hash as the benchmark's record.

String form (``arch_str``): ``<adjacency bits>|<operations>``, the adjacency of the *pruned* spec
as a row-major '0'/'1' string of length V*V and its operations comma-joined, i.e. the benchmark's
own ``raw_adjacency`` and ``raw_operations`` fields joined by '|'. Example (the Inception-like
cell of the benchmark's README)::

    0111010000000100000010000100000000100000010000000|input,conv1x1-bn-relu,conv3x3-bn-relu,
    conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,output   (one line; hash 28cfc787...)
"""

from __future__ import annotations

import hashlib
from typing import List, Optional, Sequence, Tuple

import numpy as np

from nasbench_cli.errors import InvalidArchError

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: interior operations, in the benchmark's canonical order (their hash labels are 0, 1, 2)
OPS: Tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: short names accepted when parsing strings typed by users
OP_ALIASES = {"conv3x3": CONV3X3, "conv1x1": CONV1X1, "maxpool": MAXPOOL3X3, "in": INPUT, "out": OUTPUT}
MAX_VERTICES = 7
MAX_EDGES = 9
_INPUT_LABEL, _OUTPUT_LABEL = -1, -2


def _as_matrix(matrix: object) -> np.ndarray:
    """A square 0/1 int8 matrix, or InvalidArchError saying what is wrong with it."""
    try:
        array = np.asarray(matrix)
    except (TypeError, ValueError) as err:
        raise InvalidArchError(f"NB101 adjacency is not a matrix ({err})") from None
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise InvalidArchError(f"NB101 adjacency must be a square matrix, got shape {array.shape}")
    if array.size and not np.isin(array, (0, 1)).all():
        raise InvalidArchError("NB101 adjacency entries must be 0 or 1")
    return array.astype(np.int8)


def _check_structure(matrix: np.ndarray, ops: Sequence[str]) -> None:
    """Checks that hold before pruning: shape, triangularity, op names and their positions."""
    n = matrix.shape[0]
    if len(ops) != n:
        raise InvalidArchError(f"NB101 spec has {n} vertices in the adjacency but {len(ops)} operations")
    if n < 2:
        raise InvalidArchError(f"NB101 spec needs at least an input and an output vertex, got {n} vertices")
    if np.tril(matrix).any():
        raise InvalidArchError("NB101 adjacency must be strictly upper-triangular (a DAG in vertex order)")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise InvalidArchError(
            f"NB101 operations must start with '{INPUT}' and end with '{OUTPUT}', got '{ops[0]}' ... '{ops[-1]}'"
        )
    for v, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            raise InvalidArchError(f"NB101 vertex {v} has unknown operation '{op}'; valid: {', '.join(OPS)}")


def prune(matrix: np.ndarray, ops: Sequence[str]) -> Optional[Tuple[np.ndarray, List[str]]]:
    """Drop vertices not on an input-to-output path; None when the output is unreachable."""
    n = matrix.shape[0]
    from_input = np.zeros(n, dtype=bool)
    from_input[0] = True
    for v in range(1, n):  # vertex order is a topological order (upper-triangular)
        from_input[v] = bool((matrix[:v, v] & from_input[:v]).any())
    to_output = np.zeros(n, dtype=bool)
    to_output[n - 1] = True
    for v in range(n - 2, -1, -1):
        to_output[v] = bool((matrix[v, v + 1 :] & to_output[v + 1 :]).any())
    if not (from_input[n - 1] and to_output[0]):
        return None
    keep = np.flatnonzero(from_input & to_output)
    return matrix[np.ix_(keep, keep)].copy(), [ops[i] for i in keep]


def hash_module(matrix: np.ndarray, labels: Sequence[int]) -> str:
    """The benchmark's isomorphism-invariant module hash (md5 hex) of a pruned spec.

    Each vertex starts from md5 of the text of (out-degree, in-degree, label); V rounds then
    replace it by md5 of its sorted in-neighbour hashes, '|', sorted out-neighbour hashes, '|',
    its own hash; the fingerprint is md5 of the text of the sorted final hashes. Degrees and
    labels must be Python ints so the texts read "(1, 0, -1)" as in the benchmark.
    """
    n = matrix.shape[0]
    out_deg = matrix.sum(axis=1).tolist()
    in_deg = matrix.sum(axis=0).tolist()
    preds = [[w for w in range(n) if matrix[w, v]] for v in range(n)]
    succs = [[w for w in range(n) if matrix[v, w]] for v in range(n)]
    hashes = [_md5(str((out_deg[v], in_deg[v], int(labels[v])))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in preds[v]))
                + "|"
                + "".join(sorted(hashes[w] for w in succs[v]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class ModelSpec:
    """A valid NB101 module: the given (original) graph and its pruned form.

    Raises InvalidArchError when the graph is malformed or, after pruning, outside the space
    (input not connected to output, more than 7 vertices or 9 edges).
    """

    __slots__ = ("original_matrix", "original_ops", "matrix", "ops", "_hash")

    def __init__(self, matrix: object, ops: Sequence[str]):
        original = _as_matrix(matrix)
        ops = [OP_ALIASES.get(op, op) for op in ops]
        _check_structure(original, ops)
        pruned = prune(original, ops)
        if pruned is None:
            raise InvalidArchError("NB101 spec is invalid: no path from the input to the output")
        self.original_matrix, self.original_ops = original, tuple(ops)
        self.matrix, pruned_ops = pruned
        self.ops: Tuple[str, ...] = tuple(pruned_ops)
        self._hash: Optional[str] = None
        vertices, edges = self.num_vertices, self.num_edges
        if vertices > MAX_VERTICES:
            raise InvalidArchError(f"NB101 spec has {vertices} vertices after pruning (at most {MAX_VERTICES})")
        if edges > MAX_EDGES:
            raise InvalidArchError(f"NB101 spec has {edges} edges after pruning (at most {MAX_EDGES})")

    @property
    def num_vertices(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum())

    @property
    def labels(self) -> List[int]:
        """Hash labels of the pruned vertices: input -1, output -2, interior ops 0/1/2."""
        return [_INPUT_LABEL] + [OPS.index(op) for op in self.ops[1:-1]] + [_OUTPUT_LABEL]

    @property
    def hash(self) -> str:
        """The benchmark's module hash (32 hex digits)."""
        if self._hash is None:
            self._hash = hash_module(self.matrix, self.labels)
        return self._hash

    @property
    def arch_str(self) -> str:
        """``<row-major adjacency bits>|<comma-joined ops>`` of the pruned spec."""
        return format_arch(self.matrix, self.ops)

    @classmethod
    def from_arch_str(cls, text: str) -> "ModelSpec":
        """Parse ``<bits>|<ops>`` (see the module docstring); InvalidArchError says what is wrong."""
        matrix, ops = parse_arch(text)
        return cls(matrix, ops)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ModelSpec)
            and self.ops == other.ops
            and np.array_equal(self.matrix, other.matrix)
        )

    def __hash__(self) -> int:
        return hash((self.matrix.tobytes(), self.ops))

    def __repr__(self) -> str:
        return f"ModelSpec('{self.arch_str}')"


def format_arch(matrix: np.ndarray, ops: Sequence[str]) -> str:
    """Adjacency + ops -> ``<bits>|<ops>`` (no validation)."""
    bits = "".join("1" if x else "0" for x in np.asarray(matrix).ravel().tolist())
    return f"{bits}|{','.join(ops)}"


def parse_arch(text: str) -> Tuple[np.ndarray, List[str]]:
    """``<bits>|<ops>`` -> (matrix, ops), checking only the string's form."""
    text = text.strip()
    bits, sep, op_text = text.partition("|")
    if not sep:
        raise InvalidArchError(
            f"malformed NB101 architecture '{text}': expected '<adjacency bits>|<op>,<op>,...'"
        )
    ops = [op.strip() for op in op_text.split(",")]
    n = len(ops)
    if len(bits) != n * n or set(bits) - {"0", "1"}:
        raise InvalidArchError(
            f"malformed NB101 architecture '{text}': {n} operations need {n * n} adjacency bits "
            f"('0'/'1', row-major), got '{bits}'"
        )
    matrix = np.frombuffer(bits.encode("ascii"), dtype=np.uint8).reshape(n, n) - ord("0")
    return matrix.astype(np.int8), ops
