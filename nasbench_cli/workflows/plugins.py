"""Plugins for the faces: load the files a command or an API call names (with $NASBENCH_PLUGINS and
installed packages), and say where each proxy comes from (`nasbench proxies`)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence, Tuple, Union

from nasbench_cli import plugins


def load_run_plugins(files: Sequence[Union[str, Path]] = ()) -> Tuple[str, ...]:
    """Load installed plugin packages, $NASBENCH_PLUGINS and ``files`` (each once per process);
    the plugin proxies they register. A bad plugin is a one-line PluginError."""
    return plugins.load_plugins(files)


def load_plugin(path: Union[str, Path]) -> Tuple[str, ...]:
    """Load one plugin file; the proxies it registers (``nb.load_plugin``)."""
    return plugins.load_plugin(path)


def proxy_origins() -> Dict[str, Dict[str, str]]:
    """Proxy name -> where it comes from (``{"kind": "built-in"}`` for the package's own)."""
    from nasbench_cli.proxies import PROXIES

    found = plugins.plugin_proxies()
    return {name: found[name].record() if name in found else {"kind": "built-in"} for name in PROXIES.names()}


def origin_text(record: Dict[str, str]) -> str:
    """One origin record in a few words, for `nasbench proxies`."""
    if record.get("kind") == "built-in":
        return ""
    if record.get("kind") == "package":
        return f"[plugin: package {record.get('package')}]"
    if record.get("path"):
        return f"[plugin: {record['path']}]"
    return f"[plugin: defined in {record.get('module') or 'exec'}]"
