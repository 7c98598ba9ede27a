"""The one output module: how floats become text, and how every CSV, JSON sidecar and text file is written.

Every writer to a file is atomic (``-`` writes to stdout instead): the content goes to a temporary file in the destination's folder, which is
then renamed over the destination (``os.replace``), so a reader never sees half a file and a failed
write leaves the previous file intact and no temporary file behind.

Float text is chosen so that the same numbers always give the same bytes, on every platform:
``format_float`` with no options is the shortest round-trip text (``repr``); its options express the
deliberate variants some outputs use (12 significant digits for the ground-truth table, 6 fixed
decimals for correlation results).
"""

from __future__ import annotations

import csv
import errno
import json
import math
import os
import re
import secrets
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, TextIO, Union

PathLike = Union[str, "os.PathLike[str]"]

#: the output path meaning standard output (``--out -``)
STDOUT = "-"
#: the longest file or folder name (bytes) common file systems take (ext4, xfs, btrfs, APFS)
NAME_MAX = 255

# column roles of a score CSV, recorded in its provenance sidecar under "columns"
ROLE_ID = "id"
ROLE_SCORE = "score"
ROLE_ACCURACY = "accuracy"
ROLE_METADATA = "metadata"
ROLE_TIMING = "timing"
ROLES = (ROLE_ID, ROLE_SCORE, ROLE_ACCURACY, ROLE_METADATA, ROLE_TIMING)
ID_COLUMNS = ("index", "arch")
TIMING_COLUMN = "seconds"
#: suffix of one proxy's seconds column (``naswot:seconds``): timing, never a score
SECONDS_SUFFIX = ":seconds"
DIRECTIONS = ("max", "min")


def read_float(text: object) -> float:
    """A CSV cell as a float: NaN for an empty cell or text that is not a number."""
    try:
        return float(text) if text not in ("", None) else math.nan
    except (TypeError, ValueError):
        return math.nan


def format_float(
    value: float,
    *,
    digits: Optional[int] = None,
    decimals: Optional[int] = None,
    significant: Optional[int] = None,
    nan: str = "nan",
) -> str:
    """A float as text, identical across runs and platforms; infinities are "inf" / "-inf".

    - default: the shortest text that reads back to the same float (``repr``);
    - ``digits=d``: rounded to d significant digits first, then shortest text (drops summation
      noise such as 0.8082759999999999 -> 0.808276);
    - ``decimals=d``: fixed d decimals, with a rounded negative zero written without its sign;
    - ``significant=d``: d significant digits for a label, exponent without '+' or zeros (2.4e6).
    NaN is written as ``nan`` (e.g. "" for a blank cell, "n/a" in a table).
    """
    if sum(option is not None for option in (digits, decimals, significant)) > 1:
        raise ValueError("give one of digits, decimals and significant")
    value = float(value)
    if math.isnan(value):
        return nan
    if significant is not None:
        mantissa, _, exponent = f"{value:.{significant}g}".partition("e")
        return f"{mantissa}e{int(exponent)}" if exponent else mantissa
    if decimals is not None:
        text = f"{value:.{decimals}f}"
        # -0.0000001 rounds to "-0.000000": one zero, one spelling
        return text[1:] if text.startswith("-") and float(text) == 0.0 else text
    if digits is not None:
        value = float(format(value, f".{digits}g"))
    return repr(value)


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines untranslated) atomically; returns the path."""
    return _write_atomically(Path(path), lambda handle: handle.write(text))


def write_json(path: PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON with sorted keys and a final newline, atomically."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: PathLike, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write a CSV (header ``columns``, "\\n" line ends, keys not in ``columns`` ignored) atomically.

    Cells are written as given: format floats with ``format_float`` first.
    """

    def emit(handle: TextIO) -> None:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)

    return _write_atomically(Path(path), emit)


