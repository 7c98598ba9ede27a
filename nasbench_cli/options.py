"""Every option of a job, defined once: its type, bound or choices, default and help.

A job's options are one frozen dataclass, checked once in ``__post_init__``:

    EngineOptions   where and how scores are computed (executor, workers, threads, devices, ...)
    RunConfig       a scoring run: space, dataset, proxies, the settings that decide a score's
                    value, the store, and (inherited) the engine options

Each field carries an :class:`Option` (``field(metadata=...)`` through :func:`option`) with its
help text and its :class:`Bound` or choices. The Click options (``commands/options.py``) are made
from these declarations, the API (``api.py``) checks its keywords and lists them in its
docstrings from them, and the engine's resolved forms derive from them by inheritance:

    EngineOptions -> EngineConfig (engine/config.py: + the resolved devices)
                  -> ExecutorOptions (engine/executors/base.py: + the worker count, attempts)

So a new engine option is one field here and the code that reads it (an executor): Click, the
API, ``EngineConfig`` and ``ExecutorOptions`` all pick it up. A list that travels to every worker
(e.g. plugin files) is one more field of ``EngineOptions`` and reaches the executors the same way.

Names are never listed here: a choice that is a registry's names (executors) is read from the
registry when it is needed (``registered``), so the registry stays the only list.
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

from nasbench_cli.errors import UnknownNameError, UsageError

Choices = Union[Tuple[str, ...], Callable[[], Sequence[str]]]


@dataclass(frozen=True)
class Bound:
    """An integer option's inclusive range (``high`` None: unbounded above)."""

    low: int
    high: Optional[int] = None

    def span(self) -> str:
        return f"{self.low}..{self.high}" if self.high is not None else f">= {self.low}"

    def check(self, value: Any, name: str) -> int:
        """``value`` as an int in range; a one-line UsageError naming ``name`` for anything else
        (booleans, floats, strings, out of range), as the CLI's integer options refuse them."""
        # numpy integers are Integral too (indices and counts often come from arrays); bools are not counts
        is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if not is_int or not self.low <= int(value) <= (self.high if self.high is not None else int(value)):
            raise UsageError(f"{name} must be an integer {self.span()}, got {value!r}")
        return int(value)


#: seeds live in SQLite's signed 64-bit integers and seed numpy's generators
SEED = Bound(0, 2**63 - 1)
SEED_MAX = SEED.high
#: a count of things that must exist (architectures, runs' population, workers, threads)
POSITIVE = Bound(1)
#: a proxy's batch: NASWOT's kernel and every per-example statistic need two examples
BATCH_SIZE = Bound(2)
#: runs of one search: each is a full search, and the per-run CSV keeps one row per run
RUNS = Bound(1, 1_000_000)
#: trials of one predictor experiment (each fits a model per training size)
TRIALS = Bound(1, 10_000)
#: a held-out test set needs two architectures for a rank correlation
TEST_SIZE = Bound(2)

#: --head: each proxy's reference choice, one output unit, or the dataset's classes
HEADS = ("auto", "one", "dataset")
#: the network every space builds by default; "zc" is the zero-cost code's NB201/NATS-tss network
OFFICIAL = "official"
NETWORK_VARIANTS = (OFFICIAL, "zc")


def registered(module: str, attribute: str, *extra: str) -> Callable[[], Tuple[str, ...]]:
    """The names of registry ``module.attribute`` (plus ``extra``), read when first asked for:
    importing a registry imports its members (torch), which checking a bound must not need."""

    def names() -> Tuple[str, ...]:
        return (*extra, *getattr(importlib.import_module(module), attribute).names())

    return names


def defined_in(module: str, attribute: str) -> Callable[[], Tuple[str, ...]]:
    """The choices a module that implements them defines (``module.attribute``), read when asked for."""
    return lambda: tuple(getattr(importlib.import_module(module), attribute))


