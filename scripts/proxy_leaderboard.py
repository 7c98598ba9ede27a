#!/usr/bin/env python3
"""The proxy leaderboard (`make table-proxies`): score CSVs in, table + README + figure out.

    proxy_leaderboard.py extract SCORE_CSV OUT_CSV [--columns a[,b...]] [--seeds] [--no-seconds]
        keep ``index``, the named score columns (default: every proxy's) and their ``<name>:seconds`` columns of a
        `nasbench score` CSV (the accuracy columns are the benchmark's, not ours to commit); the
        scoring run's sidecar is kept beside as ``<OUT stem>.scoring-run.provenance.json``
    proxy_leaderboard.py table OUT_DIR SCORES.csv ... [--extra CSV ...] [--timing CSV] [--bootstrap 1000]
            [--seeds CSV ...] [--structural CSV]
        join the score CSVs on ``index`` with the NB201 accuracies (the embedded table),
        and write ``OUT_DIR/leaderboard.csv``, ``README.md``, ``leaderboard.png`` and a sidecar.
        ``--extra`` adds a user's score CSV (e.g. a plugin's scores on the same networks): its
        proxies get rows, their rank among all, and a paired bootstrap against the best built-in;
        with ``--extra`` the outputs go to OUT_DIR but never replace the committed table unless
        OUT_DIR is another folder. ``--structural``: flops, params and trainable_layers of all
        15,625 networks, for the check of which networks VKDNW's table ranked (``dedup.csv``).

    proxy_leaderboard.py extract-store EXPORT_CSV OUT_CSV --proxy P [--note TEXT]
        the same from `nasbench store export P` of a scoring run stopped before its end (the
        networks it had scored; the sidecar says so)
    proxy_leaderboard.py sample OUT.txt [--n 200]
        the first N networks of the sample (for `score --archs`: a costly proxy's stated subset)

    nasbench proxies --plugin FILE.py --json | proxy_leaderboard.py plugin-proxies
        the plugin proxies of that listing, comma-separated (for `score --proxy`; `make table-proxies PLUGIN=`)

Everything the table says is a function of the committed score CSVs: rerunning gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from nasbench_cli.errors import NasbenchError, UsageError
from nasbench_cli.output import write_text
from nasbench_cli.workflows.leaderboard import (SAMPLE_N, extract_scores, extract_store_export, sample_indices,
                                                write_leaderboard)


def plugin_proxies(listing: str) -> list:
    """The names of the plugin proxies (origin not built-in) in `nasbench proxies --json` output."""
    from nasbench_cli.untrusted import parse_json

    try:
        records = parse_json(listing, "the output of `nasbench proxies --json`")
    except NasbenchError:
        raise NasbenchError("plugin-proxies reads the JSON of `nasbench proxies --json` on stdin") from None
    if not isinstance(records, list):
        raise NasbenchError("plugin-proxies reads the JSON list of `nasbench proxies --json` on stdin")
    return [r["name"] for r in records if isinstance(r, dict) and r.get("kind") == "proxy"
            and (r.get("origin") or {}).get("kind", "built-in") != "built-in"]


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("source", type=Path)
    ex.add_argument("out", type=Path)
    ex.add_argument("--columns", default="", help="default: every proxy column")
    ex.add_argument("--seeds", action="store_true", help="keep the <proxy>@seed<k> columns of a --seeds run")
    ex.add_argument("--no-seconds", action="store_true", help="leave out the <proxy>:seconds columns")
    es = sub.add_parser("extract-store")
    es.add_argument("source", type=Path)
    es.add_argument("out", type=Path)
    es.add_argument("--proxy", required=True)
    es.add_argument("--note", default="", help="why the scoring run stopped early (goes into the sidecar)")
    sp = sub.add_parser("sample")
    sp.add_argument("out", type=Path)
    sp.add_argument("--n", type=int, default=1000)
    sub.add_parser("plugin-proxies")
    tb = sub.add_parser("table")
    tb.add_argument("out_dir", type=Path)
    tb.add_argument("inputs", type=Path, nargs="+", help="the built-ins' score CSVs")
    tb.add_argument("--timing", type=Path, help="proxy,seconds measured on one core")
    tb.add_argument("--seeds", type=Path, nargs="*", default=[], help="per-seed score CSVs (score --seeds)")
    tb.add_argument("--extra", type=Path, action="append", default=[])
    tb.add_argument("--structural", type=Path,
                    help="flops, params, trainable_layers of all NB201 networks (the dedup check)")
    tb.add_argument("--bootstrap", type=int, default=1000)
    tb.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(list(argv) or None)
    try:
        if args.command == "extract-store":
            extract_store_export(args.source, args.out, args.proxy, args.note)
        elif args.command == "sample":
            if not 1 <= args.n <= SAMPLE_N:
                raise UsageError(f"--n {args.n}: the leaderboard's sample has {SAMPLE_N:,} networks; give 1 to {SAMPLE_N:,}")
            write_text(args.out, "".join(f"{i}\n" for i in sample_indices()[:args.n]))
        elif args.command == "plugin-proxies":
            names = plugin_proxies(sys.stdin.read())
            if not names:
                raise NasbenchError("the listing names no plugin proxy: check PLUGIN=file.py")
            print(",".join(names))
        elif args.command == "extract":
            extract_scores(args.source, args.out, [c for c in args.columns.split(",") if c], args.seeds,
                           not args.no_seconds)
        else:
            write_leaderboard(args.inputs, args.out_dir, args.extra, args.bootstrap, args.seed, args.timing, args.seeds,
                              args.structural)
    except NasbenchError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
