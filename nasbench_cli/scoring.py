"""The scoring loop: architectures -> networks -> proxy scores, computed once and kept in the store.

Each architecture's networks are built from a seed derived from (run seed, architecture index),
and each proxy takes a prefix of one seeded batch, so a score depends only on its store context
(space, dataset, proxy, batch size, seed, head, split, code version, the proxy's options and the
network variant) and the architecture: a resumed, reordered or partial run, or another command,
reuses it unchanged.

This module computes the scores of one architecture (``ArchitectureScorer``) and holds a proxy's
scores over a whole space for search (``ProxyScores``); which architectures are computed where, and
the writing of the store, belong to the engine (nasbench_cli/engine/).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

import numpy as np
import torch
from torch import nn

import nasbench_cli
from nasbench_cli.batch import Batch
from nasbench_cli.device_network import DeviceNetwork
from nasbench_cli.errors import EnvironmentFailure, UsageError
from nasbench_cli.proxies.base import ProxyContext, ProxyOption, ProxySpec
from nasbench_cli.runtime import derive_seed
from nasbench_cli.spaces.base import SearchSpace
from nasbench_cli.store import ScoreContext, ScoreStore

DTYPES = {"float32": torch.float32, "float64": torch.float64}

#: the network every space builds by default; other variants exist where the space's builder
#: takes a ``variant`` option (NB201 and NATS tss: "zc", the zero-cost code's network)
OFFICIAL = "official"
NETWORK_VARIANTS = ("official", "zc")

#: proxy name -> ((option, value), ...), sorted: hashable and picklable, one canonical form
ProxyOptionValues = Tuple[Tuple[str, Tuple[Tuple[str, Any], ...]], ...]


@dataclass(frozen=True)
class ScoreSettings:
    """Everything that decides a row's values, for the requested set of proxies."""

    space: str
    dataset: str
    proxies: Tuple[str, ...]
    seed: int
    batch_size: Optional[int]  # None: each proxy's reference batch size
    head: str  # "auto" (each proxy's reference head), "one" or "dataset"
    split: str
    # values given with --proxy-option (checked by parse_proxy_options); the rest are defaults
    proxy_options: ProxyOptionValues = ()
    network_variant: str = OFFICIAL
    augment: str = "none"  # the batch's transform (nasbench_cli.datasets.augment)

    def given_options(self, name: str) -> Dict[str, Any]:
        """The --proxy-option values given for proxy ``name`` (batch_size included)."""
        return dict(dict(self.proxy_options).get(name, ()))


def batch_size_option(spec: ProxySpec) -> ProxyOption:
    """The ``batch_size`` option every proxy that reads the batch takes."""
    return ProxyOption("batch_size", int(spec.batch_size or 64), "images the proxy sees", minimum=2)


def proxy_option_specs(spec: ProxySpec) -> Dict[str, ProxyOption]:
    """Option name -> declaration for ``spec``: its own options, and batch_size where it reads data."""
    declared = {option.name: option for option in spec.options}
    if spec.needs_data and "batch_size" not in declared:
        declared["batch_size"] = batch_size_option(spec)
    return dict(sorted(declared.items()))


def parse_proxy_options(texts: Iterable[str], proxies: Sequence[str]) -> ProxyOptionValues:
    """``NAME.KEY=VALUE`` texts -> checked, typed values per proxy (canonical order).

    Every problem is a one-line UsageError saying what is valid: a malformed text, a proxy not
    in the run, an option the proxy does not declare, a value the option does not allow.
    """
    from nasbench_cli.proxies import PROXIES

    values: Dict[str, Dict[str, Any]] = {}
    for text in texts:
        target, sep, raw = text.partition("=")
        name, dot, key = target.strip().partition(".")
        if not sep or not dot or not name or not key.strip():
            raise UsageError(f"--proxy-option expects PROXY.OPTION=VALUE (e.g. ntk.repeats=3), got '{text}'")
        key = key.strip()
        if name not in proxies:
            raise UsageError(f"--proxy-option {target.strip()}: proxy '{name}' is not scored in this run "
                             f"(proxies: {', '.join(proxies)})")
        declared = proxy_option_specs(PROXIES.get(name))
        if key not in declared:
            valid = "; ".join(option.describe() for option in declared.values()) or "none"
            raise UsageError(f"--proxy-option {name}.{key}: {name} has no option '{key}'; valid options: {valid}")
        try:
            value = declared[key].parse(raw)
        except ValueError as err:
            raise UsageError(f"--proxy-option {name}.{key}={raw.strip()}: {err}; {name}.{declared[key].describe()}") \
                from None
        values.setdefault(name, {})[key] = value
    return tuple(sorted((name, tuple(sorted(opts.items()))) for name, opts in values.items()))


