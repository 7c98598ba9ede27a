"""`nasbench proxies|spaces|datasets`: list what is registered."""

from __future__ import annotations

import click


@click.command()
def proxies() -> None:
    """List proxies: name, direction (higher/lower is better) and definition."""
    from nasbench_cli.proxies import PROXIES

    for name in PROXIES.names():
        spec = PROXIES.get(name)
        better = "higher" if spec.direction == "max" else "lower"
        click.echo(f"{name:<14} {better:<7} {spec.summary}")


@click.command()
def spaces() -> None:
    """List search spaces and their sizes."""
    from nasbench_cli.spaces import SPACES

    for name in SPACES.names():
        cls = SPACES.get(name)
        summary = (cls.__doc__ or "").strip().splitlines()
        click.echo(f"{name:<14} {summary[0] if summary else ''}")


@click.command()
def datasets() -> None:
    """List datasets: classes, resolution."""
    from nasbench_cli.datasets import DATASETS

    for name in DATASETS.names():
        ds = DATASETS.get(name)
        click.echo(f"{name:<16} {ds.num_classes:>5} classes  {ds.image_size}x{ds.image_size}")
