"""The proxy interface: one scoring function plus what it needs, registered by name.

A proxy module looks like::

    @proxy("synflow", direction="max", bn=False, loss=None, dtype="float64",
           batch_size=64, summary="sum |W * dR/dW| on an all-ones input, |W|, no BN")
    def synflow(model: nn.Module, batch: Batch, ctx: ProxyContext) -> float:
        ...

The scoring loop builds each architecture once and hands every proxy a fresh copy of the network
(rebuilt without BatchNorm for ``bn=False``), so one proxy cannot change another's result.

A proxy with settings a user may change declares them as ``options`` (``ProxyOption``: name,
default, allowed values); the run's values (``--proxy-option NAME.KEY=VALUE``, else the defaults)
reach the function as ``ctx.options`` and enter the score's store key. Every proxy that reads the
batch also takes ``batch_size`` (its ``batch_size`` condition is the default).

``paper`` names the publication a proxy comes from (a mapping with the fields of ``Paper``, written
as the decorator's last argument so that the proxy module needs no import for it). It is shown by
``nasbench proxies`` and never enters a store key: the code fingerprint reads a proxy module's
source without its ``paper=...`` arguments (:func:`source_without_papers`), so adding or
correcting a reference keeps every stored score.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Tuple, Union

import torch
from torch import nn

from nasbench_cli.batch import Batch  # defined in a neutral module; proxies import it from here
from nasbench_cli.registry import Registry


@dataclass(frozen=True)
class ProxyContext:
    """What a proxy may need beyond the network and the batch."""

    num_classes: int
    device: torch.device
    seed: int = 0
    input_shape: Optional[Tuple[int, ...]] = None  # (C, H, W) of one input; for proxies without data
    # the space proves every ReLU lies on an input-output path (SearchSpace.relus_on_path), so a
    # proxy that restricts itself to such ReLUs (NASWOT) may skip finding them
    relus_on_path: bool = False
    # the proxy's options, resolved (declared defaults overridden by the run's --proxy-option
    # values); a proxy reads ``ctx.options.get(name, DEFAULT)`` so that a bare context works too
    options: Mapping[str, Any] = field(default_factory=dict)


#: the largest value of an integer proxy option without a maximum of its own (ntk.repeats=100 is
#: already over an hour a network on one core)
INT_OPTION_MAXIMUM = 100


@dataclass(frozen=True)
class ProxyOption:
    """One setting of a proxy a user may change (``--proxy-option PROXY.NAME=VALUE``).

    The default's type is the option's type (int, float, bool or str); ``choices`` lists the
    allowed values of a str option, ``minimum`` and ``maximum`` bound a number. An integer option
    without its own maximum gets INT_OPTION_MAXIMUM: integer options count repeats or samples, which
    multiply a proxy's work, so none may make a run take hours unannounced.
    """

    name: str
    default: Any
    help: str = ""
    choices: Tuple[Any, ...] = ()
    minimum: Optional[float] = None
    maximum: Optional[float] = None

    @property
    def upper(self) -> Optional[float]:
        """The largest value allowed (INT_OPTION_MAXIMUM for an integer option without its own)."""
        if self.maximum is None and isinstance(self.default, int) and not isinstance(self.default, bool):
            return INT_OPTION_MAXIMUM
        return self.maximum

    def _range(self) -> str:
        low = f" >= {self.minimum:g}" if self.minimum is not None else ""
        high = f" <= {self.upper:g}" if self.upper is not None else ""
        return low + ("," if low and high else "") + high

    def describe(self) -> str:
        """``name`` with its allowed values and default, for error messages and --help."""
        if self.choices:
            allowed = "|".join(str(c) for c in self.choices)
        elif isinstance(self.default, bool):
            allowed = "true|false"
        elif isinstance(self.default, int):
            allowed = "integer" + self._range()
        elif isinstance(self.default, float):
            allowed = "number" + self._range()
        else:
            allowed = "text"
        return f"{self.name} ({allowed}, default {self.default})"

    def parse(self, text: str) -> Any:
        """The typed value of ``text``; ValueError with a short reason when it is not allowed."""
        text = text.strip()
        if isinstance(self.default, bool):
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError("expected true or false")
            return lowered in ("true", "1", "yes")
        if isinstance(self.default, int):
            try:
                value: Any = int(text)
            except ValueError:
                raise ValueError("expected an integer") from None
        elif isinstance(self.default, float):
            try:
                value = float(text)
            except ValueError:
                raise ValueError("expected a number") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError("expected a finite number")
        else:
            value = text
        if self.choices and value not in self.choices:
            raise ValueError(f"expected one of {', '.join(str(c) for c in self.choices)}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"expected at least {self.minimum:g}")
        if self.upper is not None and value > self.upper:
            raise ValueError(f"expected at most {self.upper:g}")
        return value


ProxyFn = Callable[[nn.Module, Batch, ProxyContext], float]


@dataclass(frozen=True)
class Paper:
    """The publication a proxy comes from."""

    authors: str
    title: str
    venue: str
    year: int
    url: str

    def cite(self) -> str:
        """One line: authors, "title", venue year, link."""
        return f'{self.authors}, "{self.title}", {self.venue} {self.year}, {self.url}'

    def as_dict(self) -> dict:
        return {"authors": self.authors, "title": self.title, "venue": self.venue, "year": self.year,
                "url": self.url}


def as_paper(value: Union[None, Paper, Mapping[str, Any]]) -> Optional[Paper]:
    """``value`` as a Paper (a mapping gives its fields); TypeError naming what is missing."""
    if value is None or isinstance(value, Paper):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"paper must be a mapping with authors, title, venue, year, url, not {type(value).__name__}")
    fields = ("authors", "title", "venue", "year", "url")
    missing = [name for name in fields if name not in value]
    extra = sorted(set(value) - set(fields))
    if missing or extra:
        raise TypeError(f"paper: missing {', '.join(missing) or '-'}; unknown {', '.join(extra) or '-'}")
    return Paper(str(value["authors"]), str(value["title"]), str(value["venue"]), int(value["year"]),
                 str(value["url"]))


def source_without_papers(source: str) -> str:
    """``source`` with the ``paper=...`` argument of every ``proxy(...)`` call cut out, from the end
    of the argument before it to the end of its value: exactly the text the module had before the
    argument was added (``..., summary="x",`` + ``paper={...},`` + ``)`` gives back
    ``..., summary="x",)``). The code fingerprint hashes this, so a reference is never part of a
    store key. Source that does not parse is returned unchanged."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    data = source.encode("utf-8")  # AST columns count UTF-8 bytes
    starts, offset = [], 0
    for line in data.splitlines(keepends=True):
        starts.append(offset)
        offset += len(line)
    starts.append(offset)

    def at(line: int, column: int) -> int:
        return starts[line - 1] + column

    spans: List[Tuple[int, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name != "proxy":
            continue
        arguments = sorted([*node.args, *node.keywords], key=lambda n: (n.lineno, n.col_offset))
        for position, argument in enumerate(arguments):
            if isinstance(argument, ast.keyword) and argument.arg == "paper" and position > 0:
                before = arguments[position - 1]
                before_end = before.value if isinstance(before, ast.keyword) else before
                spans.append((at(before_end.end_lineno, before_end.end_col_offset),
                              at(argument.value.end_lineno, argument.value.end_col_offset)))
    for start, end in sorted(spans, reverse=True):
        data = data[:start] + data[end:]
    return data.decode("utf-8")


@dataclass(frozen=True)
class ProxySpec:
    """A registered proxy: the function and the conditions it is defined under."""

    name: str
    fn: ProxyFn
    direction: str = "max"  # "max": higher is better; "min": lower is better
    bn: bool = True  # False: the network is built without BatchNorm
    loss: Optional[str] = None  # e.g. "cross_entropy"; None when no loss is used
    dtype: str = "float32"
    batch_size: Optional[int] = None  # reference code's batch size; None: the run's
    needs_data: bool = True
    summary: str = ""
    head: str = "dataset"  # "one": a 1-unit classifier head (NASWOT authors); "dataset": real classes
    # extra keyword options for the space's network builder, e.g. (("C", 1), ("N", 1)) for a thin
    # NB201 network; pairs (not a dict) keep the spec hashable: use dict(spec.build_options)
    build_options: Tuple[Tuple[str, Any], ...] = ()
    # the reference protocol whose network variant the proxy asks for (e.g. "naswot": the NASWOT
    # authors' reduced NB101 network); each space maps it to build options, "" = the benchmark's own
    reference_build: str = ""
    # settings a user may change (``--proxy-option``), with their defaults; they enter the key
    options: Tuple[ProxyOption, ...] = ()
    # build options that follow from the resolved option values, e.g. ntk's ``network=tenas``
    # -> {"C": 3, "N": 1}; None: the options do not change the network
    option_build: Optional[Callable[[Mapping[str, Any]], Mapping[str, Any]]] = None
    # bump when a change to the proxy changes its values: stored scores of other versions are
    # not reused (the score store keys scores by package version and this string)
    version: str = "1"
    # the publication the proxy comes from; shown by `nasbench proxies`, never part of a store key
    paper: Optional[Paper] = None

    def __post_init__(self) -> None:
        # a plugin's typo is caught where it is written, not as a KeyError in a worker
        for attribute, allowed in (("direction", ("max", "min")), ("dtype", ("float32", "float64")),
                                   ("head", ("one", "dataset"))):
            if getattr(self, attribute) not in allowed:
                raise ValueError(f"proxy '{self.name}': {attribute} must be one of {', '.join(allowed)}, "
                                 f"not {getattr(self, attribute)!r}")
        if not callable(self.fn):
            raise ValueError(f"proxy '{self.name}': @proxy decorates a function (model, batch, ctx) -> float")


PROXIES: Registry[ProxySpec] = Registry("proxy")


def proxy(name: str, **conditions) -> Callable[[ProxyFn], ProxyFn]:
    """Decorator registering a proxy function under ``name`` with its conditions (the fields of
    ``ProxySpec``). The public, stable way to add a proxy, built-in or plugin (docs/plugins.md):
    ``from nasbench_cli import proxy``. A name already taken by a built-in or by other code is a
    one-line PluginError; the same code defining it again (a notebook cell run twice) replaces it."""
    from nasbench_cli.plugins import admit  # plugins imports this module

    def add(fn: ProxyFn) -> ProxyFn:
        if "paper" in conditions:
            conditions["paper"] = as_paper(conditions["paper"])
        spec = ProxySpec(name=name, fn=fn, **conditions)
        PROXIES.add(name, spec, replace=admit(spec))
        return fn

    return add


#: named sets of proxies a user can ask for as one (``--proxy az_nas``: its four components);
#: ``aggregate`` names the rank rule correlate applies to them (analysis.derived.ENSEMBLE_RULES)
@dataclass(frozen=True)
class ProxyGroup:
    name: str
    members: Tuple[str, ...]
    aggregate: str = "mean-rank"
    summary: str = ""


PROXY_GROUPS: Registry[ProxyGroup] = Registry("proxy group")


def proxy_group(name: str, members: Tuple[str, ...], aggregate: str = "mean-rank", summary: str = "") -> None:
    """Register ``name`` as the proxies ``members``, combined by ``aggregate`` in correlate."""
    PROXY_GROUPS.add(name, ProxyGroup(name, tuple(members), aggregate, summary))
