"""`nasbench proxies|spaces|datasets`: list what is registered."""

from __future__ import annotations

import click


@click.command()
def proxies() -> None:
    """List proxies: name, direction (higher/lower is better) and definition."""
    from nasbench_cli.proxies import PROXIES, PROXY_GROUPS

    names = PROXIES.names()
    width = max(map(len, [*names, *PROXY_GROUPS.names()]), default=0)
    for name in names:
        spec = PROXIES.get(name)
        better = "higher" if spec.direction == "max" else "lower"
        click.echo(f"{name:<{width}}  {better:<7} {spec.summary}")
    for name in PROXY_GROUPS.names():
        group = PROXY_GROUPS.get(name)
        click.echo(f"{name:<{width}}  {'group':<7} {group.summary} [= {', '.join(group.members)}]")


@click.command()
def spaces() -> None:
    """List search spaces and their sizes."""
    from nasbench_cli.spaces import SPACES

    names = SPACES.names()
    width = max(map(len, names), default=0)
    for name in names:
        cls = SPACES.get(name)
        summary = (cls.__doc__ or "").strip().splitlines()
        click.echo(f"{name:<{width}}  {summary[0] if summary else ''}")


@click.command()
def datasets() -> None:
    """List datasets: classes, resolution."""
    from nasbench_cli.datasets import DATASETS

    for name in DATASETS.names():
        ds = DATASETS.get(name)
        click.echo(f"{name:<16} {ds.num_classes:>5} classes  {ds.image_size}x{ds.image_size}")
