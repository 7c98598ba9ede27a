"""The score store: proxy scores computed once and reused by every command, in one SQLite file.

A score is identified by its *context* (space, dataset, proxy, batch size, seed, classifier head,
data split, code version, proxy version and the proxy's options and network variant: everything
that decides its value) and the architecture index.

Why SQLite: one file, no server, atomic commits. The database runs in WAL mode with a busy
timeout, and every score is committed on its own as soon as it is computed, so

* a run killed at any moment (even SIGKILL) loses at most the score it was computing, and a
  rerun computes only what is missing;
* several processes can write the same store at once: writers wait for each other (busy
  timeout) and a key written twice keeps its first value (scores are deterministic, so both
  writers computed the same number anyway).

Floats are stored losslessly: SQLite REAL is an IEEE float64 and keeps +-inf; it cannot hold NaN
(read back as NULL) nor -0.0 (stored as the integer 0), so those two are encoded in ``kind``.

The store trusts nothing it did not write. Opening a file checks the layout of every table (the
columns of ``meta``, ``contexts`` and ``scores`` for the layout ``meta`` names) before anything is
written to it, not even the switch to WAL mode. Each score row carries a checksum of its whole
key (the context's fields, not its row id, and the architecture index) and of what it serves
(value, kind, seconds, error, architecture string): a row edited or damaged outside nasbench no
longer matches, is removed and computed again, and the run says so. Rows of layouts 1 to 3, written
before checksums existed, are adopted when the store is upgraded to layout 4 (their checksum is
written then, in the upgrade's transaction): they were written by nasbench, nothing can tell an
earlier edit apart, and recomputing every stored score would throw away hours of work. The
context keys themselves are unchanged by layout 4.

This module imports only the standard library: opening a store never loads torch.
"""

from __future__ import annotations

import math
import os
import sqlite3
import sys
import time
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union

from nasbench_cli.errors import DataCorruptError, NasbenchError

T = TypeVar("T")


class LayoutChangedError(NasbenchError):
    """Another nasbench version changed the store's layout while this connection had it open."""


#: file name of the default store inside the data directory
STORE_NAME = "scores.sqlite"
#: bump when the table layout changes; a store of an older layout listed in ``_MIGRATIONS`` is
#: brought up to date in place (one transaction) when opened, any other layout is refused
SCHEMA_VERSION = "4"
#: seconds a writer waits for another process's transaction before giving up
BUSY_TIMEOUT_S = 120.0
#: SQLite's own wait per attempt; between attempts the store can tell the user that it waits
_BUSY_STEP_S = 2.0
#: SQLite's limit on host parameters is 32766 in recent versions, 999 in old ones
_CHUNK = 900

# value encodings in the ``kind`` column
_NUMBER, _NAN, _NEG_ZERO = 0, 1, 2

_CONTEXTS_TABLE = """CREATE TABLE IF NOT EXISTS {name} (
        id INTEGER PRIMARY KEY,
        space TEXT NOT NULL, dataset TEXT NOT NULL, proxy TEXT NOT NULL,
        batch_size INTEGER NOT NULL, seed INTEGER NOT NULL, head TEXT NOT NULL, split TEXT NOT NULL,
        code_version TEXT NOT NULL, proxy_version TEXT NOT NULL, options TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '', code TEXT NOT NULL DEFAULT '',
        UNIQUE (space, dataset, proxy, batch_size, seed, head, split, code_version, proxy_version, options, data,
                code))"""
#: the columns of layout 1's contexts table (layout 2 added ``options``)
_V1_CONTEXT_COLUMNS = ("id", "space", "dataset", "proxy", "batch_size", "seed", "head", "split", "code_version",
                       "proxy_version")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    _CONTEXTS_TABLE.format(name="contexts"),
    """CREATE TABLE IF NOT EXISTS scores (
        context INTEGER NOT NULL REFERENCES contexts(id),
        arch_index INTEGER NOT NULL,
        arch TEXT,
        value REAL,
        kind INTEGER NOT NULL,
        seconds REAL,
        error TEXT,
        device TEXT,
        created TEXT NOT NULL,
        checksum TEXT,
        PRIMARY KEY (context, arch_index)) WITHOUT ROWID""",
)


