"""One input layer, enforced (issue 33): every file a user or a committed result hands in is opened
through the package's checked readers (``nasbench_cli/untrusted.py`` and the readers built on it).

The walk parses every module of the package and of ``scripts/`` and lists each direct reader:
``pandas.read_csv`` (and its siblings), ``json.load(s)``, ``pickle``, ``np.load``, ``torch.load``,
``sqlite3.connect``, ``open(...)``/``.open(...)`` for reading, ``.read_text()`` and ``.read_bytes()``.
Each one must be in ALLOWED, which names the function and says why it may read directly: it is
the layer itself, or it reads a file the program wrote in the same run (or its own source).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from nasbench_cli.errors import DataCorruptError, DataMissingError
from nasbench_cli.untrusted import (
    check_regular,
    load_json_file,
    open_regular,
    quote,
    read_csv_frame,
    read_text,
)

ROOT = Path(__file__).resolve().parents[1]

#: (file, function) -> why it may read a file directly
ALLOWED: Dict[Tuple[str, str], str] = {
    # the layer itself
    ("nasbench_cli/untrusted.py", "parse_json"): "the layer: JSON with bounded nesting",
    ("nasbench_cli/untrusted.py", "read_csv_frame"): "the layer: parses text read_text checked",
    ("nasbench_cli/groundtruth/safe_load.py", "_restricted_load"): "the layer: restricted unpickler, "
                                                                  "file opened with open_regular",
    ("nasbench_cli/groundtruth/safe_load.py", "load_torch_archive"): "the layer: torch's weights_only "
                                                                     "allow-list, after _restricted_load",
    ("nasbench_cli/groundtruth/safe_load.py", "load_pickle"): "the layer: restricted unpickler over "
                                                              "open_regular",
    ("nasbench_cli/groundtruth/table.py", "_parse_csv"): "the layer for ground-truth tables: parses a "
                                                         "buffer read through open_regular",
    ("nasbench_cli/store.py", "ScoreStore.__init__"): "the layer for SQLite: the path is checked first "
                                                      "and the layout of every table before any write",
    ("nasbench_cli/store.py", "inspect_store_file"): "the layer for SQLite: read-only, after check_regular",
    # the program's own files
    ("nasbench_cli/code_digest.py", "_Walker._module"): "hashes the source of code the user chose to run "
                                                       "(a plugin and the modules beside it), never parses data",
    ("nasbench_cli/code_digest.py", "file_closure_digest"): "hashes a plugin file the user chose to run",
    ("nasbench_cli/plugins.py", "file_sha256"): "hashes a plugin file the user chose to run",
    ("nasbench_cli/plugins.py", "install"): "unpickles the proxy the driver of this run pickled itself "
                                            "(a script proxy sent by value to its own workers)",
    ("nasbench_cli/workflows/predict.py", "result_frames.frame"): "parses text this run built in memory",
    ("nasbench_cli/workflows/leaderboard.py", "code_digest"): "hashes the package's own source",
    ("nasbench_cli/datasets/download.py", "_unpack"): "the archive whose md5 this run checked",
    ("nasbench_cli/datasets/cifar10_sample.py", "unpack"): "np.load (no pickles) of those verified bytes",
    ("nasbench_cli/groundtruth/embedded.py", "verified_package_file"): "a file of the installed package, "
                                                                       "accepted only with its sha256",
    ("scripts/bench_nb101_reader.py", "main"): "parses the JSON line of the child it started",
    ("scripts/bench_embedded_table.py", "_child"): "parses the JSON line of the child it started",
    ("scripts/bench_fidelity.py", "main"): "reads the CSVs and sidecar the commands it ran just wrote",
    ("scripts/bench_store.py", "main"): "counts the lines of the CSV the command it ran just wrote",
    ("scripts/bench_gpu.py", "run"): "reads the CSV and sidecar the command it ran just wrote",
}

_PANDAS_READERS = {"read_csv", "read_table", "read_json", "read_pickle", "read_parquet", "read_fwf"}
_WRITE_MODES = ("w", "a", "x")


def _mode_of(call: ast.Call, position: int) -> str:
    """The literal mode of an open call ("r" when absent or not a literal: taken as a read)."""
    mode = call.args[position] if len(call.args) > position else None
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"


def _reader(call: ast.Call) -> str:
    """The name of the direct reader ``call`` is, or ""."""
    func = call.func
    if isinstance(func, ast.Name):
        if func.id == "open" and not any(m in _mode_of(call, 1) for m in _WRITE_MODES):
            return "open"
        return ""
    if not isinstance(func, ast.Attribute):
        return ""
    base = func.value.id if isinstance(func.value, ast.Name) else ""
    name = func.attr
    if base in ("pd", "pandas") and name in _PANDAS_READERS:
        return f"{base}.{name}"
    if base == "json" and name in ("load", "loads"):
        return f"json.{name}"
    if base == "pickle" and name in ("load", "loads", "Unpickler"):
        return f"pickle.{name}"
    if base in ("np", "numpy") and name in ("load", "loadtxt", "genfromtxt", "fromfile"):
        return f"{base}.{name}"
    if base == "torch" and name == "load":
        return "torch.load"
    if base == "sqlite3" and name == "connect":
        return "sqlite3.connect"
    if name in ("read_text", "read_bytes"):
        return f".{name}"
    if name == "open" and base not in ("os",) and not any(m in _mode_of(call, 0) for m in _WRITE_MODES):
        return f"{base or '<expr>'}.open"
    return ""


class _Walker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.stack: List[str] = []
        self.found: List[Tuple[str, int, str]] = []

    def _scope(self, node) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_Call(self, node: ast.Call) -> None:
        reader = _reader(node)
        if reader:
            self.found.append((".".join(self.stack) or "<module>", node.lineno, reader))
        self.generic_visit(node)


def direct_readers() -> List[Tuple[str, str, int, str]]:
    """(file, function, line, reader) of every direct reader in the package and scripts/."""
    found = []
    files = sorted((ROOT / "nasbench_cli").rglob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    for path in files:
        walker = _Walker()
        walker.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        relative = path.relative_to(ROOT).as_posix()
        found += [(relative, function, line, reader) for function, line, reader in walker.found]
    return found


def test_every_file_read_goes_through_the_checked_layer():
    outside = [f"{file}:{line} {function}: {reader}" for file, function, line, reader in direct_readers()
               if (file, function) not in ALLOWED]
    assert not outside, "direct readers outside the checked input layer:\n" + "\n".join(outside)


def test_the_allow_list_names_only_functions_that_read():
    used: Set[Tuple[str, str]] = {(file, function) for file, function, _, _ in direct_readers()}
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"allowed but reading nothing (remove them): {stale}"


def test_the_walk_finds_each_kind_of_reader():
    source = ("import json, pickle, pandas as pd\n"
              "def f(p):\n"
              "    pd.read_csv(p); json.loads(p); pickle.load(p); open(p); p.open(); p.read_text()\n"
              "    open(p, 'w'); p.open('wb')\n")
    walker = _Walker()
    walker.visit(ast.parse(source))
    assert [r for _, _, r in walker.found] == ["pd.read_csv", "json.loads", "pickle.load", "open", "p.open",
                                               ".read_text"]


# --- the layer's own behaviour -----------------------------------------------------------------------
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for read in (lambda: read_csv_frame(fifo), lambda: read_text(fifo, "list"),
                 lambda: load_json_file(fifo, "record", 100), lambda: check_regular(fifo, "x")):
        with pytest.raises(DataCorruptError, match="a FIFO, not a regular file"):
            read()


def test_devices_links_to_them_and_missing_files(tmp_path):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    with pytest.raises(DataCorruptError, match="a device"):
        read_csv_frame(link)
    with pytest.raises(DataCorruptError, match="a directory"):
        open_regular(tmp_path, "CSV table")
    with pytest.raises(DataMissingError, match="no such file"):
        read_text(tmp_path / "absent.txt", "list")


def test_size_nul_utf8_header_and_ragged_rows(tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,2\n" * 100)
    with pytest.raises(DataCorruptError, match="more than a CSV table can be"):
        read_csv_frame(big, max_bytes=50)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"a,b\x00\n1,2\n")
    with pytest.raises(DataCorruptError, match="NUL byte at byte 3"):
        read_csv_frame(nul)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("caf\xe9,b\n1,2\n".encode("latin-1"))
    with pytest.raises(DataCorruptError, match="not UTF-8"):
        read_csv_frame(latin)
    dup = tmp_path / "dup.csv"
    dup.write_text("a,a\n1,2\n")
    with pytest.raises(DataCorruptError, match="'a' appears twice"):
        read_csv_frame(dup)
    short = tmp_path / "short.csv"
    short.write_text("a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(DataCorruptError, match="line 3 has 2 cells, the header 3"):
        read_csv_frame(short)
    assert read_csv_frame(short, ragged=True).shape == (2, 3)
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,2\n3,4\n")
    assert read_csv_frame(good)["b"].tolist() == [2, 4]


def test_quote_cuts_long_cells():
    text = quote("x" * 300_000)
    assert len(text) < 120 and "300002 characters" in text
    assert quote("abc") == "'abc'"