def check_network_variant(variant: str) -> str:
    """``variant`` if it is a known network variant; UsageError listing the valid ones."""
    if variant not in NETWORK_VARIANTS:
        raise UsageError(f"unknown network variant '{variant}'; valid variants: {', '.join(NETWORK_VARIANTS)}")
    return variant


def resolved_options(spec: ProxySpec, settings: ScoreSettings) -> Dict[str, Any]:
    """The options ``spec`` runs with: declared defaults, overridden by --proxy-option values
    (batch_size is not among them: it is the store key's own field, see proxy_batch_size)."""
    given = settings.given_options(spec.name)
    return {option.name: given.get(option.name, option.default) for option in spec.options}


def options_key(spec: ProxySpec, settings: ScoreSettings) -> str:
    """The store key's ``options`` text: resolved options and a non-official network variant.

    "" for a proxy without options on the official network: the key such scores always had."""
    parts = dict(resolved_options(spec, settings))
    if settings.network_variant != OFFICIAL:
        parts["variant"] = settings.network_variant
    return ";".join(f"{key}={_option_text(value)}" for key, value in sorted(parts.items()))


def _option_text(value: Any) -> str:
    # bools as true/false so that the key reads like the command line
    return str(value).lower() if isinstance(value, bool) else str(value)


def proxy_batch_size(spec: ProxySpec, settings: ScoreSettings) -> int:
    """The batch size a proxy runs with: its ``batch_size`` option, else --batch-size, else the
    proxy's reference size."""
    own = settings.given_options(spec.name).get("batch_size")
    return own or settings.batch_size or spec.batch_size or 64


def build_options(spec: ProxySpec, settings: ScoreSettings, space: SearchSpace) -> Dict[str, Any]:
    """The ``build`` options of the network ``spec`` scores on ``space`` under ``settings``: the
    space's network for the proxy's reference protocol (e.g. NASWOT's reduced NB101), the proxy's
    own needs (e.g. linear_regions' single cell), what its options ask for (ntk's
    ``network=tenas``), and the run's network variant."""
    options = {**space.reference_build_options(spec.reference_build), **dict(spec.build_options)}
    if spec.option_build is not None:
        options.update(spec.option_build(resolved_options(spec, settings)))
    if settings.network_variant != OFFICIAL:
        options["variant"] = settings.network_variant
    return options


def check_buildable(specs: Sequence[ProxySpec], settings: ScoreSettings, space: SearchSpace) -> None:
    """UsageError when ``space`` cannot build the network a proxy (or the variant) needs."""
    known = set(space.build_option_names)
    if settings.network_variant != OFFICIAL and "variant" not in known:
        raise UsageError(f"network variant '{settings.network_variant}' is not defined for space {space.name}; "
                         f"it applies to spaces whose builder takes a variant (nb201, nats-tss)")
    for spec in specs:
        # the reference protocol's options are the space's own; the rest must be understood
        wanted = set(dict(spec.build_options))
        if spec.option_build is not None:
            wanted |= set(spec.option_build(resolved_options(spec, settings)))
        if wanted and not wanted <= known:
            raise UsageError(
                f"proxy {spec.name} needs networks built with {sorted(wanted)}, which space "
                f"{space.name} cannot build; it applies to spaces whose builder takes those options"
            )


def resolved_head(spec: ProxySpec, settings: ScoreSettings) -> str:
    """"one" or "dataset": the run's --head, or the proxy's reference head for "auto"."""
    return spec.head if settings.head == "auto" else settings.head


def head_classes(spec: ProxySpec, settings: ScoreSettings, num_classes: int) -> int:
    """Width of the classifier head for a proxy (NASWOT's authors use a single unit)."""
    return 1 if resolved_head(spec, settings) == "one" else num_classes


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


class ProxyResult(NamedTuple):
    """One proxy's outcome on one architecture: value (NaN on failure), seconds, error text."""

    value: float
    seconds: float
    error: Optional[str] = None


