"""What a proxy is asked to compute: the run's ScoreSettings, each proxy's options (parsed from
``--proxy-option``, resolved against its declarations), its batch size, head and network build.

Everything here is plain data and pure functions of (proxy spec, settings, space): the scorer
(scoring.py), the store keys (store_keys.py) and the provenance record all read a proxy's
settings through them, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

from nasbench_cli.errors import UsageError
from nasbench_cli.options import NETWORK_VARIANTS, OFFICIAL  # noqa: F401  (the variants' names)
from nasbench_cli.proxies.base import ProxyOption, ProxySpec
from nasbench_cli.spaces.base import SearchSpace


# the network every space builds by default (OFFICIAL); other variants (NETWORK_VARIANTS) exist
# where the space's builder takes a ``variant`` option (NB201 and NATS tss: "zc", the zero-cost
# code's network)

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
