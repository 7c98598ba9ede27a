"""Click options shared by the commands that score: each defined once, applied as one decorator."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Callable, List

import click
from click.shell_completion import CompletionItem

import nasbench_cli.options as job_options
from nasbench_cli.logs import configure_cli_logging
from nasbench_cli.options import EngineOptions, RunConfig

Decorator = Callable[[Callable], Callable]


def compose(*decorators: Decorator) -> Decorator:
    """One decorator applying ``decorators`` so that options appear in the order given."""

    def apply(fn: Callable) -> Callable:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def int_range(bound: job_options.Bound) -> click.IntRange:
    """The Click type of an integer option with ``bound`` (nasbench_cli.options)."""
    return click.IntRange(bound.low, bound.high)


#: seeds are stored in SQLite's signed 64-bit integers and fed to numpy's generators
SEED = int_range(job_options.SEED)


def declared_option(cls: type, name: str, flag: str = "", **overrides) -> Decorator:
    """The Click option of field ``name`` of a job's options class, made from its declaration
    (flag, type from the bound or choices, default, help); ``flag`` and ``overrides`` (Click's
    own keywords) are what a command says differently (e.g. --score-seed, its own help text)."""
    item = next(f for f, _ in job_options.declared(cls) if f.name == name)
    declaration: job_options.Option = item.metadata["option"]
    kwargs = dict(default=item.default, help=declaration.help, show_default=item.default not in (None, "", ()))
    if declaration.bound is not None:
        kwargs["type"] = int_range(declaration.bound)
    elif declaration.choices is not None:
        kwargs["type"] = click.Choice(declaration.names())
    if isinstance(item.default, tuple):
        kwargs.update(multiple=True, show_default=False)
    if declaration.metavar:
        kwargs["metavar"] = declaration.metavar
    kwargs.update(overrides)
    flag = flag or declaration.flag or "--" + name.replace("_", "-")
    return click.option(flag, name, **kwargs)


def _load_plugins(ctx: click.Context, _param: click.Parameter, value) -> tuple:
    """--plugin's callback: load the plugins (with $NASBENCH_PLUGINS and installed packages) while
    the command line is parsed, so that --proxy and --proxy-option see their proxies."""
    if ctx.resilient_parsing:  # shell completion: run no user code
        return tuple(value or ())
    from nasbench_cli.workflows.plugins import load_run_plugins

    load_run_plugins(value or ())
    return tuple(value or ())


#: what a field's Click option adds to its declaration (how the CLI acts on it)
CLI_EXTRAS = {"plugins": dict(callback=_load_plugins, is_eager=True,
                              type=click.Path(dir_okay=True, path_type=str))}


def declared_options(cls: type, names=None) -> Decorator:
    """The Click options of every CLI field of ``cls`` (or of ``names``), in field order."""
    wanted = [f.name for f, d in job_options.declared(cls) if d.cli and (names is None or f.name in names)]
    return compose(*(declared_option(cls, name, **CLI_EXTRAS.get(name, {})) for name in wanted))


def registered_names(kind: str) -> List[str]:
    """The registered names of ``kind`` (space, dataset, algorithm, proxy: proxies, groups and
    'all'); the registries are imported only here, when a shell asks, as they import torch."""
    if kind == "space":
        from nasbench_cli.spaces import SPACES as registry
    elif kind == "dataset":
        from nasbench_cli.datasets import DATASETS as registry
    elif kind == "algorithm":
        from nasbench_cli.search import ALGORITHMS as registry
    else:
        from nasbench_cli.proxies import PROXIES, PROXY_GROUPS

        return [*PROXIES.names(), *PROXY_GROUPS.names(), "all"]
    return registry.names()


def complete_names(kind: str) -> Callable[[click.Context, click.Parameter, str], List[CompletionItem]]:
    """A Click ``shell_complete`` offering the registered names of ``kind`` that start with what
    is typed; in a comma-separated list (--proxy naswot,syn) the last item is completed."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> List[CompletionItem]:
        head, comma, last = incomplete.rpartition(",")
        taken = set(head.split(",")) if comma else set()
        try:
            names = registered_names(kind)
        except Exception:  # a completion must never print a traceback into the shell
            return []
        return [CompletionItem(f"{head}{comma}{name}") for name in names
                if name.startswith(last) and name not in taken and not (comma and name == "all")]

    return complete


