"""NAS-Bench-101: cells of up to 7 vertices and 9 edges, 3 operations (Ying et al., ICML 2019).

Every decimal index names one architecture, whether or not the benchmark's table is present:

* **0 .. 423,623: a module of the official listing.** Index = row of the converted table
  ``<data_dir>/nb101/ground_truth.csv`` (``nasbench data convert nasbench_only108.tfrecord``), whose
  rows are sorted by module hash: the order in which the official tfrecords list their modules
  (the benchmark's run_evaluation.py trains the modules in sorted-hash order), so also the order
  of the official API's ``hash_iterator()`` that the NASWOT authors index. Sorting, rather than
  keeping the record order, gives the same indices for nasbench_full and nasbench_only108. Without
  the table these indices are refused (one line naming the table and the command), never read as
  anything else.
* **423,624 and up: a spec.** Index = ``SPEC_BASE + code`` where ``code = edge_bits + 2**21 *
  op_digits`` of a 7-vertex spec: bit k of ``edge_bits`` is edge k of the upper triangle in
  row-major order (0->1, 0->2, ..., 5->6) and ``op_digits`` holds the ops of vertices 1..5 in base 3
  (0 conv3x3, 1 conv1x1, 2 maxpool; vertex 1 least significant). This is not an enumeration of
  the benchmark (most codes are invalid or isomorphic duplicates); it is a name for a spec that
  needs no table. Without the table, architectures given as strings, sampled or mutated get
  their canonical spec index (the pruned spec with its interior vertices first, unused vertices
  unconnected, conv3x3); with the table a spec index is read as the row of its module.

The two ranges never overlap (the space has exactly 423,624 unique modules), so a score stored
under an index can never be served for another architecture once the table appears.

``len`` is the table's row count, or without a table the end of the spec range. ``sample`` with a
table draws rows uniformly, i.e. uniformly over unique modules, as the NASWOT authors sample the
benchmark's hash list; without one it follows the benchmark's ``random_spec``: uniform edge bits
and ops, rejecting invalid specs (after pruning), deduplicated by module hash unless ``replace``,
returning spec indices (*not* uniform over unique modules: graphs with more isomorphic
encodings are likelier).

``arch_str`` is the pruned spec's ``<adjacency bits>|<ops>`` (with a table, the tfrecord's own
string) and ``index_of`` accepts that form (any vertex order; matched by module hash in the table)
or, with a table, a 32-hex module hash.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from torch import nn

from nasbench_cli.errors import DataCorruptError, InvalidArchError, UsageError
from nasbench_cli.groundtruth.convert import convert_nb101
from nasbench_cli.logs import get_logger, warn_once
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
#: unique modules of the benchmark (every valid cell, up to isomorphism): the table's rows, and so
#: the indices that need the table, are 0..NUM_MODULES-1 (Ying et al. 2019, and the official file)
NUM_MODULES = 423_624
#: index of spec code 0: spec indices start above every possible table row, so the two never meet
SPEC_BASE = NUM_MODULES

#: what a sample is without the converted table: said once when one is drawn, and part of the
#: index order every sidecar records, so a table converted later explains why the networks changed
SAMPLING_WITHOUT_TABLE = (
    f"nb101 without its converted table ({TABLE}) samples the benchmark's random_spec cells (uniform edges "
    f"and ops, invalid specs rejected; spec indices from {SPEC_BASE}), not the uniform draw over the "
    f"table's {NUM_MODULES} modules: the same --n and --seed give other networks once the table is converted")

_log = get_logger("nb101")
_HASH = re.compile(r"[0-9a-f]{32}")
_MAX_DRAWS = 1000  # per requested sample; ~25% of random 7x7 specs are valid


def decode(code: int) -> Tuple[np.ndarray, List[str]]:
    """The 7-vertex (unpruned) matrix and ops of a code; InvalidArchError when out of range."""
    if not 0 <= code < NUM_CODES:
        raise InvalidArchError(f"nb101: spec code {code} is out of range 0..{NUM_CODES - 1}")
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
    """The code of the spec's canonical 7-vertex embedding (``embed`` with conv3x3 padding)."""
    return encode(*embed(spec))


def spec_index(spec: ModelSpec) -> int:
    """The canonical spec index of ``spec`` (``SPEC_BASE`` + its canonical code): what a space
    without the table numbers it by, and what it keeps meaning once the table is there."""
    return SPEC_BASE + canonical_code(spec)


def is_spec_index(index: int) -> bool:
    """Whether ``index`` names a spec by its code (else: a row of the benchmark's table, or nothing)."""
    return SPEC_BASE <= index < SPEC_BASE + NUM_CODES


