"""NATS-Bench topology space (tss): NAS-Bench-201's cells and index order, NATS archives."""

from __future__ import annotations

from nasbench_cli.spaces.base import SPACES
from nasbench_cli.spaces.nb201 import NB201Space


@SPACES.register("nats-tss")
class NATSTopologySpace(NB201Space):
    """NATS-Bench topology search space: the 15,625 NB201 cells (Dong et al., TPAMI 2021)."""

    name = "nats-tss"
    order_sources = (
        "nats-tss/ground_truth.csv",
        "nats/NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2",
        "NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2",
        "nb201/ground_truth.csv",
    )