#: what the values of these options (and of `data download NAME`) are names of
COMPLETED_OPTIONS = {"--space": "space", "--dataset": "dataset", "--algo": "algorithm", "--proxy": "proxy"}
COMPLETED_ARGUMENTS = {("data download", "name"): "dataset"}


def attach_completions(command: click.Command, path: str = "") -> None:
    """Give the --space, --dataset, --algo and --proxy options of ``command`` and its subcommands
    (and `data download NAME`) the registered names as shell completions; options with choices of
    their own, or a completion of their own, keep theirs. Done once over the command tree, so the
    commands keep declaring their options as plain strings."""
    for param in command.params:
        if isinstance(param, click.Option):
            kind = next((COMPLETED_OPTIONS[o] for o in param.opts if o in COMPLETED_OPTIONS), None)
        else:
            kind = COMPLETED_ARGUMENTS.get((path, param.name))
        # Click keeps a parameter's shell_complete argument here (Click 8.0 and later)
        if kind and not isinstance(param.type, click.Choice) and param._custom_shell_complete is None:
            param._custom_shell_complete = complete_names(kind)
    for name, sub in getattr(command, "commands", {}).items():
        attach_completions(sub, f"{path} {name}".strip())


space_option = click.option("--space", required=True, shell_complete=complete_names("space"),
                            help="Search space (see `nasbench spaces`).")

data_options = compose(
    click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NASBENCH_DATA", default=None,
                 help="Data directory [env NASBENCH_DATA; default: user cache]."),
    click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), envvar="NASBENCH_STORE",
                 default=None, help="Score store file [env NASBENCH_STORE; default: the user cache, see `nasbench data status`]."),
    click.option("--no-store", is_flag=True, help="Throwaway run: neither reuse nor keep scores."),
)


#: the RunConfig fields that decide a score's value (the seed apart: its flag is the command's)
PROXY_SETTINGS = ("batch_size", "split", "head", "proxy_options", "network_variant", "augment")


def proxy_settings_options(seed_flag: str, seed_help: str) -> Decorator:
    """Options that decide a score's value: its seed (named ``seed_flag``), batch size, split, head,
    per-proxy options, the network variant and the batch's augmentation (RunConfig's declarations)."""
    return compose(declared_option(RunConfig, "score_seed", flag=seed_flag, help=seed_help),
                   declared_options(RunConfig, PROXY_SETTINGS))


#: where and how scores are computed: every EngineOptions field (a new one appears here by itself)
engine_options = declared_options(EngineOptions)
#: --plugin alone, for a command that lists proxies without computing them (`nasbench proxies`)
plugin_option = declared_options(EngineOptions, ("plugins",))

output_options = compose(
    click.option("--timing/--no-timing", default=True, show_default=True,
                 help="Add measured seconds (--no-timing: byte-identical outputs across runs)."),
)


def verbosity_options(fn: Callable) -> Callable:
    """``-v/--verbose`` and ``-q/--quiet`` for a command: they set the level of the ``nasbench``
    logger (messages on stderr) before the command runs. ``quiet`` is passed on to commands that
    take it (those with progress bars); ``verbose`` is consumed here."""
    takes_quiet = any(p.name == "quiet" or p.kind is inspect.Parameter.VAR_KEYWORD
                      for p in inspect.signature(fn).parameters.values())

    @functools.wraps(fn)
    def run(*args, verbose: int, quiet: bool, **kwargs):
        configure_cli_logging(verbose - (1 if quiet else 0))
        if takes_quiet:
            kwargs["quiet"] = quiet
        return fn(*args, **kwargs)

    run = click.option("-q", "--quiet", is_flag=True,
                       help="Warnings and errors only: no progress bars, notes or 'wrote' lines (bars are drawn "
                            "only on a terminal or in a notebook; NASBENCH_PROGRESS=1 draws them into logs too).")(run)
    return click.option("-v", "--verbose", count=True,
                        help="More detail on stderr (debug messages; repeatable).")(run)



class OutputPath(click.Path):
    """``--out FILE``: a path kept as given long enough to see what Path() would hide: '' (no
    name) and a trailing '/' (a directory, which Path('newdir/') would turn into a file 'newdir')."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value != "-":
            if not value.strip():
                self.fail("'' is not a file name: give one, or - for standard output", param, ctx)
            if value.endswith(("/", "\\")):
                self.fail(f"{value} ends in '/', so it names a directory: give a file name inside it, "
                          f"e.g. {value}out.csv", param, ctx)
        return super().convert(value, param, ctx)


#: the type of every command's --out
OUT_FILE = OutputPath()