def write_csv_rows(path: PathLike, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Like ``write_csv`` for rows given as sequences in ``columns`` order."""
    return write_csv(path, columns, (dict(zip(columns, row)) for row in rows))


def check_output(path: PathLike, inputs: Iterable[Optional[PathLike]] = (), flag: str = "--out") -> Path:
    """Before any work is done: refuse an output that is one of the run's inputs (or its sidecar
    would be), or that cannot be written (parent a file, folder not writable). Returns the path."""
    from nasbench_cli.errors import UsageError

    if str(path) in ("", "."):
        raise UsageError(f"{flag} '{path}' is not a file name: give one, or - for standard output")
    raw = str(path)
    path = Path(path)
    if is_stdout(path):
        return path
    if raw.endswith(("/", os.sep)):
        raise UsageError(f"{flag} {raw} ends in '/', so it names a directory: give a file name inside it, "
                         f"e.g. {raw}out.csv")
    longest = max(len(part.encode("utf-8")) for part in path.parts)
    if longest > NAME_MAX:
        raise UsageError(f"{flag}: a file or folder name of {longest} bytes is longer than the {NAME_MAX} "
                         "a file system allows; choose a shorter name")
    _check_special(path, flag)
    targets = [path, path.with_name(path.name + ".provenance.json")]
    for source in inputs:
        if source is None or str(source) in ("", "-", ":memory:"):
            continue
        source = Path(source)
        for target in targets:
            if _same_file(target, source):
                raise UsageError(f"{flag} {path} would write over {source}, an input of this run; choose another file")
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a directory; give a file name")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: cannot write in {folder} (permission denied)")
    _probe_write(folder, path, flag)
    return path


def _check_special(path: Path, flag: str) -> None:
    """Refuse an output that exists and is not a regular file or a folder (a FIFO, a device, a
    socket, or a link to one such as /proc/self/fd/1): writing replaces the file by renaming a new
    one over it, which would silently turn the FIFO into a plain file. ``-`` writes to stdout."""
    from nasbench_cli.errors import UsageError

    if not os.path.lexists(path) or path.is_dir():
        return
    try:
        mode = path.stat().st_mode  # follows a link: its target decides
    except OSError:
        mode = None
    if mode is None or not stat.S_ISREG(mode):
        kind = ("a broken link" if mode is None else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise UsageError(f"{flag} {path} is {kind}, not a regular file: nothing is written there; give "
                         "- to write to standard output (and redirect it), or a file name")


def _probe_write(folder: Path, path: Path, flag: str) -> None:
    """Create and delete a file in ``folder``: permissions alone miss read-only mounts and /proc."""
    from nasbench_cli.errors import UsageError

    probe = folder / f".nasbench-write-probe{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise UsageError(f"{flag} {path}: cannot write in {folder} ({err.strerror or err})") from None
    os.close(fd)
    probe.unlink(missing_ok=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:tmp|converting)(?P<pid>\d+)(?:-[0-9a-f]+)?$")


def remove_stale_temporaries(path: PathLike) -> List[Path]:
    """Delete the temporaries of ``path`` left by writers that died (kill -9, power loss): those
    whose process id is no longer running. A live writer's temporary is left alone."""
    path = Path(path)
    removed = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in siblings:
        match = _TEMPORARY.match(candidate.name)
        if match and match["name"] == path.name and not _process_alive(int(match["pid"])):
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                pass
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid we can ask about: keep its file
    return True


def summary_path(out: Path) -> Path:
    """The summary written beside a per-run or per-trial CSV: ``results/x.csv`` -> ``results/x.summary.csv``."""
    return Path(out).with_name(Path(out).stem + ".summary.csv")


def is_stdout(path: Optional[PathLike]) -> bool:
    """Whether an output path is ``-``, standard output."""
    return path is not None and str(path) == STDOUT


def _write_atomically(path: Path, emit: Callable[[TextIO], Any]) -> Path:
    from nasbench_cli.errors import NasbenchError

    if is_stdout(path):  # data on stdout: written as it comes, nothing to replace
        emit(sys.stdout)
        sys.stdout.flush()
        return path
    if path.is_symlink() and path.resolve().is_file():
        path = path.resolve()  # write through a link to a file: the link stays, its target gets the content
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        # a unique name in the same folder: the rename cannot cross file systems, and two writers of
        # the same file never share a temporary; 0o666 lets the umask decide, as a plain open() would
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            emit(handle)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        reason = "disk full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
        raise NasbenchError(f"cannot write {path}: {reason}; nothing was replaced (computed scores stay "
                            "in the store: free space or choose another --out and run again)") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def score_csv_roles(
    proxies: Mapping[str, str],
    accuracy_columns: Sequence[str] = (),
    metadata_columns: Sequence[str] = (),
    timing: bool = False,
) -> Dict[str, Dict[str, str]]:
    """The ``columns`` record of a score CSV's sidecar: {column: {"role": ..., ["direction": ...]}}.

    ``proxies`` maps each score column to its direction ("max": higher is better, or "min").
    Columns are listed in the CSV's order: index, arch, scores, accuracies, metadata, seconds.
    """
    roles: Dict[str, Dict[str, str]] = {name: {"role": ROLE_ID} for name in ID_COLUMNS}
    for name, direction in proxies.items():
        if direction not in DIRECTIONS:
            raise ValueError(f"direction of score column '{name}' is {direction!r}, not 'max' or 'min'")
        roles[name] = {"role": ROLE_SCORE, "direction": direction}
    roles.update({name: {"role": ROLE_ACCURACY} for name in accuracy_columns})
    roles.update({name: {"role": ROLE_METADATA} for name in metadata_columns})
    if timing:
        roles[TIMING_COLUMN] = {"role": ROLE_TIMING}
    return roles