@dataclass(frozen=True)
class ScoreContext:
    """Everything except the architecture that decides a score's value.

    ``batch_size`` and ``head`` are the resolved values ("one" or "dataset"), never "auto", so a
    run that asked for the proxy's reference settings and one that spelled them out share scores.
    ``options`` is the canonical text of the proxy's resolved options and the network variant
    (``key=value`` pairs sorted by key, joined by ";", e.g. ``network=full;repeats=3`` or
    ``variant=zc``): "" for a proxy without options on the benchmark's own network, so such
    scores keep the key they had before options existed.
    """

    space: str
    dataset: str
    proxy: str
    batch_size: int
    seed: int
    head: str
    split: str
    code_version: str
    proxy_version: str = "1"
    options: str = ""
    # sha256 prefix of the images and labels the proxy actually saw ("" for a data-free proxy): a
    # new batch file, another split file or a changed image gives a new key
    data: str = ""
    # sha256 prefix of the proxy module's source and of the project modules it imports (its helpers):
    # a changed formula can never be served old scores
    code: str = ""

    def describe(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


class StoredScore(NamedTuple):
    """One stored score: the value (NaN when the proxy failed), seconds taken, error message."""

    value: float
    seconds: Optional[float]
    error: Optional[str]
    arch: Optional[str]


def _copy_contexts(db: sqlite3.Connection, columns: Sequence[str]) -> None:
    """Bring the contexts table to the current layout: columns it lacks get their default ('',
    a key no fingerprinted score has) and the uniqueness rule includes them. SQLite cannot change
    a UNIQUE constraint in place, so the table is copied (ids kept: scores refer to them)."""
    names = ", ".join(columns)
    db.execute(_CONTEXTS_TABLE.format(name="contexts_new"))
    db.execute(f"INSERT INTO contexts_new ({names}) SELECT {names} FROM contexts")
    db.execute("DROP TABLE contexts")
    db.execute("ALTER TABLE contexts_new RENAME TO contexts")


def _add_checksums(db: sqlite3.Connection) -> None:
    """Layout 4: a checksum column, written for every row the store already holds (see the
    module docstring: rows of earlier layouts are adopted at the upgrade)."""
    db.execute("ALTER TABLE scores ADD COLUMN checksum TEXT")
    names = ", ".join(f"c.{f.name}" for f in fields(ScoreContext))
    rows = db.execute(f"SELECT {names}, s.context, s.arch_index, s.value, s.kind, s.seconds, s.error, s.arch "
                      "FROM scores s JOIN contexts c ON c.id = s.context").fetchall()
    width = len(fields(ScoreContext))
    db.executemany("UPDATE scores SET checksum = ? WHERE context = ? AND arch_index = ?",
                   [(row_checksum(ScoreContext(*row[:width]), *row[width + 1:]), row[width], row[width + 1])
                    for row in rows])


#: layout -> the step that brings it to SCHEMA_VERSION, run inside the opening transaction
#: (2 added ``options``; 3 added ``data`` and ``code``, the fingerprints of batch and proxy source;
#: 4 added each score's ``checksum``)
_MIGRATIONS: Dict[str, Callable[[sqlite3.Connection], None]] = {
    "1": lambda db: (_copy_contexts(db, _V1_CONTEXT_COLUMNS), _add_checksums(db)),
    "2": lambda db: (_copy_contexts(db, (*_V1_CONTEXT_COLUMNS, "options")), _add_checksums(db)),
    "3": _add_checksums,
}
_V3_CONTEXT_COLUMNS = (*_V1_CONTEXT_COLUMNS, "options", "data", "code")
_V3_SCORE_COLUMNS = ("context", "arch_index", "arch", "value", "kind", "seconds", "error", "device", "created")
#: layout -> the columns of each of its tables: a file whose tables differ in any is no store of ours
_LAYOUTS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "1": {"meta": ("key", "value"), "contexts": _V1_CONTEXT_COLUMNS, "scores": _V3_SCORE_COLUMNS},
    "2": {"meta": ("key", "value"), "contexts": (*_V1_CONTEXT_COLUMNS, "options"), "scores": _V3_SCORE_COLUMNS},
    "3": {"meta": ("key", "value"), "contexts": _V3_CONTEXT_COLUMNS, "scores": _V3_SCORE_COLUMNS},
    "4": {"meta": ("key", "value"), "contexts": _V3_CONTEXT_COLUMNS, "scores": (*_V3_SCORE_COLUMNS, "checksum")},
}