@dataclass(frozen=True)
class Option:
    """One option's declaration: what the CLI shows and what every face checks."""

    help: str
    bound: Optional[Bound] = None
    choices: Optional[Choices] = None
    label: str = ""  # what a choice is called in messages ("executor", "GPU sharing")
    flag: str = ""  # the CLI flag, when not --<field-name-with-dashes>
    metavar: Optional[str] = None
    cli: bool = True  # False: set by other CLI options (e.g. data_options) or by the command

    def names(self) -> Tuple[str, ...]:
        """The valid choices (a registry's names are read now)."""
        return tuple(self.choices() if callable(self.choices) else self.choices or ())

    def check(self, value: Any, name: str) -> Any:
        """``value`` checked against the bound or the choices (None passes: "not given")."""
        if value is None:
            return value
        if self.bound is not None:
            return self.bound.check(value, name)
        if self.choices is not None and value not in self.names():
            raise UnknownNameError(self.label or name, value, self.names())
        return value


def option(default: Any = dataclasses.MISSING, help: str = "", **declaration: Any) -> Any:
    """A dataclass field declared as a job option (see :class:`Option`)."""
    metadata = {"option": Option(help, **declaration)}
    if isinstance(default, (list, dict, set)):
        raise TypeError("option defaults must be immutable")
    return field(default=default, metadata=metadata)


def declared(cls_or_obj: Any) -> Iterator[Tuple[dataclasses.Field, Option]]:
    """The (field, declaration) pairs of a job's options, in field order."""
    for item in dataclasses.fields(cls_or_obj):
        if "option" in item.metadata:
            yield item, item.metadata["option"]


def check_declared(obj: Any) -> None:
    """Check every declared option of ``obj`` (its bound or choices); the first bad one is a
    UsageError naming it by its Python name (the CLI's own types refuse the same values first)."""
    for item, declaration in declared(obj):
        declaration.check(getattr(obj, item.name), item.name)


def field_names(cls: Any) -> Tuple[str, ...]:
    """Every field of a job's options class."""
    return tuple(item.name for item in dataclasses.fields(cls))


def values_of(obj: Any, cls: Any) -> Dict[str, Any]:
    """``obj``'s values of the fields ``cls`` has."""
    return {name: getattr(obj, name) for name in field_names(cls)}


def derive(cls: Any, obj: Any, **values: Any) -> Any:
    """A ``cls`` made from every field of ``obj`` that ``cls`` also has, and ``values``: how a
    resolved form (EngineConfig, ExecutorOptions) is made from the options it derives from."""
    shared = {name: getattr(obj, name) for name in field_names(cls) if hasattr(obj, name)}
    return cls(**{**shared, **values})


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """Where and how scores are computed (never what they are), as asked for."""

    device: str = option("auto", "auto (CUDA when present), cpu, cuda or cuda:N.")
    devices: Optional[str] = option(None, "Several devices, one worker each: cuda:0,cuda:1 or 'all' "
                                          "(every visible GPU).")
    executor: str = option("auto", "Where scores are computed: this process, local worker processes, or Ray "
                                   "(auto: local workers unless there are too few architectures to pay their start).",
                           choices=registered("nasbench_cli.engine.executors", "EXECUTORS", "auto"), label="executor")
    workers: Optional[int] = option(None, "Worker processes / Ray actors [default: one per device, or cores / "
                                          "threads on CPU].", bound=POSITIVE)
    gpu_share: str = option("auto", "Several workers per GPU through CUDA MPS: auto (an MPS daemon already "
                                    "running, else a private one for the run, else one worker per GPU), mps "
                                    "(required) or none.",
                            choices=defined_in("nasbench_cli.engine.gpu_share", "GPU_SHARE_CHOICES"), label="GPU sharing")
    threads: int = option(1, "Torch threads per worker (CPU gradient proxies depend on it in the last bits, so "
                             "every executor uses the same count).", bound=POSITIVE)
    ray_address: str = option("", "Ray cluster address [default: start a local Ray].")
    # plugin files: loaded by the driver before any name is checked, then by every worker (the
    # engine's ScorerSpec carries them, with the other plugin proxies the run uses: see plugins.py)
    plugins: Tuple[str, ...] = option((), "A Python file of your own proxies (@proxy), repeatable; also "
                                          "$NASBENCH_PLUGINS (paths separated by the OS path separator) and "
                                          "installed packages (entry points 'nasbench_cli.proxies'). A plugin is "
                                          "code you chose to run (docs/plugins.md).",
                                      flag="--plugin", metavar="FILE.py")

    def __post_init__(self) -> None:
        object.__setattr__(self, "plugins", plugin_paths(self.plugins))
        check_declared(self)


