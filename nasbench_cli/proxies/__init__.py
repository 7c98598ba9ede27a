"""Proxies (training-free scores), registered by name. Importing this package registers all."""

from nasbench_cli.proxies.base import PROXIES, Batch, ProxyContext, ProxySpec, proxy
from nasbench_cli.proxies import naswot  # noqa: F401  (registers)

__all__ = ["PROXIES", "Batch", "ProxyContext", "ProxySpec", "proxy"]
