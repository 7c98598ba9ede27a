"""NAS-Bench-101: cells of up to 7 vertices and 9 edges, 3 operations (Ying et al., ICML 2019).

Two index schemes, depending on whether the benchmark's table is present:

* **table** (``<data_dir>/nb101/ground_truth.csv`` exists, converted from the official tfrecord):
  the architectures are the table's modules (423,624 unique ones for the official file); index =
  row position in the table sorted by module hash, so indices are stable across machines.
  ``sample`` draws rows uniformly, i.e. uniformly over unique modules, as the NASWOT authors
  sample the benchmark's hash list.
* **codes** (no table): no enumeration at all. Index = a code of a 7-vertex spec,
  ``edge_bits + 2**21 * op_digits``: bit k of ``edge_bits`` is edge k of the upper triangle in
  row-major order (0->1, 0->2, ..., 5->6) and ``op_digits`` holds the ops of vertices 1..5 in base 3
  (0 conv3x3, 1 conv1x1, 2 maxpool; vertex 1 least significant). ``len`` is the size of that code
  space (2**21 * 3**5 = 509,607,936); most codes are invalid or duplicates. ``sample`` follows the
  benchmark's ``random_spec``: uniform edge bits and ops, rejecting invalid specs (after pruning),
  deduplicated by module hash unless ``replace``; this is *not* uniform over unique modules (graphs
  with more isomorphic encodings are likelier). Sampled and parsed specs get their canonical code:
  the pruned spec with its interior vertices first, unused vertices unconnected, conv3x3.

In both schemes ``arch_str`` is the pruned spec's ``<adjacency bits>|<ops>`` and ``index_of``
accepts that form (any vertex order; matched by module hash in the table scheme) or, with a table,
a 32-hex module hash.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from torch import nn

from nasbench_cli.errors import InvalidArchError, UsageError
from nasbench_cli.groundtruth.convert import convert_nb101
from nasbench_cli.models.nb101 import NASWOT_OPTIONS, build_nb101
from nasbench_cli.nb101.reader import DOWNLOAD_URL, load_nb101_table
from nasbench_cli.nb101.spec import INPUT, MAX_VERTICES, OPS, OUTPUT, ModelSpec
from nasbench_cli.spaces.base import SPACES, SearchSpace
from nasbench_cli.spaces.benchmark import BenchmarkFile, BenchmarkInfo

TABLE = "nb101/ground_truth.csv"
BENCHMARK = BenchmarkInfo(
    datasets=("cifar10",),
    ground_truth_file=TABLE,
    ground_truth_source="`nasbench data convert <nasbench_only108.tfrecord>`",
    archives=(BenchmarkFile("NAS-Bench-101 tfrecord", ("nb101/nasbench_only108.tfrecord",), DOWNLOAD_URL),),
    converter=convert_nb101,
    final_epochs="108",
    test_splits={"cifar10": "test"},
    # the NASWOT authors scored a reduced network (stem 16, He-normal init; reproduction.md)
    reference_builds={"naswot": NASWOT_OPTIONS},
)
_N = MAX_VERTICES
EDGES: Tuple[Tuple[int, int], ...] = tuple((i, j) for i in range(_N) for j in range(i + 1, _N))
EDGE_BITS = len(EDGES)  # 21
NUM_CODES = (1 << EDGE_BITS) * len(OPS) ** (_N - 2)
_HASH = re.compile(r"[0-9a-f]{32}")
_MAX_DRAWS = 1000  # per requested sample; ~25% of random 7x7 specs are valid


def decode(code: int) -> Tuple[np.ndarray, List[str]]:
    """The 7-vertex (unpruned) matrix and ops of a code; InvalidArchError when out of range."""
    if not 0 <= code < NUM_CODES:
        raise InvalidArchError(f"nb101: index {code} is out of range 0..{NUM_CODES - 1}")
    bits, digits = code & ((1 << EDGE_BITS) - 1), code >> EDGE_BITS
    matrix = np.zeros((_N, _N), dtype=np.int8)
    for k, (i, j) in enumerate(EDGES):
        matrix[i, j] = (bits >> k) & 1
    ops = [INPUT]
    for _ in range(_N - 2):
        digits, d = divmod(digits, len(OPS))
        ops.append(OPS[d])
    return matrix, ops + [OUTPUT]


def encode(matrix: np.ndarray, ops: List[str]) -> int:
    """Code of a 7-vertex matrix and ops (inverse of ``decode``)."""
    bits = sum(1 << k for k, (i, j) in enumerate(EDGES) if matrix[i, j])
    digits = sum(OPS.index(op) * len(OPS) ** v for v, op in enumerate(ops[1:-1]))
    return bits + (digits << EDGE_BITS)


def embed(spec: ModelSpec, pad_ops: Optional[List[str]] = None) -> Tuple[np.ndarray, List[str]]:
    """The pruned spec as a 7-vertex graph: interior vertices first, then unconnected padding
    vertices (ops ``pad_ops``, default conv3x3), output last."""
    n = spec.num_vertices
    keep = list(range(n - 1)) + [_N - 1]  # where the pruned vertices go
    matrix = np.zeros((_N, _N), dtype=np.int8)
    matrix[np.ix_(keep, keep)] = spec.matrix
    pad = list(pad_ops) if pad_ops is not None else [OPS[0]] * (_N - n)
    ops = list(spec.ops[:-1]) + pad + [OUTPUT]
    return matrix, ops


def canonical_code(spec: ModelSpec) -> int:
    return encode(*embed(spec))


@SPACES.register("nb101")
class NB101Space(SearchSpace):
    """NAS-Bench-101 (423,624 unique modules; CIFAR-10)."""

    name = "nb101"
    benchmark = BENCHMARK

    def __init__(self, data_dir: Optional[Path] = None):
        super().__init__(data_dir)
        self.table = None
        self.table_path: Optional[Path] = None
        if data_dir is not None and (Path(data_dir) / TABLE).is_file():
            self.table_path = Path(data_dir) / TABLE
            self.table = load_nb101_table(self.table_path)
            self._hashes: List[str] = list(self.table.index)
            self._archs: List[str] = list(self.table["arch"])
            self._row: Dict[str, int] = {h: i for i, h in enumerate(self._hashes)}

    @property
    def index_order(self) -> str:
        """What indices mean here (see the module docstring)."""
        if self.table is not None:
            return f"row of {self.table_path} sorted by module hash"
        return "spec code (no benchmark table found; see nasbench_cli.spaces.nb101)"

    def __len__(self) -> int:
        return len(self._hashes) if self.table is not None else NUM_CODES

    def ground_truth(self):
        """The converted tfrecord table re-keyed by this space's indices (row numbers); the
        module hash stays available through ``hash_of``. None without a table."""
        if self.table is None:
            return None
        from nasbench_cli.groundtruth.table import GroundTruth

        frame = self.table.reset_index(drop=True).drop(columns=["arch_index"], errors="ignore")
        frame.insert(0, "arch_index", range(len(frame)))
        return GroundTruth(frame, source=self.table_path)

    def spec(self, index: int) -> ModelSpec:
        """The ModelSpec of ``index``; InvalidArchError for an invalid code or row."""
        index = int(index)
        if self.table is not None:
            return ModelSpec.from_arch_str(self._archs[self._checked_row(index)])
        matrix, ops = decode(index)
        try:
            return ModelSpec(matrix, ops)
        except InvalidArchError as err:
            raise InvalidArchError(f"nb101: index {index} is not a valid spec ({err})") from None

    def _checked_row(self, index: int) -> int:
        if not 0 <= index < len(self._hashes):
            raise InvalidArchError(f"nb101: index {index} is out of range 0..{len(self._hashes) - 1}")
        return index

    def arch_str(self, index: int) -> str:
        if self.table is not None:
            return self._archs[self._checked_row(int(index))]
        return self.spec(index).arch_str

    def hash_of(self, index: int) -> str:
        """The benchmark's module hash of ``index``."""
        if self.table is not None:
            return self._hashes[self._checked_row(int(index))]
        return self.spec(index).hash

    def index_of(self, text: str) -> int:
        text = text.strip()
        if _HASH.fullmatch(text):
            if self.table is None:
                raise InvalidArchError(
                    f"nb101: looking up module hash {text} needs the benchmark table at "
                    f"{Path(self.data_dir or '<data-dir>') / TABLE}; give the spec as '<adjacency bits>|<ops>'"
                )
            return self._lookup(text)
        spec = ModelSpec.from_arch_str(text)
        return self._lookup(spec.hash) if self.table is not None else canonical_code(spec)

    def _lookup(self, module_hash: str) -> int:
        row = self._row.get(module_hash)
        if row is None:
            raise InvalidArchError(f"nb101: module hash {module_hash} is not in {self.table_path}")
        return row

    def parse_ref(self, text: str) -> int:
        """A decimal index (in the codes scheme: any code of a valid spec, made canonical) or a string."""
        index = super().parse_ref(text)
        return index if self.table is not None else canonical_code(self.spec(index))

    def sample(self, rng: np.random.Generator, n: int, replace: bool = False) -> list:
        if self.table is not None:
            return super().sample(rng, n, replace)
        return self._sample_codes(rng, n, replace)

    def _sample_codes(self, rng: np.random.Generator, n: int, replace: bool) -> list:
        """The benchmark's random_spec: uniform bits and ops, reject invalid; dedupe by hash."""
        out: List[int] = []
        seen = set()
        for _ in range(_MAX_DRAWS * max(n, 1)):
            if len(out) == n:
                return out
            bits, digits = int(rng.integers(1 << EDGE_BITS)), int(rng.integers(len(OPS) ** (_N - 2)))
            matrix, ops = decode(bits + (digits << EDGE_BITS))
            try:
                spec = ModelSpec(matrix, ops)
            except InvalidArchError:
                continue
            if not replace:
                if spec.hash in seen:
                    continue
                seen.add(spec.hash)
            out.append(canonical_code(spec))
        raise UsageError(f"nb101: could not draw {n} distinct valid specs")

    def build(self, index: int, num_classes: int, bn: bool = True, **options: Any) -> nn.Module:
        """build_nb101 options: stem_channels (128), num_stacks, modules_per_stack, init
        ("default" | "naswot"); the NASWOT authors' reduced net is NASWOT_OPTIONS + num_classes=1."""
        return build_nb101(self.spec(index), num_classes=num_classes, bn=bn, **options)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """Flip one edge or change one op, uniformly among the single edits that give a valid spec
        with a different module hash (and, with a table, one in the table). The spec is embedded in
        7 vertices with random ops on unused vertices, so an edit may also bring a vertex in.
        Falls back to a random architecture when no edit qualifies (the input->output-only cell)."""
        spec = self.spec(index)
        pad = [OPS[int(i)] for i in rng.integers(len(OPS), size=_N - spec.num_vertices)]
        matrix, ops = embed(spec, pad)
        candidates: List[int] = []
        for neighbour in _single_edits(matrix, ops):
            try:
                child = ModelSpec(*neighbour)
            except InvalidArchError:
                continue
            if child.hash == spec.hash:
                continue
            if self.table is not None:
                row = self._row.get(child.hash)
                if row is not None:
                    candidates.append(row)
            else:
                candidates.append(canonical_code(child))
        if not candidates:
            return self.sample(rng, 1)[0]
        return candidates[int(rng.integers(len(candidates)))]


def _single_edits(matrix: np.ndarray, ops: List[str]):
    """Every graph one edge flip or one op change away from (matrix, ops)."""
    for i, j in EDGES:
        flipped = matrix.copy()
        flipped[i, j] ^= 1
        yield flipped, ops
    for v in range(1, _N - 1):
        for op in OPS:
            if op != ops[v]:
                yield matrix, ops[:v] + [op] + ops[v + 1 :]