class ArchitectureScorer:
    """Scores one architecture with several proxies, sharing construction and the data batch."""

    def __init__(
        self,
        space: SearchSpace,
        specs: Sequence[ProxySpec],
        batch: Batch,
        num_classes: int,
        settings: ScoreSettings,
        device: torch.device,
    ):
        self.space, self.specs, self.batch = space, list(specs), batch
        self.num_classes, self.settings, self.device = num_classes, settings, device
        check_buildable(self.specs, settings, space)
        # read-only views: one mapping serves every architecture, a proxy must not change it
        self.options = {spec.name: MappingProxyType(resolved_options(spec, settings)) for spec in self.specs}

    def _variant(self, spec: ProxySpec) -> tuple:
        """The network variant ``spec`` scores: (BN kept, head width, build options)."""
        options = build_options(spec, self.settings, self.space)
        return (spec.bn, head_classes(spec, self.settings, self.num_classes), tuple(sorted(options.items())))

    def _build(self, index: int, key: tuple, dtype: torch.dtype, shared: bool) -> DeviceNetwork:
        # same seed for every variant: BN and head differences leave the other weights equal
        torch.manual_seed(derive_seed(self.settings.seed, "arch", index))
        return DeviceNetwork(self.space.build(index, key[1], bn=key[0], **dict(key[2])), self.device, dtype, shared)

    def _network(self, index: int, key: tuple, dtype: torch.dtype, built: Dict[tuple, DeviceNetwork],
                 shared: bool = False) -> nn.Module:
        """The network of ``key`` on the device in ``dtype``, with its initial values: each proxy
        gets them afresh (written back in place), so one proxy cannot change what another sees.
        ``shared``: other proxies of this architecture score the same network."""
        model = built[key].fresh(dtype) if key in built else None
        if model is None:  # first use, or a proxy replaced parts of the module: build it again
            built[key] = self._build(index, key, dtype, shared)
            model = built[key].fresh(dtype)
        return model

    def network_for(self, spec: ProxySpec, index: int) -> nn.Module:
        """The network ``spec`` scores for architecture ``index``: built, on the device, in the
        proxy's dtype, in train mode, exactly as ``score_proxies`` hands it to the proxy."""
        model = self._network(index, self._variant(spec), DTYPES[spec.dtype], {})
        model.train()
        return model

    def relus_on_path(self, spec: ProxySpec) -> bool:
        """Whether every ReLU of ``spec``'s network lies on an input-output path (the space
        proves it for its plain networks; a special build, e.g. a thin cell, is not covered)."""
        return self.space.relus_on_path and not self._variant(spec)[2]

    def batch_for(self, spec: ProxySpec) -> Batch:
        """The batch prefix ``spec`` scores on, in its dtype."""
        return self._batch_for(spec)

    def data_fingerprint(self, spec: ProxySpec) -> str:
        """The :func:`batch_fingerprint` of the batch prefix ``spec`` scores on."""
        size = proxy_batch_size(spec, self.settings)
        return batch_fingerprint(Batch(self.batch.inputs[:size], self.batch.targets[:size]))

    def _batch_for(self, spec: ProxySpec) -> Batch:
        size = proxy_batch_size(spec, self.settings)
        dtype = DTYPES[spec.dtype]
        return Batch(self.batch.inputs[:size].to(dtype), self.batch.targets[:size])

    def score_proxies(self, index: int, names: Optional[Sequence[str]] = None) -> Dict[str, ProxyResult]:
        """Proxy name -> result for ``names`` (all when None); a failing proxy gives NaN and its error.

        A proxy's seconds include building the network when it is the first to need it.
        """
        wanted = [s for s in self.specs if names is None or s.name in set(names)]
        keys = {spec.name: self._variant(spec) for spec in wanted}
        users = Counter(keys.values())
        built: Dict[tuple, DeviceNetwork] = {}
        results: Dict[str, ProxyResult] = {}
        for spec in wanted:
            key = keys[spec.name]
            ctx = ProxyContext(
                num_classes=key[1],
                device=self.device,
                seed=derive_seed(self.settings.seed, "proxy", spec.name, index),
                input_shape=tuple(self.batch.inputs.shape[1:]),
                relus_on_path=self.relus_on_path(spec),
                options=self.options[spec.name],
            )
            start = time.perf_counter()
            try:
                model = self._network(index, key, DTYPES[spec.dtype], built, shared=users[key] > 1)
                model.train()
                value, error = float(spec.fn(model, self._batch_for(spec), ctx)), None
            except (RuntimeError, ValueError, ArithmeticError) as err:
                if _is_out_of_memory(err):
                    raise  # the engine frees memory and retries; never stored as a failed score
                if is_environment_failure(err):
                    raise _environment_failure(spec.name, index, err) from err
                value, error = float("nan"), f"{type(err).__name__}: {_first_line(err)}"
            except (MemoryError, OSError, ImportError) as err:
                raise _environment_failure(spec.name, index, err) from err
            results[spec.name] = ProxyResult(value, time.perf_counter() - start, error)
        return results


