"""``channels``: NATS-Bench size-space networks as their 5 channel counts, divided by the widest (64).

The size space varies only the widths of one fixed cell network, so the widths are the whole
architecture; as numbers (not one-hot) they keep their order, which trees, GPs and MLPs can use.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nasbench_cli.encodings.base import ENCODINGS, Encoding
from nasbench_cli.spaces.nats_sss import NUM_LAYERS, WIDTHS, parse_channels

COLUMNS = tuple(f"width{layer}" for layer in range(1, NUM_LAYERS + 1))


def _encode(space, indices: Sequence[int]) -> np.ndarray:
    rows = [parse_channels(space.arch_str(i)) for i in indices]
    return np.array(rows, dtype=np.float64).reshape(len(indices), len(COLUMNS)) / max(WIDTHS)


CHANNELS = Encoding("channels", f"NATS-sss: the {NUM_LAYERS} channel counts / {max(WIDTHS)}", spaces=("nats-sss",),
                    default_for=("nats-sss",), columns=COLUMNS, encoder=_encode)
ENCODINGS.add(CHANNELS.name, CHANNELS)
