"""Provenance records written next to every output: who computed what, how, and with what."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import nasbench_cli
from nasbench_cli.logs import get_logger
from nasbench_cli.output import is_stdout, write_json

_LIBRARIES = ("torch", "numpy", "scipy", "pandas", "click", "nas-bench-201", "nats_bench")


def library_versions(names: Iterable[str] = _LIBRARIES) -> Dict[str, Optional[str]]:
    """Installed versions of the libraries that can change results (None when absent)."""
    versions: Dict[str, Optional[str]] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def build_provenance(arguments: Dict[str, Any], **extra: Any) -> Dict[str, Any]:
    """A JSON-serialisable provenance dict: tool version, command line, arguments, environment."""
    record: Dict[str, Any] = {
        "tool": "nasbench",
        "tool_version": nasbench_cli.__version__,
        "git_commit": git_commit(),
        "command_line": sys.argv,
        "arguments": {k: _jsonable(v) for k, v in arguments.items()},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": library_versions(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    record.update({k: _jsonable(v) for k, v in extra.items()})
    plugins = plugin_records()
    if plugins:  # code the user chose to run: which file (sha256) or package, and each proxy's spec
        record["plugins"] = plugins
    return record


def plugin_records() -> list:
    """One record per plugin proxy registered in this process (none where no plugin was loaded)."""
    if "nasbench_cli.plugins" not in sys.modules:  # no proxy registered at all: nothing to say
        return []
    from nasbench_cli.plugins import describe_plugins

    return [_jsonable(item) for item in describe_plugins()]


#: the checkout's folder of results: rewriting them is not a change of code, so they never make a
#: commit "+dirty" (else regenerating the committed tables in place marks every table after the
#: first as computed from code that no commit holds)
RESULTS_FOLDER = "results"


@functools.lru_cache(maxsize=1)
def git_commit() -> Optional[str]:
    """The commit of the nasbench checkout this runs from (with "+dirty" when files other than its
    results changed), or None for an installed package / no git."""
    return commit_of(Path(nasbench_cli.__file__).resolve().parent.parent)


def commit_of(root: Path) -> Optional[str]:
    """HEAD of the git checkout ``root``, "+dirty" when a tracked file outside RESULTS_FOLDER
    differs from it; None where ``root`` is no checkout."""
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                                ".", f":(exclude){RESULTS_FOLDER}/"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def file_digests(paths: Iterable[Path]) -> Dict[str, str]:
    """{path: sha256} of the data files a result was computed from (regular files only: a FIFO
    would never end)."""
    from nasbench_cli.untrusted import open_regular

    digests = {}
    for path in paths:
        digest = hashlib.sha256()
        with open_regular(Path(path), "data file") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digests[str(path)] = digest.hexdigest()
    return digests


def sidecar_path(output: Path) -> Path:
    """``results/x.csv`` -> ``results/x.csv.provenance.json``."""
    return output.with_name(output.name + ".provenance.json")


def write_provenance(output: Path, record: Dict[str, Any]) -> Optional[Path]:
    """Write the provenance sidecar of ``output`` (atomically) and return its path. An output on
    stdout has no sidecar: the record goes to the log at debug level (``-v`` shows it) instead."""
    if is_stdout(output):
        get_logger().debug("provenance of the output on stdout: %s",
                           json.dumps(_jsonable(record), sort_keys=True))
        return None
    return write_json(sidecar_path(output), record)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


#: arguments that change how a run goes, not what it writes: a rerun that differs only in these
#: may replace its own default output
RUN_ONLY_ARGUMENTS = frozenset({"out", "quiet", "verbose", "workers", "executor", "threads", "device", "devices",
                                "ray_address", "store_path", "no_store", "gpu_share", "restart", "fmt"})
#: a sidecar larger than this is not a nasbench record (they are a few KiB)
SIDECAR_BYTES = 16 * 2**20


def load_sidecar(output: Path) -> Optional[Dict[str, Any]]:
    """``output``'s provenance record, None without a sidecar. The file is untrusted: a huge,
    deeply nested, special or non-object one is a one-line DataCorruptError naming it."""
    from nasbench_cli.errors import DataCorruptError, DataMissingError
    from nasbench_cli.untrusted import load_json_file

    sidecar = sidecar_path(Path(output))
    if not os.path.lexists(sidecar):
        return None
    try:
        record = load_json_file(sidecar, "provenance record", SIDECAR_BYTES)
    except DataMissingError:  # a link to nothing is not a record either
        raise DataCorruptError(f"{sidecar}: a link to a missing file, not a provenance record") from None
    if not isinstance(record, dict):
        raise DataCorruptError(f"{sidecar} is not a JSON object")
    return record


def recorded_arguments(output: Path) -> Optional[Dict[str, Any]]:
    """The ``arguments`` of ``output``'s provenance sidecar; None when there is none or it cannot
    be read as a nasbench record (any failure means "unknown")."""
    from nasbench_cli.errors import DataCorruptError

    try:
        record = load_sidecar(output)
    except DataCorruptError:
        return None
    arguments = record.get("arguments") if record is not None else None
    return arguments if isinstance(arguments, dict) else None


def invocation(command: str, arguments: Dict[str, Any]) -> Dict[str, Any]:
    """What a run's output is the output of: the command and every argument that decides what it
    writes (all but :data:`RUN_ONLY_ARGUMENTS`). Recorded in the sidecar as ``invocation``; the
    default-output guard compares it whole."""
    return {"command": command,
            "arguments": {k: _jsonable(v) for k, v in sorted(arguments.items()) if k not in RUN_ONLY_ARGUMENTS}}


def _refuse(output: Path, why: str) -> None:
    from nasbench_cli.errors import UsageError

    raise UsageError(f"{output} {why}: not replaced; give --out PATH (or remove the file)")


def guard_sidecar(output: Path) -> None:
    """Refuse to write ``output``'s sidecar over a file that is not a nasbench provenance record
    (a user's file that happens to have that name, a FIFO, a link to a device)."""
    from nasbench_cli.errors import NasbenchError

    output = Path(output)
    if is_stdout(output) or not os.path.lexists(sidecar_path(output)):
        return
    try:
        record = load_sidecar(output)
    except NasbenchError:
        record = None
    if not isinstance(record, dict) or record.get("tool") != "nasbench":
        _refuse(sidecar_path(output), "exists and is not a nasbench provenance record")


def guard_default_output(output: Path, arguments: Dict[str, Any], command: Optional[str] = None) -> None:
    """Refuse to replace an existing default output (no --out given) unless its sidecar proves it
    is the output of the same command with the same arguments: its ``invocation`` equals this
    run's whole (command and every argument but :data:`RUN_ONLY_ARGUMENTS`). A record written
    before ``invocation`` existed proves it only when its ``arguments`` hold every one of this
    run's arguments with the same value (so ``{"arguments": {}}``, a record of run-only arguments
    or another command's record proves nothing). Rerunning the same command replaces its own file."""
    output = Path(output)
    if is_stdout(output) or not os.path.lexists(output):
        guard_sidecar(output)
        return
    from nasbench_cli.errors import NasbenchError

    try:
        record = load_sidecar(output)
    except NasbenchError:
        record = None
    if not isinstance(record, dict) or record.get("tool") != "nasbench" or not isinstance(record.get("arguments"), dict):
        _refuse(output, "exists and has no nasbench provenance record")
    from nasbench_cli.untrusted import quote

    current = invocation(command or "", arguments)
    recorded = record.get("invocation")
    if recorded is not None:
        if not isinstance(recorded, dict) or recorded.get("command") != current["command"]:
            shown = recorded.get("command") if isinstance(recorded, dict) else None
            _refuse(output, f"holds the output of another command ({quote(shown)}, not {current['command']!r})")
        differ = _differences(recorded.get("arguments"), current["arguments"], both_ways=True)
    else:
        differ = _differences(record["arguments"], current["arguments"], both_ways=False)
    if differ:
        _refuse(output, f"holds the output of another run ({'; '.join(differ[:3])})")


def _differences(recorded: Any, current: Dict[str, Any], both_ways: bool) -> List[str]:
    """Why ``recorded`` arguments are not ``current``'s: each one missing or different (and, with
    ``both_ways``, each recorded one this run does not have)."""
    from nasbench_cli.untrusted import quote

    if not isinstance(recorded, dict):
        return ["no recorded arguments"]
    out = []
    for key in sorted(set(current) | (set(recorded) if both_ways else set())):
        if key not in recorded:
            out.append(f"{key} not recorded there")
        elif key not in current:
            out.append(f"{quote(key)} there, not in this run")
        elif recorded[key] != current[key]:
            out.append(f"{key}={quote(recorded[key])} there, {quote(current[key])} now")
    return out
