#!/usr/bin/env python3
"""What scoring the whole proxy leaderboard costs on the device a timing CSV was measured on.

Reads `proxy,seconds` (seconds a network, e.g. `scripts/bench_proxies.py --csv`, on a CPU core or
a GPU) and prints, per proxy, seconds a network x the networks the leaderboard plans for it (1,000;
the costly subset's 200 for `--subset` proxies), the hours of one process, and the total against
the leaderboard's 2-hour goal (on `--processes` processes sharing the work evenly).

    python scripts/leaderboard_cost.py results/proxies/timing.csv --processes 2
    python scripts/leaderboard_cost.py gpu/timing-cuda.csv --processes 1 --label "one H100"
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Sequence

from nasbench_cli.analysis.leaderboard import COST_GOAL_HOURS, CostItem, cost_items, cost_verdict
from nasbench_cli.analysis.tables import render_table
from nasbench_cli.errors import NasbenchError, UsageError
from nasbench_cli.workflows.leaderboard import read_timing


def cost_rows(seconds: Dict[str, float], subset: Sequence[str], n: int, subset_n: int) -> List[CostItem]:
    """Each proxy's cost on the networks planned for it (``subset_n`` for ``subset``), costliest first."""
    return cost_items(seconds, {name: subset_n if name in subset else n for name in seconds})


def report(items: Sequence[CostItem], processes: int, label: str) -> str:
    """The cost table and its verdict, as markdown."""
    total, wall, verdict = cost_verdict(items, processes)
    body = [[i.proxy, f"{i.networks:,}", f"{i.seconds:.3f}", f"{i.hours:.2f}"] for i in items]
    body.append(["**all**", "", "", f"**{total:.2f}**"])
    return "\n".join([render_table(["proxy", "networks", "s/net", "hours (one process)"], body, "markdown"), "",
                      f"{label}: {total:.2f} process-hours, about {wall:.2f} h on {processes} process(es) "
                      f"sharing the work evenly; the goal (under {COST_GOAL_HOURS:g} h): **{verdict}**."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timing", type=Path, help="proxy,seconds CSV")
    parser.add_argument("--subset", default="ntk", help="proxies planned on the costly subset (comma-separated)")
    parser.add_argument("--n", type=int, default=1000, help="networks of the sample")
    parser.add_argument("--subset-n", type=int, default=200, help="networks of the costly subset")
    parser.add_argument("--processes", type=int, default=2, help="processes sharing the work (2 cores: 2)")
    parser.add_argument("--label", default="this device")
    args = parser.parse_args()
    try:
        if args.processes < 1 or args.n < 1 or args.subset_n < 1:
            raise UsageError("--processes, --n and --subset-n must be at least 1")
        rows = cost_rows(read_timing(args.timing), [p for p in args.subset.split(",") if p], args.n,
                         args.subset_n)
    except NasbenchError as err:
        raise SystemExit(f"Error: {err}") from None
    print(report(rows, args.processes, args.label))


if __name__ == "__main__":
    main()
