"""`nasbench proxies|spaces|datasets`: list what is registered (aligned text, or ``--json``)."""

from __future__ import annotations

import json
from typing import Dict, List

import click

from nasbench_cli.commands.options import plugin_option, verbosity_options

json_option = click.option("--json", "as_json", is_flag=True, help="One JSON list on stdout, for scripts.")



def _emit(records: List[Dict[str, object]], lines: List[str], as_json: bool) -> None:
    click.echo(json.dumps(records, indent=2, sort_keys=True) if as_json else "\n".join(lines))


@click.command()
@json_option
@click.option("--references", is_flag=True,
              help="Under each proxy, the paper it comes from (authors, title, venue, year, link).")
@plugin_option
@verbosity_options
def proxies(as_json: bool, references: bool, plugins) -> None:
    """List proxies: name, direction (higher/lower is better), definition, paper, and where a
    plugin's proxy comes from (its file or package)."""
    from nasbench_cli.proxies import PROXIES, PROXY_GROUPS
    from nasbench_cli.workflows.plugins import origin_text, proxy_origins

    origins = proxy_origins()
    names = PROXIES.names()
    width = max(map(len, [*names, *PROXY_GROUPS.names()]), default=0)
    records, lines = [], []
    for name in names:
        spec = PROXIES.get(name)
        better = "higher" if spec.direction == "max" else "lower"
        paper = getattr(spec, "paper", None)
        records.append({"name": name, "kind": "proxy", "direction": spec.direction, "summary": spec.summary,
                        "batch_size": spec.batch_size, "bn": spec.bn, "head": spec.head, "version": spec.version,
                        "paper": paper.as_dict() if paper else None, "origin": origins[name]})
        where = origin_text(origins[name])
        lines.append(f"{name:<{width}}  {better:<7} {spec.summary}" + (f"  {where}" if where else ""))
        if references:
            lines.append(f"{'':<{width}}  {'':<7} paper: {paper.cite() if paper else '-'}")
    for name in PROXY_GROUPS.names():
        group = PROXY_GROUPS.get(name)
        # a group's paper is its members' when they all share one (az_nas: the AZ-NAS paper)
        papers = {getattr(PROXIES.get(m), "paper", None) for m in group.members if m in PROXIES}
        paper = papers.pop() if len(papers) == 1 else None
        records.append({"name": name, "kind": "group", "members": list(group.members),
                        "aggregate": group.aggregate, "summary": group.summary,
                        "paper": paper.as_dict() if paper else None})
        lines.append(f"{name:<{width}}  {'group':<7} {group.summary} [= {', '.join(group.members)}]")
        if references:
            lines.append(f"{'':<{width}}  {'':<7} paper: {paper.cite() if paper else '-'}")
    _emit(records, lines, as_json)


@click.command()
@json_option
@verbosity_options
def spaces(as_json: bool) -> None:
    """List search spaces and their sizes."""
    from nasbench_cli.spaces import SPACES

    names = SPACES.names()
    width = max(map(len, names), default=0)
    records, lines = [], []
    for name in names:
        cls = SPACES.get(name)
        summary = (cls.__doc__ or "").strip().splitlines()
        first = summary[0] if summary else ""
        records.append({"name": name, "summary": first})
        lines.append(f"{name:<{width}}  {first}")
    _emit(records, lines, as_json)


@click.command()
@json_option
@verbosity_options
def datasets(as_json: bool) -> None:
    """List datasets: classes, resolution."""
    from nasbench_cli.datasets import DATASETS

    records, lines = [], []
    for name in DATASETS.names():
        ds = DATASETS.get(name)
        records.append({"name": name, "num_classes": ds.num_classes, "image_size": ds.image_size})
        lines.append(f"{name:<16} {ds.num_classes:>5} classes  {ds.image_size}x{ds.image_size}")
    _emit(records, lines, as_json)
