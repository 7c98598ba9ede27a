"""Reading untrusted files safely: JSON with bounded size and nesting, regular files only.

Data files come from anywhere; a reader must end, in bounded memory and stack, with a value or a
one-line error naming the file. ``json.loads`` recurses once per nesting level: a 100,000-deep
``[[[...]]]`` is a RecursionError, which becomes that one line here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nasbench_cli.errors import DataCorruptError


def parse_json(text: str, name: str) -> Any:
    """``json.loads(text)``; DataCorruptError naming ``name`` for bad JSON, nesting deeper than the
    decoder's recursion limit (it stops there cleanly, in well under a millisecond), or numbers
    Python cannot hold (an integer of 5,000 digits, say)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise DataCorruptError(f"{name}: JSON nested too deeply (not a file of this kind)") from None
    except (ValueError, OverflowError) as err:
        raise DataCorruptError(f"{name}: not valid JSON ({str(err).splitlines()[0][:200]})") from None


def read_regular_file(path: Path, what: str, max_bytes: int) -> bytes:
    """The bytes of ``path``; DataCorruptError when it is not a regular file (a FIFO or a device
    would block or never end) or is larger than ``max_bytes``."""
    path = Path(path)
    if not path.is_file():
        raise DataCorruptError(f"{path}: not a regular file; {what} is a file")
    size = path.stat().st_size
    if size > max_bytes:
        raise DataCorruptError(f"{path}: {size} bytes, more than a {what} can be ({max_bytes})")
    try:
        return path.read_bytes()
    except OSError as err:
        raise DataCorruptError(f"{path}: cannot read it ({err.strerror or err})") from None


def load_json_file(path: Path, what: str, max_bytes: int) -> Any:
    """The JSON value of a regular file of at most ``max_bytes``; one-line DataCorruptError
    (naming the file) for a special file, a huge one, non-UTF-8 text or bad JSON."""
    data = read_regular_file(path, what, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataCorruptError(f"{path}: not UTF-8 text (byte {err.start}), not a {what}") from None
    return parse_json(text, str(path))