def _hex(number: Optional[float]) -> str:
    if number is None:
        return "-"
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return f"?{type(number).__name__}:{number!r}"  # damage: never equal to what put wrote
    return float(number).hex()


def row_checksum(context: ScoreContext, index: Any, stored: Any, kind: Any, seconds: Any, error: Any,
                 arch: Any) -> str:
    """The checksum a score row carries: sha256 (first 32 hex digits) of its whole key (every
    field of the context and the index) and of everything it serves."""
    import hashlib

    parts = [repr(v) for v in astuple(context)] + [repr(index), _hex(stored), repr(kind), _hex(seconds),
                                                   repr(error), repr(arch)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
#: the tables a score store holds (an SQLite file with any other table belongs to something else)
STORE_TABLES = frozenset({"meta", "contexts", "scores", "sqlite_sequence"})


def encode_value(value: float) -> Tuple[Optional[float], int]:
    """A float -> (REAL to store, kind); the pair decodes back to the same bits except NaN payloads."""
    value = float(value)
    if math.isnan(value):
        return None, _NAN
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return 0.0, _NEG_ZERO
    return value, _NUMBER


def decode_value(stored: Optional[float], kind: int) -> float:
    """Inverse of :func:`encode_value`."""
    if kind == _NAN:
        return math.nan
    if kind == _NEG_ZERO:
        return -0.0
    if stored is None:
        raise ValueError("a stored number is NULL")
    return float(stored)


def _decode_row(row: Tuple[Any, ...]) -> Tuple[int, float, Optional[float], Optional[str], Optional[str]]:
    """(index, value, seconds, error, arch) of a stored row; TypeError/ValueError when damaged."""
    index, stored, kind, seconds, error, arch = row
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"index {index!r} is not an integer")
    if kind not in (_NUMBER, _NAN, _NEG_ZERO):
        raise ValueError(f"unknown value kind {kind!r}")
    if stored is not None and not isinstance(stored, (int, float)):
        raise ValueError(f"value {stored!r} is not a number")
    if seconds is not None and not isinstance(seconds, (int, float)):
        raise ValueError(f"seconds {seconds!r} is not a number")
    if error is not None and not isinstance(error, str) or arch is not None and not isinstance(arch, str):
        raise ValueError("error or arch is not text")
    return index, decode_value(stored, kind), seconds, error, arch


