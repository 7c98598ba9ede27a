"""Click options shared by the commands that score: each defined once, applied as one decorator."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Callable

import click

from nasbench_cli.engine.driver import EXECUTOR_CHOICES
from nasbench_cli.engine.gpu_share import GPU_SHARE_CHOICES
from nasbench_cli.logs import configure_cli_logging

Decorator = Callable[[Callable], Callable]


def compose(*decorators: Decorator) -> Decorator:
    """One decorator applying ``decorators`` so that options appear in the order given."""

    def apply(fn: Callable) -> Callable:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


#: seeds are stored in SQLite's signed 64-bit integers and fed to numpy's generators: 0 .. 2**63 - 1
SEED = click.IntRange(0, 2**63 - 1)

space_option = click.option("--space", required=True, help="Search space (see `nasbench spaces`).")

data_options = compose(
    click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NASBENCH_DATA", default=None,
                 help="Data directory [env NASBENCH_DATA; default: user cache]."),
    click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), envvar="NASBENCH_STORE",
                 default=None, help="Score store file [env NASBENCH_STORE; default: the user cache, see `nasbench data status`]."),
    click.option("--no-store", is_flag=True, help="Throwaway run: neither reuse nor keep scores."),
)


#: network variants --network-variant offers (nasbench_cli.scoring.NETWORK_VARIANTS, kept here
#: as literals so that --help needs no torch import)
NETWORK_VARIANT_CHOICES = ("official", "zc")
#: --augment choices (nasbench_cli.datasets.augment.AUGMENTATIONS, literals for the same reason)
AUGMENT_CHOICES = ("none", "train")


def proxy_settings_options(seed_flag: str, seed_help: str) -> Decorator:
    """Options that decide a score's value: its seed (named ``seed_flag``), batch size, split, head,
    per-proxy options, the network variant and the batch's augmentation."""
    return compose(
        click.option(seed_flag, "score_seed", type=SEED, default=0, show_default=True, help=seed_help),
        click.option("--batch-size", type=int, default=None,
                     help="Proxy batch size [default: each proxy's reference size]."),
        click.option("--split", default="train", show_default=True, help="Dataset split the batch is drawn from."),
        click.option("--head", type=click.Choice(["auto", "one", "dataset"]), default="auto", show_default=True,
                     help="Classifier width: each proxy's reference choice, 1 unit, or the dataset's classes."),
        click.option("--proxy-option", "proxy_options", multiple=True, metavar="PROXY.OPTION=VALUE",
                     help="A proxy's own setting, repeatable: e.g. ntk.repeats=3, ntk.batch_size=32, "
                          "ntk.network=tenas, linear_regions.repeats=1 (an unknown option lists the valid "
                          "ones; PROXY.batch_size overrides --batch-size for that proxy)."),
        click.option("--network-variant", type=click.Choice(NETWORK_VARIANT_CHOICES), default="official",
                     show_default=True,
                     help="NB201/NATS-tss network: the benchmark's own, or zc, the zero-cost proxies' "
                          "re-implementation their paper's numbers were computed on."),
        click.option("--augment", type=click.Choice(AUGMENT_CHOICES), default="none", show_default=True,
                     help="The batch's transform: none (NASWOT's authors), or train, the CIFAR training "
                          "transform (pad-4 random crop, flip) the zero-cost authors drew their batch with."),
    )


engine_options = compose(
    click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu, cuda or cuda:N."),
    click.option("--devices", default=None,
                 help="Several devices, one worker each: cuda:0,cuda:1 or 'all' (every visible GPU)."),
    click.option("--executor", type=click.Choice(EXECUTOR_CHOICES), default="auto", show_default=True,
                 help="Where scores are computed: this process, local worker processes, or Ray "
                      "(auto: local workers unless there are too few architectures to pay their start)."),
    click.option("--workers", type=int, default=None,
                 help="Worker processes / Ray actors [default: one per device, or cores / threads on CPU]."),
    click.option("--gpu-share", type=click.Choice(GPU_SHARE_CHOICES), default="auto", show_default=True,
                 help="Several workers per GPU through CUDA MPS: auto (an MPS daemon already running, else "
                      "a private one for the run, else one worker per GPU), mps (required) or none."),
    click.option("--threads", type=int, default=1, show_default=True,
                 help="Torch threads per worker (CPU gradient proxies depend on it in the last bits, so "
                      "every executor uses the same count)."),
    click.option("--ray-address", default="", help="Ray cluster address [default: start a local Ray]."),
)

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
                       help="Warnings and errors only: no progress bars, notes or 'wrote' lines.")(run)
    return click.option("-v", "--verbose", count=True,
                        help="More detail on stderr (debug messages; repeatable).")(run)

