"""Proxies (training-free scores), registered by name. Importing this package registers all."""

from nasbench_cli.proxies.base import (
    PROXIES,
    PROXY_GROUPS,
    Batch,
    ProxyContext,
    ProxyGroup,
    ProxyOption,
    ProxySpec,
    proxy,
)
from nasbench_cli.proxies import naswot  # noqa: F401  (registers)
from nasbench_cli.proxies import (  # noqa: F401  (register)
    az_nas,
    epe_nas,
    fisher,
    flops,
    grad_norm,
    gradsign,
    grasp,
    jacob_cov,
    l2_norm,
    linear_regions,
    meco,
    ntk,
    params,
    plain,
    snip,
    swap,
    synflow,
    trainable_layers,
    vkdnw,
    zen,
    zico,
)
from nasbench_cli.proxies import near, rbflex, wrcor  # noqa: F401  (register: 2025 response proxies)

__all__ = ["PROXIES", "PROXY_GROUPS", "Batch", "ProxyContext", "ProxyGroup", "ProxyOption", "ProxySpec", "proxy"]
