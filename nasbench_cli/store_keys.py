"""A score's store key: the settings it was computed under, a fingerprint of the data it saw and
of the code that computed it (the proxy's module and every project module it imports).

``score_context`` is the one function making a key; ``code_fingerprint`` keys a proxy's code by
its source, so a proxy defined outside the package (a plugin) is keyed the same way by its own.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import sys
from typing import List, Optional, Set

import torch

import nasbench_cli
from nasbench_cli.batch import Batch
from nasbench_cli.proxies.base import ProxySpec
from nasbench_cli.proxy_settings import ScoreSettings, options_key, proxy_batch_size, resolved_head
from nasbench_cli.store import ScoreContext


def batch_fingerprint(batch: Batch) -> str:
    """sha256 prefix of a batch's images (as float32) and labels: what a score's data was."""
    digest = hashlib.sha256()
    inputs = batch.inputs.detach().to("cpu", torch.float32).contiguous()
    digest.update(repr(tuple(inputs.shape)).encode())
    digest.update(inputs.numpy().tobytes())
    digest.update(batch.targets.detach().to("cpu", torch.int64).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


#: modules every proxy imports for its plumbing (the decorator, the batch type): not its formula
_FRAMEWORK_MODULES = frozenset({"nasbench_cli.proxies.base", "nasbench_cli.batch", "nasbench_cli.registry"})


def project_imports(source: str) -> List[str]:
    """The nasbench_cli modules ``source`` imports (at any depth: function-level imports count),
    framework modules left out, sorted."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("nasbench_cli"):
            # `from pkg import module` names the module; `from module import fn` the module
            names = [f"{node.module}.{alias.name}" if _is_module(f"{node.module}.{alias.name}") else node.module
                     for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name for name in names
                     if name.startswith("nasbench_cli.") and name not in _FRAMEWORK_MODULES)
    return sorted(found)


def _is_module(name: str) -> bool:
    """Whether ``name`` is an importable module (``from pkg import fn`` names a function, not one)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=None)
def code_fingerprint(module_name: str) -> str:
    """sha256 prefix of a proxy module's source and of the project modules it imports, directly or
    through others (helpers such as ``proxies._layers``): a changed helper changes the key of every
    proxy that uses it. A module importing no helper keeps the digest of its own source alone. ""
    where a source cannot be read (e.g. a frozen build: then the package and proxy versions alone
    key the code)."""
    source = _module_source(module_name)
    if source is None:
        return ""
    digest = hashlib.sha256(source.encode())
    for name in sorted(_imported_closure(module_name, source)):
        helper = _module_source(name)
        if helper is None:
            return ""
        digest.update(f"\n{name}:{hashlib.sha256(helper.encode()).hexdigest()}".encode())
    return digest.hexdigest()[:16]


def _module_source(module_name: str) -> Optional[str]:
    # without its papers: a proxy's reference is not its code (proxies.base.source_without_papers)
    from nasbench_cli.proxies.base import source_without_papers

    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        return source_without_papers(inspect.getsource(module))
    except (ImportError, OSError, TypeError):
        return None


def _imported_closure(module_name: str, source: str) -> Set[str]:
    """Every project module reachable from ``source`` through imports (each visited once)."""
    seen, pending = {module_name}, list(project_imports(source))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        helper = _module_source(name)
        if helper is not None:
            pending.extend(project_imports(helper))
    return seen - {module_name}


def score_context(spec: ProxySpec, settings: ScoreSettings, data: str = "") -> ScoreContext:
    """The store key of ``spec``'s scores under ``settings`` (all but the architecture).

    ``data`` is the :func:`batch_fingerprint` of the batch prefix the proxy sees (ignored for a
    proxy that reads no data)."""
    return ScoreContext(
        space=settings.space,
        dataset=settings.dataset,
        proxy=spec.name,
        batch_size=proxy_batch_size(spec, settings) if spec.needs_data else 0,
        seed=settings.seed,
        head=resolved_head(spec, settings),
        split=settings.split if spec.needs_data else "",
        code_version=nasbench_cli.__version__,
        proxy_version=getattr(spec, "version", "1"),
        options=options_key(spec, settings),
        data=data if spec.needs_data else "",
        code=code_fingerprint(spec.fn.__module__),
    )
