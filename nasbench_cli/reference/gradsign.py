"""GradSign's ``grad_conflict`` measure (github:cmu-catalyst/GradSign), re-implemented step by step.

Used as the test oracle of ``proxies/gradsign.py``. The reference loop, in its order:

1. For each example i: zero the gradients, forward ``inputs[[i]]`` alone (train mode), mean
   cross-entropy against ``targets[[i]]``, backward.
2. Concatenate, over ``net.modules()`` that are Conv2d or Linear, the flattened weight gradient
   (zeros where it is None), as a numpy row.
3. Stack the rows, take ``np.sign``, sum over examples, absolute value; the score is ``nansum``
   (the rho experiments' measure; ``nanmean`` in the naswot and AZ-NAS/VKDNW ports).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def sign_sums_loop(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """Per Conv2d/Linear weight entry, the sum over examples of the gradient's sign."""
    rows = []
    for i in range(inputs.shape[0]):
        net.zero_grad()
        loss = F.cross_entropy(net(inputs[[i]]), targets[[i]])
        loss.backward()
        flat = [(m.weight.grad if m.weight.grad is not None else torch.zeros_like(m.weight)).detach().cpu().numpy()
                .reshape(-1) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        rows.append(np.concatenate(flat))
    return np.sign(np.stack(rows)).sum(axis=0)


def grad_conflict(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, reduction: str = "sum") -> float:
    """The reference score: nansum (or nanmean) of |sum of signs|."""
    net.train()
    code = np.abs(sign_sums_loop(net, inputs, targets))
    return float(np.nanmean(code) if reduction == "mean" else np.nansum(code))
