"""The checked input layer: every file a user or a committed result hands in is opened here.

Data files come from anywhere; a reader must end, in bounded memory and stack, with a value or a
one-line error naming the file. So a file is opened without blocking (a FIFO never waits for a
writer), checked to be a regular file on the descriptor it was opened as (no race with a rename),
bounded in size, decoded as UTF-8 without NUL bytes where it is text, and parsed with one-line
errors. ``json.loads`` recurses once per nesting level: a 100,000-deep ``[[[...]]]`` is a
RecursionError, which becomes that one line here.

The other checked readers build on this module: ``analysis.score_table.read_csv`` (score CSVs),
``provenance.load_sidecar`` (sidecars), ``groundtruth.safe_load`` (pickles and torch archives,
opened through :func:`open_regular`) and ``store.ScoreStore`` (SQLite, its layout checked before
any write). ``tests/test_input_layer.py`` fails on a direct reader outside them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO, Optional

from nasbench_cli.errors import DataCorruptError, DataMissingError

#: a CSV table larger than this is not one of ours (the whole NB101 table is ~100 MB)
CSV_BYTES = 1 << 30
#: a text list (architectures, a sidecar) larger than this is not one of ours
TEXT_BYTES = 64 << 20
#: cells and names quoted in an error message are cut to this many characters
QUOTE_CHARS = 60


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters: a 300 kB cell in a message is one short line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: Path, what: str, max_bytes: Optional[int] = None) -> BinaryIO:
    """``path`` opened for binary reading, after checking on the open descriptor that it is a
    regular file (of at most ``max_bytes``). DataMissingError when absent; DataCorruptError, naming
    the file, for a FIFO, device or directory (opened non-blocking: a FIFO without a writer never
    blocks here), a file too large, or one that cannot be read."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataMissingError(f"{path}: no such file ({what})") from None
    except IsADirectoryError:
        raise DataCorruptError(f"{path}: a directory, not a regular file; {what} is a file") from None
    except OSError as err:
        raise DataCorruptError(f"{path}: cannot read it ({err.strerror or err})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DataCorruptError(f"{path}: {_kind(info.st_mode)}, not a regular file; {what} is a file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise DataCorruptError(f"{path}: {info.st_size} bytes, more than a {what} can be ({max_bytes})")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: Path, what: str, max_bytes: Optional[int] = None) -> None:
    """The checks of :func:`open_regular` without keeping the file open (for readers of another
    library that take a path: SQLite, tarfile)."""
    open_regular(path, what, max_bytes).close()


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
    """The bytes of ``path``; DataMissingError when absent, DataCorruptError when it is not a
    regular file (a FIFO or a device would block or never end) or is larger than ``max_bytes``
    (also when it grows past that while read)."""
    with open_regular(path, what, max_bytes) as handle:
        try:
            data = handle.read(max_bytes + 1)
        except OSError as err:
            raise DataCorruptError(f"{path}: cannot read it ({err.strerror or err})") from None
    if len(data) > max_bytes:
        raise DataCorruptError(f"{path}: more than a {what} can be ({max_bytes} bytes)")
    return data


def read_text(path: Path, what: str, max_bytes: int = TEXT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; one-line DataCorruptError for a
    special or huge file, non-UTF-8 bytes or a NUL byte (a binary or damaged file: NUL never
    belongs in a CSV, a list or a record, and must not travel on into a page or a table)."""
    data = read_regular_file(path, what, max_bytes)
    nul = data.find(b"\0")
    if nul >= 0:
        raise DataCorruptError(f"{path}: a NUL byte at byte {nul}: a binary or damaged file, not a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataCorruptError(f"{path}: not UTF-8 text (byte {err.start}), not a {what}") from None


def header_of(text: str, path: Path) -> list:
    """The header row of CSV ``text``; a repeated column name is an error (pandas would silently
    rename the second 'x' to 'x.1')."""
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as err:
        raise DataCorruptError(f"{path} is not a readable CSV: {err}") from None
    seen = set()
    for name in header:
        if name in seen:
            raise DataCorruptError(f"{path}: column {quote(name)} appears twice in the header")
        seen.add(name)
    return header


def read_csv_frame(path: Path, what: str = "CSV table", max_bytes: int = CSV_BYTES, ragged: bool = False,
                   **options: Any):
    """A CSV file as a pandas DataFrame, through :func:`read_text` (regular file, bounded, UTF-8,
    no NUL), with a header of distinct names and, unless ``ragged``, every row as long as the
    header (pandas would blank the missing cells of a short row). ``options`` go to
    ``pandas.read_csv``. Every failure is one DataCorruptError line naming the file (and the line)."""
    import pandas as pd

    text = read_text(path, what, max_bytes)
    header = header_of(text, path)
    if not header:
        raise DataCorruptError(f"{path}: empty, not a {what}")
    if not ragged:
        _check_row_lengths(text, len(header), path)
    try:
        return pd.read_csv(io.StringIO(text), **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError, OverflowError) as err:
        raise DataCorruptError(f"{path} is not a readable CSV: {str(err).splitlines()[0][:200]}") from None


def _check_row_lengths(text: str, width: int, path: Path) -> None:
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if row and len(row) != width:
                raise DataCorruptError(f"{path}: line {number} has {len(row)} cells, the header {width}")
    except csv.Error as err:
        raise DataCorruptError(f"{path} is not a readable CSV: {err}") from None


def load_json_file(path: Path, what: str, max_bytes: int) -> Any:
    """The JSON value of a regular file of at most ``max_bytes``; one-line DataCorruptError
    (naming the file) for a special file, a huge one, non-UTF-8 text or bad JSON."""
    return parse_json(read_text(path, what, max_bytes), str(path))
