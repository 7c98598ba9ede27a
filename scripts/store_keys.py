#!/usr/bin/env python3
"""Every built-in proxy's store key under a few run settings, written as JSON, or compared with
such a file: a refactor that must not recompute stored scores keeps every key.

    python scripts/store_keys.py dump keys-before.json [--data-dir DIR]
    ... change the code ...
    python scripts/store_keys.py compare keys-before.json [--data-dir DIR]

``compare`` lists each key that changed (proxy, settings, old and new) and exits 1 if any did; a
proxy whose own module (or a helper it imports) changed gets a new key by design (its code
fingerprint), which the listing shows as a changed ``code=`` field.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict

#: (label, space, RunConfig options): the default settings, and the options that enter the key
SETTINGS = (
    ("default", "nb201", {}),
    ("default", "nb101", {}),
    ("bs16-zc-dataset", "nb201", {"batch_size": 16, "network_variant": "zc", "head": "dataset"}),
)


def store_keys(data_dir: Path) -> Dict[str, object]:
    """``label/space`` -> proxy -> its store key (ScoreContext.describe()), or the error text."""
    from nasbench_cli.errors import NasbenchError
    from nasbench_cli.proxies import PROXIES
    # RunConfig through session.py, where versions before nasbench_cli.options kept it: so a key
    # file can be dumped with the code before a change and compared with the code after it
    from nasbench_cli.session import RunConfig, ScoringSession

    keys: Dict[str, object] = {}
    for label, space, options in SETTINGS:
        def contexts(proxies):
            config = RunConfig(space, "cifar10", tuple(proxies), data_dir=data_dir, no_store=True, quiet=True,
                               **options)
            with ScoringSession(config) as session:
                return {name: ctx.describe() for name, ctx in session.engine.contexts.items()}

        try:
            keys[f"{label}/{space}"] = contexts(PROXIES.names())
        except NasbenchError:  # a proxy the space cannot build: each proxy on its own, its error kept
            per_proxy: Dict[str, str] = {}
            for name in PROXIES.names():
                try:
                    per_proxy.update(contexts([name]))
                except NasbenchError as err:
                    per_proxy[name] = f"error {type(err).__name__}: {err}"
            keys[f"{label}/{space}"] = per_proxy
    return keys


def compare(before: Dict[str, object], after: Dict[str, object]) -> int:
    """Print every key that differs; the number of differences."""
    changed = 0
    for setting in sorted(set(before) | set(after)):
        old, new = before.get(setting), after.get(setting)
        if not isinstance(old, dict) or not isinstance(new, dict):
            if old != new:
                print(f"{setting}: {old!r} -> {new!r}")
                changed += 1
            continue
        for proxy in sorted(set(old) | set(new)):
            if old.get(proxy) != new.get(proxy):
                print(f"{setting} {proxy}:\n  before {old.get(proxy)}\n  after  {new.get(proxy)}")
                changed += 1
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("dump", "compare"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    keys = store_keys(args.data_dir)
    if args.action == "dump":
        args.file.write_text(json.dumps(keys, indent=1, sort_keys=True) + "\n")
        return 0
    from nasbench_cli.untrusted import load_json_file

    changed = compare(load_json_file(args.file, "a store-key dump", 16 << 20), keys)
    print(f"{changed} key(s) changed" if changed else "every key unchanged")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