def layout_problem(db: sqlite3.Connection) -> Optional[str]:
    """Why the database ``db`` is not a score store of a layout this version reads (None when it is
    one, or holds no table at all: a new store). Reads only."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return None
    foreign = sorted(tables - STORE_TABLES)
    if foreign:
        return f"tables: {', '.join(foreign[:5])}"
    if "meta" not in tables:
        return "no meta table"
    columns = [row[1] for row in db.execute("PRAGMA table_info(meta)")]
    if columns != ["key", "value"]:
        return f"its meta table has columns {', '.join(map(str, columns))[:200]}"
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None or row[0] not in _LAYOUTS:
        return "its meta table names no score-store layout"
    for table, expected in _LAYOUTS[row[0]].items():
        if table not in tables:
            return f"layout {row[0]} without its {table} table"
        columns = [info[1] for info in db.execute(f"PRAGMA table_info({table})")]
        if sorted(columns) != sorted(expected):
            return f"its {table} table has columns {', '.join(map(str, columns))[:200]}, not those of layout {row[0]}"
    return None


def inspect_store_file(path: Path) -> Optional[str]:
    """Why the existing file ``path`` is not a score store runs would use (None when it is one),
    opened read-only: ``data status`` says what a run would say, and changes nothing."""
    from nasbench_cli.untrusted import check_regular

    try:
        check_regular(Path(path), "score store (an SQLite file)")
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except NasbenchError as err:
        return str(err).split(": ", 1)[-1]
    except sqlite3.Error as err:
        return f"SQLite says: {err}"
    try:
        return layout_problem(db)
    except sqlite3.DatabaseError as err:
        return f"not an SQLite database (SQLite says: {err})"
    finally:
        db.close()


def _warn(message: str) -> None:
    import logging

    logging.getLogger("nasbench").warning(message)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _chunks(items: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class ScoreStore:
    """A connection to a score store file (or ``":memory:"`` for a throwaway run).

    Not shared between threads or processes: each process opens its own.
    """

    def __init__(self, path: Union[str, Path], timeout: float = BUSY_TIMEOUT_S,
                 on_wait: Optional[Callable[[str], None]] = None, on_note: Optional[Callable[[str], None]] = None):
        self.path = path if path == ":memory:" else Path(path)
        self.memory = path == ":memory:"
        self.timeout = timeout
        # told once when another process's lock makes this one wait (default: a line on stderr)
        self._on_wait = on_wait or (lambda message: print(message, file=sys.stderr, flush=True))
        # told when rows fail their checksum (default: the nasbench logger's warning, on stderr)
        self._on_note = on_note or _warn
        if not self.memory:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise NasbenchError(f"cannot create the folder of the score store {self.path}: "
                                    f"{err.strerror or err}; pass --store PATH or --no-store") from None
        if not self.memory and os.path.lexists(self.path):  # a FIFO or device is never a store
            from nasbench_cli.untrusted import check_regular

            check_regular(self.path, "score store (an SQLite file)")
        try:
            # isolation_level=None: autocommit, so each INSERT is its own committed transaction;
            # multi-statement writes open BEGIN IMMEDIATE themselves
            self._db = sqlite3.connect(str(self.path), timeout=min(timeout, _BUSY_STEP_S), isolation_level=None)
            # short waits inside SQLite; _retry keeps trying up to ``timeout`` and says that it waits
            self._db.execute(f"PRAGMA busy_timeout = {int(min(timeout, _BUSY_STEP_S) * 1000)}")
            self._check_is_store()
            self._retry(self._setup)
        except sqlite3.DatabaseError as err:
            raise self._error(err) from None
        self._contexts: Dict[ScoreContext, int] = {}

    # --- opening ------------------------------------------------------------------------------
    def _check_is_store(self) -> None:
        """Refuse, before anything is written to it (no table, no row, not even WAL mode), an SQLite
        file that is not a score store: one with tables other than a store's, whose ``meta`` table
        is not a store's (columns key/value, a 'schema' row of a known layout), or whose tables do
        not all have the columns of that layout."""
        if self.memory:
            return
        reason = layout_problem(self._db)
        if reason:
            raise DataCorruptError(f"{self.path}: an SQLite database of something else ({reason}), "
                                   "not a score store; nothing was changed: pass another --store PATH")

    def _setup(self) -> None:
        if not self.memory:
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise NasbenchError(f"score store {self.path}: cannot switch to WAL mode (got {mode})")
            # NORMAL in WAL mode: a committed row survives any process kill; only an OS crash
            # may drop the last commits, and it never corrupts the file
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            has_meta = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is not None
            found = (self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() or [None])[0] \
                if has_meta else None
            if found in _MIGRATIONS:
                _MIGRATIONS[found](self._db)
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            found = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        if found != SCHEMA_VERSION:
            raise DataCorruptError(f"score store {self.path} has layout version {found}; this nasbench "
                                   f"reads version {SCHEMA_VERSION}: use another --store file")

    def _transaction(self, statements: Callable[[], T]) -> T:
        """Run ``statements`` in one write transaction (BEGIN IMMEDIATE: the write lock is taken
        first, so two writers never deadlock on an upgrade); rolled back on any failure."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._check_layout_unchanged()
            result = statements()
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return result

    def _check_layout_unchanged(self) -> None:
        """Inside a write transaction: refuse when another nasbench version changed the store's
        layout since this connection opened it. Rows written in the layout this version knows would
        be misread by the newer one (rows an older version wrote into an upgraded store were
        dropped as damaged), and this version would misread the newer rows: stop writing instead."""
        if self.memory:
            return
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        found = None if row is None else row[0]
        if found != SCHEMA_VERSION:
            raise LayoutChangedError(
                f"score store {self.path} was changed to layout version {found} by another nasbench "
                f"while this run had it open (this version writes layout {SCHEMA_VERSION}); nothing more "
                f"is written to it and the scores it holds are kept: run the newer nasbench, or pass "
                f"another --store PATH")

    def _write(self, statements: Callable[[], T]) -> T:
        """``statements`` in one transaction, retried while another process holds the lock;
        SQLite's errors become one-line store errors."""
        try:
            return self._retry(lambda: self._transaction(statements))  # type: ignore[return-value]
        except sqlite3.Error as err:
            raise self._error(err) from None

    def _retry(self, action: Callable[[], object], attempts: int = 5) -> object:
        """Run ``action``; while another process holds the lock, retry until ``timeout`` has passed
        (at least ``attempts`` times), saying once that this run waits and for what.

        SQLite itself waits only ``_BUSY_STEP_S`` per try, so the wait is never silent; switching
        to WAL and the first schema write can also report SQLITE_BUSY at once when another process
        opens the same new file at the same instant.
        """
        start = time.monotonic()
        deadline = start + self.timeout
        told = False
        attempt = 0
        while True:
            try:
                return action()
            except sqlite3.OperationalError as err:
                locked = "locked" in str(err) or "busy" in str(err)
                attempt += 1
                if not locked or (time.monotonic() >= deadline and attempt >= attempts):
                    raise
                if not told and time.monotonic() - start >= _BUSY_STEP_S:
                    told = True
                    self._on_wait(f"waiting for the score store {self.path}: another process holds its write "
                                  f"lock (up to {self.timeout:.0f} s; scores computed so far are kept)")
                time.sleep(min(0.05 * attempt, 0.5))

    def _error(self, err: sqlite3.Error) -> NasbenchError:
        if isinstance(err, sqlite3.DatabaseError) and "not a database" in str(err):
            return DataCorruptError(f"{self.path}: not a score store (SQLite says: {err})")
        if "disk is full" in str(err) or "disk I/O error" in str(err):
            return NasbenchError(f"disk full: cannot write the score store {self.path} ({err}); the scores "
                                 "stored before are kept and the file is consistent: free space (or pass "
                                 "--store on another disk) and run the command again to resume")
        if "locked" in str(err) or "busy" in str(err):
            return NasbenchError(f"score store {self.path} stayed locked by another process for "
                                 f"{self.timeout:.0f} s; wait for it to finish, or pass another --store PATH")
        return NasbenchError(f"score store {self.path}: {err}; pass another --store PATH or --no-store")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ScoreStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- contexts -----------------------------------------------------------------------------
    def _context_id(self, context: ScoreContext, create: bool) -> Optional[int]:
        if context in self._contexts:
            return self._contexts[context]
        names = [f.name for f in fields(ScoreContext)]
        where = " AND ".join(f"{n} = ?" for n in names)
        values = astuple(context)
        try:
            row = self._db.execute(f"SELECT id FROM contexts WHERE {where}", values).fetchone()
        except sqlite3.Error as err:
            raise self._error(err) from None
        if row is None and create:
            def insert() -> Any:
                self._db.execute(f"INSERT OR IGNORE INTO contexts ({', '.join(names)}) "
                                 f"VALUES ({', '.join('?' for _ in names)})", values)
                return self._db.execute(f"SELECT id FROM contexts WHERE {where}", values).fetchone()

            row = self._write(insert)
        if row is None:
            return None
        self._contexts[context] = int(row[0])
        return int(row[0])

    def contexts(self) -> List[Tuple[ScoreContext, int]]:
        """Every context in the store with its number of scores."""
        names = ", ".join(f"c.{f.name}" for f in fields(ScoreContext))
        rows = self._db.execute(
            f"SELECT {names}, COUNT(s.arch_index) FROM contexts c LEFT JOIN scores s ON s.context = c.id "
            f"GROUP BY c.id ORDER BY c.id").fetchall()
        return [(ScoreContext(*row[:-1]), int(row[-1])) for row in rows]

    # --- reading ------------------------------------------------------------------------------
    def get_many(self, context: ScoreContext, indices: Optional[Iterable[int]] = None,
                 arch_of: Optional[Callable[[int], str]] = None) -> Dict[int, StoredScore]:
        """Stored scores of ``indices`` (all of the context's when None), in few queries.

        ``arch_of`` checks each stored architecture string against the space's: a store filled
        with another index order (a space without its benchmark listing numbers architectures
        differently) is refused rather than silently mixed in.
        """
        cid = self._context_id(context, create=False)
        if cid is None:
            return {}
        columns = "arch_index, value, kind, seconds, error, arch, checksum"
        try:
            if indices is None:
                rows = self._db.execute(f"SELECT {columns} FROM scores WHERE context = ?", (cid,)).fetchall()
            else:
                wanted = sorted({int(i) for i in indices})
                rows = []
                for chunk in _chunks(wanted):
                    rows += self._db.execute(
                        f"SELECT {columns} FROM scores WHERE context = ? AND arch_index IN "
                        f"({', '.join('?' for _ in chunk)})", (cid, *chunk)).fetchall()
        except sqlite3.Error as err:
            raise self._error(err) from None
        found: Dict[int, StoredScore] = {}
        damaged: List[Any] = []
        for row in rows:
            # the checksum first: a row that does not carry its own is not served, whatever it holds
            if row[-1] != row_checksum(context, row[0], row[1], row[2], row[3], row[4], row[5]):
                damaged.append(row[0])
                continue
            try:
                index, value, seconds, error, arch = _decode_row(row[:-1])
            except (TypeError, ValueError):
                damaged.append(row[0])
                continue
            if arch_of is not None and arch is not None and arch != arch_of(index):
                raise DataCorruptError(
                    f"score store {self.path}: architecture {index} of {context.space} is stored as "
                    f"'{arch}' but this space lists '{arch_of(index)}' (another index order: was the "
                    f"benchmark listing missing for one of the runs?); use another --store file")
            found[index] = StoredScore(value, seconds, error, arch)
        if damaged:
            self._drop_damaged(cid, context, damaged)
        return found

    def _drop_damaged(self, cid: int, context: ScoreContext, keys: List[Any]) -> None:
        """Remove rows that do not match their checksum (edited or damaged outside nasbench), so
        that the run computes them again, and say so once."""
        self._write(lambda: self._db.executemany("DELETE FROM scores WHERE context = ? AND arch_index IS ?",
                                                 [(cid, key) for key in keys]))
        shown = ", ".join(repr(k)[:20] for k in keys[:5]) + (", ..." if len(keys) > 5 else "")
        self._on_note(f"note: score store {self.path}: {len(keys)} stored score(s) of {context.proxy} on "
                      f"{context.space} did not match their checksum (edited or damaged outside nasbench; "
                      f"architectures {shown}): not used, they are computed again")

    def get(self, context: ScoreContext, index: int) -> Optional[StoredScore]:
        """One stored score, or None."""
        return self.get_many(context, [index]).get(int(index))

    def count(self, context: Optional[ScoreContext] = None) -> int:
        """Number of scores of ``context`` (of the whole store when None)."""
        if context is None:
            return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
        cid = self._context_id(context, create=False)
        if cid is None:
            return 0
        return int(self._db.execute("SELECT COUNT(*) FROM scores WHERE context = ?", (cid,)).fetchone()[0])

    # --- writing ------------------------------------------------------------------------------
    def put(self, context: ScoreContext, index: int, value: float, seconds: Optional[float] = None,
            error: Optional[str] = None, arch: Optional[str] = None, device: Optional[str] = None,
            replace: bool = False) -> None:
        """Store one score, committed before returning.

        A key already present keeps its value unless ``replace`` (a --restart recomputation).
        """
        self.put_many(context, [(index, value, seconds, error, arch)], device=device, replace=replace)

    def put_many(self, context: ScoreContext,
                 rows: Iterable[Tuple[int, float, Optional[float], Optional[str], Optional[str]]],
                 device: Optional[str] = None, replace: bool = False) -> int:
        """Store (index, value, seconds, error, arch) rows in one transaction; returns rows given."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        created = _now()
        records = []
        for index, value, seconds, error, arch in rows:
            stored, kind = encode_value(value)
            seconds = None if seconds is None else float(seconds)
            records.append((int(index), arch, stored, kind, seconds, error, device, created,
                            row_checksum(context, int(index), stored, kind, seconds, error, arch)))

        def write() -> None:
            self._db.executemany(
                f"{verb} INTO scores (context, arch_index, arch, value, kind, seconds, error, device, "
                f"created, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(cid, *r) for r in records])

        cid = self._context_id(context, create=True)
        self._write(write)
        return len(records)

    def delete(self, context: ScoreContext, indices: Optional[Iterable[int]] = None) -> int:
        """Remove scores of ``context`` (all of them when ``indices`` is None); returns how many."""
        cid = self._context_id(context, create=False)
        if cid is None:
            return 0
        wanted = None if indices is None else sorted({int(i) for i in indices})

        def remove() -> int:
            if wanted is None:
                return self._db.execute("DELETE FROM scores WHERE context = ?", (cid,)).rowcount
            removed = 0
            for chunk in _chunks(wanted):
                removed += self._db.execute(
                    f"DELETE FROM scores WHERE context = ? AND arch_index IN ({', '.join('?' for _ in chunk)})",
                    (cid, *chunk)).rowcount
            return removed

        return int(self._write(remove))


    def drop_context(self, context: ScoreContext) -> int:
        """Remove ``context``: its scores and its key, in one transaction; returns the scores removed."""
        cid = self._context_id(context, create=False)
        if cid is None:
            return 0

        def drop() -> int:
            removed = self._db.execute("DELETE FROM scores WHERE context = ?", (cid,)).rowcount
            self._db.execute("DELETE FROM contexts WHERE id = ?", (cid,))
            return removed

        removed = int(self._write(drop))
        self._contexts.pop(context, None)
        return removed


def default_store_path() -> Path:
    """The per-user store, ``<user cache>/nasbench/scores.sqlite``: used when neither ``--store``
    nor $NASBENCH_STORE names one. Never inside a data directory, which may be shared or versioned
    (the context key holds the data's hash, so one store serves every data directory safely)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nasbench")) / STORE_NAME


def _legacy_store_note(data_dir: Path, chosen: Path) -> Optional[str]:
    """A note when ``<data_dir>/scores.sqlite`` (where earlier versions kept scores) exists
    but is not the store in use: its scores are not lost, only no longer read by default."""
    legacy = Path(data_dir) / STORE_NAME
    try:
        if legacy.is_file() and legacy.resolve() != Path(chosen).resolve():
            return (f"{legacy} (where earlier versions kept scores) is not read by default any more: "
                    f"--store {legacy} (or NASBENCH_STORE) to reuse its scores")
    except OSError:
        return None
    return None


def store_origin(store: Optional[Path]) -> Tuple[Path, str]:
    """The store a run would use and why: (path, "--store" | "$NASBENCH_STORE" | "user cache")."""
    if store is not None:
        return Path(store), "--store"
    if os.environ.get("NASBENCH_STORE"):
        return Path(os.environ["NASBENCH_STORE"]), "$NASBENCH_STORE"
    return default_store_path(), "user cache"


def open_store(store: Optional[Path], data_dir: Path, enabled: bool = True) -> Tuple[ScoreStore, str, Optional[str]]:
    """The store a command uses: --store PATH, the data directory's, or an in-memory one (--no-store).

    Returns the store, its description for provenance, and an optional note for the user.
    """
    location, name, note = resolve_store(store, data_dir, enabled)
    return ScoreStore(location), name, note


def resolve_store(store: Optional[Path], data_dir: Path, enabled: bool = True
                  ) -> Tuple[Union[str, Path], str, Optional[str]]:
    """Where :func:`open_store` would open the store, without creating anything: (path or
    ":memory:", description, note). One rule for the CLI and the Python API: ``store``
    (``--store``), else $NASBENCH_STORE, else the user cache. A store that cannot be a file is
    a usage error."""
    if not enabled:
        return ":memory:", ":memory: (--no-store)", None
    location, origin = store_origin(store)
    if str(location).strip() == "-":  # not stdout: SQLite would create a file named '-'
        from nasbench_cli.errors import UsageError

        flag = "--store" if origin == "--store" else "NASBENCH_STORE"
        raise UsageError(f"{flag} -: the score store is an SQLite file, not stdout; name a file "
                         "(or --no-store)")
    if origin != "user cache":
        from nasbench_cli.output import check_output

        check_output(location, flag="--store" if origin == "--store" else "NASBENCH_STORE")
    return location, str(location), _legacy_store_note(data_dir, location)
