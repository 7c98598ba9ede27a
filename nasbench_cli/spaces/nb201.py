"""NAS-Bench-201: 15,625 cells (6 edges x 5 operations) in a fixed 3-stage network.

Index order and accuracies: a listing in the data directory (``ORDER_SOURCES``: the user's table or
a NATS meta file) and ``<data-dir>/nb201/ground_truth.csv`` first, else the NB201 table shipped in
the package (:mod:`nasbench_cli.groundtruth.embedded`), so indices and accuracies always agree.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from torch import nn

from nasbench_cli.errors import DataCorruptError, InvalidArchError
from nasbench_cli.groundtruth.convert import convert_archive
from nasbench_cli.groundtruth.embedded import embedded_source
from nasbench_cli.groundtruth.safe_load import load_pickle
from nasbench_cli.groundtruth.table import (
    ARCH_COLUMN,
    GroundTruth,
    embedded_ground_truth,
    find_ground_truth,
)
from nasbench_cli.models.nb201 import OP_NAMES, build_nb201
from nasbench_cli.spaces.base import SPACES, SearchSpace
from nasbench_cli.untrusted import CSV_BYTES, read_text
from nasbench_cli.spaces.benchmark import (
    NB201_DATASETS,
    NB201_FITNESS_DATASETS,
    NB201_TEST_SPLITS,
    BenchmarkFile,
    BenchmarkInfo,
)

NUM_NODES = 4  # input node + 3 computed nodes
NUM_EDGES = 6

#: where the benchmark's own index order can be read, relative to the data directory; without
#: any of them it is the embedded table's (the same order)
ORDER_SOURCES = (
    "nb201/ground_truth.csv",
    "nats-tss/ground_truth.csv",
    "nats/NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2",
    "NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2",
)

NB201_URL = "https://github.com/D-X-Y/NAS-Bench-201 (README, Google Drive)"
SPLITS_URL = ("https://github.com/D-X-Y/AutoDL-Projects (configs/nas-benchmark/; "
              "NAS-Bench-201 split files)")
#: the train/valid/test splits NAS-Bench-201 evaluated on (the datasets read them too)
SPLIT_FILES = (
    BenchmarkFile("NB201 split: cifar10", ("splits/cifar-split.txt",), SPLITS_URL),
    BenchmarkFile("NB201 split: cifar100", ("splits/cifar100-test-split.txt",), SPLITS_URL),
    BenchmarkFile("NB201 split: ImageNet16-120", ("splits/imagenet-16-120-test-split.txt",), SPLITS_URL),
)
BENCHMARK = BenchmarkInfo(
    datasets=NB201_DATASETS,
    ground_truth_file="nb201/ground_truth.csv",
    ground_truth_source="`nasbench data convert <NAS-Bench-201 .pth or NATS tss archive> --space nb201`",
    archives=(BenchmarkFile("NAS-Bench-201 archive (.pth)",
                            ("nb201/NAS-Bench-201-v1_1-096897.pth", "nb201/NAS-Bench-201-v1_0-e61699.pth"),
                            f"{NB201_URL}; then `nasbench data convert <file>`"),
              *SPLIT_FILES),
    converter=convert_archive,
    final_epochs="200",
    test_splits=NB201_TEST_SPLITS,
    fitness_epochs="12",
    fitness_datasets=NB201_FITNESS_DATASETS,
    # proxies whose reference scores came from the zero-cost code's re-implementation (MeCo) get it
    reference_builds={"zc": {"variant": "zc"}},
)


def format_arch(ops: Tuple[str, ...]) -> str:
    """Six operation names (edge order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3) -> arch string."""
    nodes, k = [], 0
    for node in range(1, NUM_NODES):
        edges = [f"{ops[k + src]}~{src}" for src in range(node)]
        k += node
        nodes.append("|" + "|".join(edges) + "|")
    return "+".join(nodes)


def parse_arch(text: str) -> Tuple[str, ...]:
    """Arch string -> six operation names; InvalidArchError says which part is wrong."""
    text = text.strip()
    nodes = text.split("+")
    if len(nodes) != NUM_NODES - 1:
        raise InvalidArchError(
            f"malformed NB201 architecture '{text}': expected {NUM_NODES - 1} nodes joined by '+', "
            f"found {len(nodes)}"
        )
    ops: List[str] = []
    for node, part in enumerate(nodes, start=1):
        if not (part.startswith("|") and part.endswith("|")) or len(part) < 2:
            raise InvalidArchError(f"malformed NB201 architecture: node {node} '{part}' must look like |op~0|...|")
        edges = part[1:-1].split("|")
        if len(edges) != node:
            raise InvalidArchError(
                f"malformed NB201 architecture: node {node} '{part}' must have {node} edge(s), found {len(edges)}"
            )
        for src, edge in enumerate(edges):
            op, sep, source = edge.partition("~")
            if not sep:
                raise InvalidArchError(f"malformed NB201 architecture: edge '{edge}' of node {node} lacks '~input'")
            if op not in OP_NAMES:
                raise InvalidArchError(
                    f"malformed NB201 architecture: unknown operation '{op}' in node {node}; "
                    f"valid operations: {', '.join(OP_NAMES)}"
                )
            if source != str(src):
                raise InvalidArchError(
                    f"malformed NB201 architecture: edge {src + 1} of node {node} must read from node {src} "
                    f"('~{src}'), found '~{source}'"
                )
            ops.append(op)
    return tuple(ops)


#: edge order of ``parse_arch``'s six operations: (source node, target node)
EDGES = tuple((src, node) for node in range(1, NUM_NODES) for src in range(node))


def pruned_cell(text: str) -> Tuple[Tuple[int, int, str], ...]:
    """The cell's (source, target, op) edges that can change its output: ``none`` edges removed,
    then every edge that lies on no path from the input node 0 to the output node 3.

    Two cells with the same pruned form compute the same function but for constant shifts (an edge
    from a node the input never reaches carries zeros, or after training its BatchNorm's bias; one
    into a node that never reaches the output is discarded), so NB201's 15,625 cells form 9,445
    such classes. VKDNW's Table 1 ranks one network of each
    (its flops and layer-count rows equal tau over these classes to within 0.003)."""
    live = [(src, dst, op) for (src, dst), op in zip(EDGES, parse_arch(text)) if op != "none"]
    reached = {0}
    for src, dst, _ in live:  # sorted by target node: a source is final before it is read
        if src in reached:
            reached.add(dst)
    reaching = {NUM_NODES - 1}
    for src, dst, _ in sorted(live, key=lambda edge: -edge[1]):
        if dst in reaching:
            reaching.add(src)
    return tuple(edge for edge in live if edge[0] in reached and edge[1] in reaching)


def first_of_class(archs: Sequence[str]) -> List[bool]:
    """Per architecture, in the given order: whether it is the first with its ``pruned_cell``."""
    seen: set = set()
    first = []
    for arch in archs:
        form = pruned_cell(arch)
        first.append(form not in seen)
        seen.add(form)
    return first


def canonical_archs() -> List[str]:
    """All 15,625 strings in product order (a completeness check; indices never use this order)."""
    return [format_arch(ops) for ops in itertools.product(OP_NAMES, repeat=NUM_EDGES)]


@functools.lru_cache(maxsize=1)
def _canonical_set() -> frozenset:
    return frozenset(canonical_archs())


def read_official_order(path: Path) -> List[str]:
    """Arch strings in the benchmark's index order, from a compact table or a NATS meta file."""
    try:
        if path.suffix == ".csv":  # the checked layer first: a link to /dev/zero or a FIFO never ends
            text = read_text(path, "NB201 architecture listing (a CSV table)", CSV_BYTES)
            rows = {int(r["arch_index"]): r["arch"] for r in csv.DictReader(io.StringIO(text))}
            archs = [rows[i] for i in range(len(rows))]
        else:  # restricted: a tampered meta file must not run code (DataCorruptError instead)
            archs = list(load_pickle(path, what="NATS-Bench meta file",
                                     bz2_compressed=True)["meta_archs"])
    except KeyError as err:
        raise DataCorruptError(f"{path}: cannot read the NB201 architecture listing (arch_index {err} "
                               "is missing: rows must number 0..15624)") from None
    except (OSError, EOFError, TypeError, ValueError, pickle.UnpicklingError) as err:
        raise DataCorruptError(f"{path}: cannot read the NB201 architecture listing ({err})") from None
    if len(archs) != 15625:
        raise DataCorruptError(f"{path}: expected 15625 NB201 architectures, found {len(archs)} (a table "
                               "converted from a partial archive by an older nasbench? convert it again)")
    check_listing(archs, path)
    return archs


