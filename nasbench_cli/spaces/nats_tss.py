"""NATS-Bench topology space (tss): NAS-Bench-201's cells and index order, NATS archives.

Ground truth: ``<data-dir>/nats-tss/ground_truth.csv`` (converted from the NATS tss archive) first,
else the NB201 table shipped in the package, whose indices, arch strings and accuracies are the
NATS tss ones: ``cifar10/ori-test@200``, ``cifar100/x-test@200``, ``ImageNet16-120/x-test@200`` and
the six 12-epoch columns (:mod:`nasbench_cli.groundtruth.embedded`). The 200-epoch validation
accuracies, the other ``ori-test`` splits, ``params``/``flops`` and training times need the archive.
"""

from __future__ import annotations

from dataclasses import replace

from nasbench_cli.spaces.base import SPACES
from nasbench_cli.spaces.benchmark import BenchmarkFile
from nasbench_cli.spaces.nb201 import BENCHMARK as NB201_BENCHMARK
from nasbench_cli.spaces.nb201 import NB201Space

NATS_URL = "https://github.com/D-X-Y/NATS-Bench (README, Google Drive)"
#: NB201's datasets, schedules and columns, NATS's table and archive
BENCHMARK = replace(
    NB201_BENCHMARK,
    ground_truth_file="nats-tss/ground_truth.csv",
    ground_truth_source="`nasbench data convert <NATS tss archive>`",
    archives=(BenchmarkFile("NATS-Bench tss archive",
                            ("nats/NATS-tss-v1_0-3ffb9-simple", "nats/NATS-tss-v1_0-3ffb9.pickle.pbz2"),
                            f"{NATS_URL}; then `nasbench data convert <archive>`"),),
)


@SPACES.register("nats-tss")
class NATSTopologySpace(NB201Space):
    """NATS-Bench topology search space: the 15,625 NB201 cells (Dong et al., TPAMI 2021)."""

    name = "nats-tss"
    benchmark = BENCHMARK
    order_sources = (
        "nats-tss/ground_truth.csv",
        "nats/NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2",
        "NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2",
        "nb201/ground_truth.csv",
    )
