"""Proxies (training-free scores), registered by name. Importing this package registers all."""

from nasbench_cli.proxies.base import PROXIES, Batch, ProxyContext, ProxySpec, proxy
from nasbench_cli.proxies import naswot  # noqa: F401  (registers)
from nasbench_cli.proxies import (  # noqa: F401  (register)
    fisher,
    flops,
    grad_norm,
    grasp,
    jacob_cov,
    linear_regions,
    ntk,
    params,
    snip,
    synflow,
)

__all__ = ["PROXIES", "Batch", "ProxyContext", "ProxySpec", "proxy"]