#: message fragments of RuntimeErrors raised by the machine (allocator, threads, GPU libraries),
#: not by a proxy's mathematics: such a failure stops the run and is never stored as a score
ENVIRONMENT_MARKERS = ("bad_alloc", "defaultcpuallocator", "can't start new thread", "cuda error", "cudnn_status",
                       "cublas_status", "cusolver_status", "nccl error", "too many open files", "no space left",
                       "resource temporarily unavailable", "cuda driver", "no cuda gpus")


def is_environment_failure(err: BaseException) -> bool:
    """Whether ``err`` comes from the machine rather than from the proxy's computation."""
    if isinstance(err, (MemoryError, OSError, ImportError)):
        return True
    return isinstance(err, RuntimeError) and is_environment_message(str(err))


def is_environment_message(text: str) -> bool:
    """Whether a stored error text names a failure of the machine (stored by versions that did
    not tell them apart): such a score is computed again, never served."""
    return any(marker in text.lower() for marker in ENVIRONMENT_MARKERS)


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else ""


def _environment_failure(proxy: str, index: int, err: BaseException) -> EnvironmentFailure:
    return EnvironmentFailure(
        f"{proxy} on architecture {index} failed because of the machine, not the proxy "
        f"({type(err).__name__}: {_first_line(err) or 'no message'}): nothing stored for it; "
        f"scores already computed are kept, rerun once the cause (memory, --threads, device) is fixed")


def _is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


def make_scorer(space: SearchSpace, dataset, specs: Sequence[ProxySpec], settings: ScoreSettings,
                data_dir: Path, device: torch.device):
    """An ArchitectureScorer with the run's seeded batch (large enough for every proxy).

    Returns the scorer and the batch's ImageSet (files and note, for provenance).
    """
    from nasbench_cli.datasets import make_batch

    sizes = [proxy_batch_size(spec, settings) for spec in specs if spec.needs_data]
    largest = max(sizes) if sizes else 2
    batch, images = make_batch(dataset, data_dir, largest, derive_seed(settings.seed, "batch"),
                               split=settings.split, device=device, with_source=True, augment=settings.augment)
    return ArchitectureScorer(space, specs, batch, dataset.num_classes, settings, device), images


class ProxyScores:
    """One proxy's scores over a whole space, for search: stored ones loaded in one query, missing
    ones computed by the engine.

    ``rank_values`` orients scores so that higher is better, with NaN (a failed proxy) and -inf
    (a singular NASWOT kernel) both the worst possible value.
    """

    def __init__(self, store: ScoreStore, context: ScoreContext, space: SearchSpace, direction: str,
                 compute: Callable[[List[int]], Dict[int, "ProxyResult"]]):
        self.store, self.context, self.space, self.direction = store, context, space, direction
        self._compute = compute
        size = len(space)
        self.values = np.full(size, np.nan)
        self.seconds = np.zeros(size)
        self.known = np.zeros(size, dtype=bool)
        self.computed = 0
        stored = store.get_many(context, None, arch_of=space.arch_str)
        for index, score in stored.items():
            if 0 <= index < size:
                self._set(index, score.value, score.seconds)
        self.loaded = len(stored)

    def _set(self, index: int, value: float, seconds: Optional[float]) -> None:
        self.values[index] = value
        self.seconds[index] = seconds or 0.0
        self.known[index] = True

    def missing(self, indices: Iterable[int]) -> List[int]:
        """Distinct indices (first-seen order) without a score yet."""
        return [i for i in dict.fromkeys(int(i) for i in indices) if not self.known[i]]

    def ensure(self, indices: Iterable[int]) -> int:
        """Compute (through the engine, which stores them) the scores ``indices`` lack; returns how
        many were computed."""
        todo = self.missing(indices)
        if not todo:
            return 0
        for index, result in self._compute(todo).items():
            self._set(index, result.value, result.seconds)
        self.computed += len(todo)
        return len(todo)

    def rank_values(self, indices: Sequence[int]) -> np.ndarray:
        """Scores of ``indices`` (computing missing ones), higher is better, NaN/-inf -> -inf."""
        idx = np.asarray(indices, dtype=np.int64)
        if not self.known[idx].all():
            self.ensure(idx.tolist())
        values = self.values[idx]
        if self.direction == "min":
            values = -values
        return np.where(np.isnan(values), -np.inf, values)

    def cost(self, indices: Sequence[int]) -> float:
        """Seconds the scores of ``indices`` took when computed (each listed index counted)."""
        return float(self.seconds[np.asarray(indices, dtype=np.int64)].sum())