def check_listing(archs: List[str], path: Path) -> None:
    """Every entry a canonical NB201 string and each of the 15,625 cells exactly once: a listing
    that breaks this would score one network under another's index (and accuracies)."""
    if len(archs) == 15625 and set(archs) == _canonical_set():
        return
    seen: Dict[str, int] = {}
    for index, text in enumerate(archs):
        try:
            canonical = format_arch(parse_arch(str(text)))
        except InvalidArchError as err:
            raise DataCorruptError(f"{path}: architecture {index} of the NB201 listing is not valid ({err})") from None
        if canonical != text:
            raise DataCorruptError(f"{path}: architecture {index} of the NB201 listing is written "
                                   f"'{text}', not in the canonical form '{canonical}'")
        if canonical in seen:
            raise DataCorruptError(f"{path}: architecture '{text}' is listed twice (indices {seen[canonical]} "
                                   f"and {index}); the listing must hold each of the 15625 cells once")
        seen[canonical] = index


def embedded_order() -> List[str]:
    """Arch strings in the benchmark's index order, from the table shipped in the package."""
    frame = embedded_ground_truth().frame
    # the sha256 check vouches for the content; this guards the assumption that rows are 0..15624
    if list(frame.index) != list(range(len(frame))):
        raise DataCorruptError("the embedded NB201 table's arch_index is not 0..15624")
    return [str(arch) for arch in frame[ARCH_COLUMN]]