def plugin_paths(value: Any) -> Tuple[str, ...]:
    """Plugin files as a tuple of texts (one path, or several); a UsageError for anything else."""
    if isinstance(value, (str, Path)):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(isinstance(item, (str, Path)) for item in value):
        raise UsageError(f"plugins must be plugin file paths, not {value!r}")
    return tuple(str(item) for item in value)


def engine_options_of(obj: Any) -> EngineOptions:
    """The engine options part of ``obj`` (a RunConfig, an EngineConfig, ...)."""
    return EngineOptions(**values_of(obj, EngineOptions))


@dataclass(frozen=True)
class RunConfig(EngineOptions):
    """Everything a scoring run is asked to do, as typed values, checked once when made."""

    space: str
    dataset: str
    proxies: Tuple[str, ...]
    score_seed: int = option(0, "Seed of the scores (network init and batch).", bound=SEED, flag="--seed")
    batch_size: Optional[int] = option(None, "Proxy batch size [default: each proxy's reference size].",
                                       bound=BATCH_SIZE)
    split: str = option("train", "Dataset split the batch is drawn from.")
    head: str = option("auto", "Classifier width: each proxy's reference choice, 1 unit, or the dataset's classes.",
                       choices=HEADS, label="head")
    # ``NAME.KEY=VALUE`` texts of --proxy-option, checked against the proxies when the settings are made
    proxy_options: Tuple[str, ...] = option(
        (), "A proxy's own setting, repeatable: e.g. ntk.repeats=3, ntk.batch_size=32, ntk.network=tenas, "
            "linear_regions.repeats=1 (an unknown option lists the valid ones; PROXY.batch_size overrides "
            "--batch-size for that proxy).", flag="--proxy-option", metavar="PROXY.OPTION=VALUE")
    network_variant: str = option(OFFICIAL, "NB201/NATS-tss network: the benchmark's own, or zc, the zero-cost "
                                            "proxies' re-implementation their paper's numbers were computed on.",
                                  choices=NETWORK_VARIANTS, label="network variant")
    augment: str = option("none", "The batch's transform: none (NASWOT's authors), or train, the CIFAR training "
                                  "transform (pad-4 random crop, flip) the zero-cost authors drew their batch with.",
                          choices=defined_in("nasbench_cli.datasets.augment", "AUGMENTATIONS"), label="augmentation")
    data_dir: Optional[Path] = None
    store_path: Optional[Path] = None
    no_store: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxies", tuple(self.proxies))
        object.__setattr__(self, "proxy_options", tuple(self.proxy_options or ()))
        object.__setattr__(self, "plugins", plugin_paths(self.plugins))
        check_declared(self)

    @classmethod
    def from_options(cls, proxies: Sequence[str], **options: Any) -> "RunConfig":
        """From the Click options of a command (keys that are not fields are the command's own)."""
        names = set(field_names(cls))
        return cls(proxies=tuple(proxies), **{k: v for k, v in options.items() if k in names})

    @property
    def engine(self) -> EngineOptions:
        """The run's engine options."""
        return engine_options_of(self)


def describe_options(cls: Any, names: Sequence[str]) -> str:
    """Docstring lines for the declared options ``names`` of ``cls``: name, help, bound or choices
    (the API's docstrings list its keyword options from here)."""
    lines = []
    for item, declaration in declared(cls):
        if item.name in names:
            extra = (f" [{declaration.bound.span()}]" if declaration.bound is not None else
                     f" [{', '.join(declaration.choices)}]" if isinstance(declaration.choices, tuple) else "")
            lines.append(f"    - ``{item.name}`` (default {item.default!r}): {declaration.help}{extra}")
    return "\n".join(lines)


#: RunConfig fields a face sets itself (the API from its own arguments, the CLI from its own options)
RUN_IDENTITY = ("space", "dataset", "proxies", "score_seed", "data_dir", "store_path", "no_store")
#: keyword options the API passes to RunConfig as they are: every other field
RUN_OPTIONS = tuple(name for name in field_names(RunConfig) if name not in RUN_IDENTITY)
