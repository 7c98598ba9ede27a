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
import uuid
from dataclasses import fields
from pathlib import Path
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
_FRAMEWORK_MODULES = frozenset({"nasbench_cli.proxies.base", "nasbench_cli.batch", "nasbench_cli.registry",
                                "nasbench_cli.plugins", "nasbench_cli.api", "nasbench_cli.errors"})
FRAMEWORK_MODULES = _FRAMEWORK_MODULES
#: the code field of a plugin proxy whose code has no faithful fingerprint: unique to this process,
#: so no stored score matches it, and the engine writes none under it (computed without the store)
UNSTORED_PREFIX = "unstored-"
_UNSTORED = UNSTORED_PREFIX + uuid.uuid4().hex[:12]


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


def _conditions(spec: ProxySpec) -> tuple:
    """A plugin spec's declared conditions (dtype, BN, head, options, ...): part of its code, as
    the decorator's arguments are part of a built-in's source; its summary and paper are not."""
    return tuple((f.name, getattr(spec, f.name)) for f in fields(spec) if f.name not in ("name", "fn", "summary", "paper"))


def proxy_code(spec: ProxySpec) -> str:
    """The code fingerprint in ``spec``'s store key. A built-in: its module's source and helpers
    (:func:`code_fingerprint`). A plugin file or module: the file and the local modules it imports,
    with the function's code digest where there is one. An installed package: its module likewise.
    Code without a file (a notebook cell, ``python -c``, ``exec``): the digest of its code objects
    (nasbench_cli.code_digest), else a marker that keeps it out of the store (:func:`unstored_reason`)."""
    from nasbench_cli.code_digest import file_closure_digest, function_digest
    from nasbench_cli.plugins import ORIGINS
    from nasbench_cli.proxies.base import source_without_papers

    origin = ORIGINS.get(spec.name)
    if origin is None:
        return code_fingerprint(spec.fn.__module__)
    digest = function_digest(spec.fn, _conditions(spec))
    path = origin.path or (getattr(sys.modules.get(origin.module), "__file__", None) if origin.kind == "package" else "")
    if path and Path(path).is_file():
        files = file_closure_digest(Path(path), source_without_papers)
        return hashlib.sha256(f"{files}:{digest or ''}".encode()).hexdigest()[:16]
    return digest if digest is not None else _UNSTORED


def unstored_reason(spec: ProxySpec) -> str:
    """Why ``spec``'s scores are computed without the store ("" when they are stored)."""
    from nasbench_cli.code_digest import why_unfaithful

    if not proxy_code(spec).startswith(UNSTORED_PREFIX):
        return ""
    return (f"its code has no file and depends on {why_unfaithful(spec.fn, _conditions(spec)) or 'a value'} "
            f"(its scores would be served stale after a change): put it in a file (--plugin) to store them")


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
        code=proxy_code(spec),
    )
