"""The mini-batch type shared by datasets (which make batches) and proxies (which score with them).

It lives in this neutral module so that neither package imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Batch:
    """One mini-batch on the target device: normalised inputs and integer targets."""

    inputs: torch.Tensor
    targets: torch.Tensor