@SPACES.register("nb201")
class NB201Space(SearchSpace):
    """NAS-Bench-201: 15,625 cell topologies (Dong & Yang, ICLR 2020)."""

    name = "nb201"
    benchmark = BENCHMARK
    order_sources = ORDER_SOURCES
    #: cell width and cells per stage, blocks kept and stem (TE-NAS's thin networks), and the
    #: network variant ("official" or "zc", the zero-cost code's); see models.nb201.build_nb201
    build_option_names = ("C", "N", "depth", "stem", "variant")
    relus_on_path = True  # `none` is x.mul(0): no edge drops out of the autograd graph

    def __init__(self, data_dir: Optional[Path] = None):
        super().__init__(data_dir)
        self.order_source: Optional[Path] = None
        archs: Optional[List[str]] = None
        for rel in self.order_sources if data_dir else ():
            path = Path(data_dir) / rel
            if path.exists():
                archs, self.order_source = read_official_order(path), path
                break
        self._archs = archs if archs is not None else embedded_order()
        self._index: Dict[str, int] = {a: i for i, a in enumerate(self._archs)}

    @property
    def index_order(self) -> str:
        """Where indices come from: the data directory's listing, else the embedded table."""
        return str(self.order_source) if self.order_source else embedded_source()

    def ground_truth(self) -> Optional[GroundTruth]:
        """``<data-dir>/<space>/ground_truth.csv`` first, else the embedded NB201 table (its
        ``source`` says which)."""
        return find_ground_truth(self.name, self.data_dir)

    def __len__(self) -> int:
        return len(self._archs)

    def arch_str(self, index: int) -> str:
        return self._archs[index]

    def index_of(self, text: str) -> int:
        arch = format_arch(parse_arch(text))
        return self._index[arch]

    def build(self, index: int, num_classes: int, bn: bool = True, **options: Any) -> nn.Module:
        return build_nb201(self._archs[index], num_classes, bn=bn, **options)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """Change one edge's operation to a different one (the NB201 REA mutation)."""
        ops = list(parse_arch(self._archs[index]))
        edge = int(rng.integers(NUM_EDGES))
        ops[edge] = [op for op in OP_NAMES if op != ops[edge]][int(rng.integers(len(OP_NAMES) - 1))]
        return self._index[format_arch(tuple(ops))]