@SPACES.register("nb101")
class NB101Space(SearchSpace):
    """NAS-Bench-101: 423,624 modules, CIFAR-10; index = row of the official tfrecord after `nasbench data convert`.

    Indices 0..423,623 are rows of the converted table in the official files' order (sorted by
    module hash) and are refused without it; 423,624 and up name a spec by its code (module
    docstring). Architecture strings work with or without the table.
    """

    name = "nb101"
    benchmark = BENCHMARK

    def __init__(self, data_dir: Optional[Path] = None):
        super().__init__(data_dir)
        self.table = None
        self.table_path: Optional[Path] = None
        if data_dir is not None and (Path(data_dir) / TABLE).is_file():
            self.table_path = Path(data_dir) / TABLE
            self.table = load_nb101_table(self.table_path)
            if len(self.table) > NUM_MODULES:
                # more rows would reach the spec indices: one number could then name two cells
                raise DataCorruptError(f"{self.table_path}: {len(self.table)} modules, more than the "
                                       f"{NUM_MODULES} of NAS-Bench-101; convert the official tfrecord again")
            self._hashes: List[str] = list(self.table.index)
            self._archs: List[str] = list(self.table["arch"])
            self._row: Dict[str, int] = {h: i for i, h in enumerate(self._hashes)}

    @property
    def index_order(self) -> str:
        """What indices mean here (see the module docstring)."""
        if self.table is not None:
            return (f"row of {self.table_path} sorted by module hash (the official tfrecord's order); "
                    f"from {SPEC_BASE}: {SPEC_BASE} + spec code")
        # no path here: workers compare this text, and a worker may see no data dir at all
        return (f"{SPEC_BASE} + spec code (no table: indices 0..{NUM_MODULES - 1} need <data-dir>/{TABLE}; "
                f"see nasbench_cli.spaces.nb101); {SAMPLING_WITHOUT_TABLE}")

    def _table_hint(self) -> Path:
        """Where the table would be (named in messages)."""
        return Path(self.data_dir if self.data_dir is not None else "<data-dir>") / TABLE

    def __len__(self) -> int:
        """Table rows; without a table, the end of the spec indices (not a count of modules)."""
        return len(self._hashes) if self.table is not None else SPEC_BASE + NUM_CODES

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
        """The ModelSpec of ``index`` (a table row, or a spec index without the table);
        InvalidArchError for an index that names nothing here."""
        index = int(index)
        if self.table is not None:
            return ModelSpec.from_arch_str(self._archs[self._checked_row(index)])
        return self._decoded(index)

    def _decoded(self, index: int) -> ModelSpec:
        """The spec a spec index names (table or not); InvalidArchError otherwise."""
        if 0 <= index < SPEC_BASE:
            raise self._needs_table(index)
        if not is_spec_index(index):
            raise InvalidArchError(f"nb101: index {index} is out of range: 0..{NUM_MODULES - 1} are rows of the "
                                   f"table, {SPEC_BASE}..{SPEC_BASE + NUM_CODES - 1} spec codes")
        matrix, ops = decode(index - SPEC_BASE)
        try:
            return ModelSpec(matrix, ops)
        except InvalidArchError as err:
            raise InvalidArchError(f"nb101: index {index} is not a valid spec ({err})") from None

    def all_indices(self) -> range:
        """The table's rows; without the table there is no list of the benchmark's modules (the
        spec codes are mostly invalid or duplicates), so --all is refused."""
        if self.table is None:
            where = f" --data-dir {self.data_dir}" if self.data_dir is not None else ""
            raise UsageError(f"nb101: --all needs the NAS-Bench-101 table {self._table_hint()}, which is missing: "
                             f"make it with `nasbench data convert nasbench_only108.tfrecord{where}` "
                             f"({DOWNLOAD_URL}), or give --n or --archs")
        return range(len(self))

    def _needs_table(self, index: int) -> InvalidArchError:
        # a row number without the table is refused: read as anything else it would name another
        # cell than the same number does once the table exists
        where = f" --data-dir {self.data_dir}" if self.data_dir is not None else ""
        return InvalidArchError(
            f"nb101: index {index} is a row of the NAS-Bench-101 table {self._table_hint()}, which is missing: "
            f"make it with `nasbench data convert nasbench_only108.tfrecord{where}` ({DOWNLOAD_URL}), "
            f"or give the architecture as '<adjacency bits>|<ops>'")

    def _checked_row(self, index: int) -> int:
        if not 0 <= index < len(self._hashes):
            raise InvalidArchError(f"nb101: index {index} is out of range 0..{len(self._hashes) - 1} "
                                   f"(rows of {self.table_path})")
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
                    f"{self._table_hint()}; give the spec as '<adjacency bits>|<ops>'"
                )
            return self._lookup(text)
        spec = ModelSpec.from_arch_str(text)
        return self._lookup(spec.hash) if self.table is not None else spec_index(spec)

    def _lookup(self, module_hash: str) -> int:
        row = self._row.get(module_hash)
        if row is None:
            raise InvalidArchError(f"nb101: module hash {module_hash} is not in {self.table_path}")
        return row

    def parse_ref(self, text: str) -> int:
        """A decimal index or a string. A row needs the table; a spec index (any code of a valid
        spec) gives, with the table, its module's row, else the canonical spec index."""
        text = text.strip()
        if not text.isdigit():
            return self.index_of(text)
        index = int(text)
        if self.table is not None and not is_spec_index(index):
            return self._checked_row(index)
        spec = self._decoded(index)
        return self._lookup(spec.hash) if self.table is not None else spec_index(spec)

    def sample(self, rng: np.random.Generator, n: int, replace: bool = False) -> list:
        """With a table: rows uniformly; without: spec indices (the benchmark's random_spec)."""
        if self.table is not None:
            return super().sample(rng, n, replace)
        warn_once(_log, "nb101-sampling-without-table", SAMPLING_WITHOUT_TABLE)
        return self._sample_specs(rng, n, replace)

    def _sample_specs(self, rng: np.random.Generator, n: int, replace: bool) -> list:
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
            out.append(spec_index(spec))
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
                candidates.append(spec_index(child))
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
