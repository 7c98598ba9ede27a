"""NASWOT kernels K of a few architectures, computed on the network, batch and code path that
give `nasbench score --proxy naswot` its scores (``log|det K|`` equals the score). The kernel
plot and ``nasbench_cli.api.naswot_kernels`` use it.
"""

from __future__ import annotations

from typing import Dict, Iterable, Union

import numpy as np

from nasbench_cli.proxies.naswot import naswot_kernel
from nasbench_cli.runtime import configure_determinism
from nasbench_cli.options import RunConfig
from nasbench_cli.session import ScoringSession


def naswot_kernels(config: RunConfig, archs: Iterable[Union[int, str]]) -> Dict[int, np.ndarray]:
    """Index -> K (B x B float64) of each architecture (indices or strings) under ``config``."""
    session = ScoringSession(config)
    indices = list(dict.fromkeys(session.space.parse_ref(str(a)) for a in archs))
    kernels: Dict[int, np.ndarray] = {}
    with session:
        scorer, _ = session.engine.local_scorer()
        configure_determinism(scorer.device, config.threads)  # as the sequential executor does
        spec = scorer.specs[0]
        batch = scorer.batch_for(spec)
        on_path = scorer.relus_on_path(spec)
        for index in indices:
            kernels[index] = naswot_kernel(scorer.network_for(spec, index), batch.inputs, on_path)
    return kernels
