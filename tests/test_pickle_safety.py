"""No code runs from a data file: every pickle the package reads goes through one restricted loader.

Each reader (NB201 / NATS-tss index order from a NATS meta file, the NATS spaces, `data convert` of a
tss or sss folder and of a single-file archive) is fed a file whose ``__reduce__`` would create a
file; the read must stop with one line naming the file and the refused global, and create nothing.
The real shared archives must read exactly as through the official ``nats_bench`` API.
"""

from __future__ import annotations

import bz2
import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import pytest

from nasbench_cli.errors import DataCorruptError
from nasbench_cli.groundtruth.convert import archive_table, complete_listing, record_row
from nasbench_cli.groundtruth.safe_load import load_pickle
from nasbench_cli.groundtruth.table import ArchRecord, GroundTruth
from nasbench_cli.spaces.base import SPACES
from nasbench_cli.spaces.nb201 import canonical_archs, read_official_order

TSS_NAME = "NATS-tss-v1_0-3ffb9-simple"
SSS_NAME = "NATS-sss-v1_0-50262-simple"
REAL_INDICES = [0, 11, 284]


# --- malicious payloads ---------------------------------------------------------------------------
class _OpenForWrite:
    """Unpickles to ``open(target, "w")``: creates the file."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


class _Shell:
    """Unpickles to ``os.system("touch target")``."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _Eval:
    """Unpickles to ``eval(...)`` of code that creates the file."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (eval, (f"open({self.target!r}, 'w').close()",))


class _Subprocess:
    """Unpickles to ``subprocess.call(["touch", target])``."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (subprocess.call, (["touch", self.target],))


PAYLOADS: Dict[str, Callable[[Path], Any]] = {
    "open": _OpenForWrite, "os.system": _Shell, "eval": _Eval, "subprocess": _Subprocess}


def _write_bz2(path: Path, obj: Any, protocol: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with bz2.open(path, "wb", compresslevel=1) as handle:
        pickle.dump(obj, handle, protocol=protocol)
    return path


def _meta(archs: List[str], payload: Any) -> dict:
    """A NATS meta dict with a valid listing and the payload among its entries."""
    return {"meta_archs": archs, "total_archs": len(archs), "arch2infos": {},
            "evaluated_indexes": [], "note": payload}


def _sss_archs() -> List[str]:
    from nasbench_cli.spaces.nats_sss import NATSSizeSpace

    space = NATSSizeSpace()
    return [space.arch_str(i) for i in range(len(space))]


def _assert_refused(err: pytest.ExceptionInfo, path: Path, target: Path) -> None:
    message = str(err.value)
    assert str(path) in message and "refused to load" in message
    assert "\n" not in message
    assert not target.exists(), "the payload ran"


# --- the loader -----------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_loader_refuses_code_globals(tmp_path, kind, protocol):
    target = tmp_path / "pwned"
    path = _write_bz2(tmp_path / "x.pickle.pbz2", {"a": [PAYLOADS[kind](target)]}, protocol)
    with pytest.raises(DataCorruptError) as err:
        load_pickle(path, what="NATS-Bench file")
    _assert_refused(err, path, target)
    assert "never holds" in str(err.value)


def test_loader_names_the_refused_global(tmp_path):
    target = tmp_path / "pwned"
    path = _write_bz2(tmp_path / "x.pbz2", _Shell(target))
    with pytest.raises(DataCorruptError, match=r"system"):
        load_pickle(path)
    plain = tmp_path / "plain.pkl"  # uncompressed by name, too
    plain.write_bytes(pickle.dumps(_OpenForWrite(target)))
    with pytest.raises(DataCorruptError, match=r"\bopen\b"):
        load_pickle(plain)
    assert not target.exists()


def test_loader_refuses_torch_and_persistent_ids(tmp_path):
    torch_global = tmp_path / "t.pbz2"
    # a hand-written protocol-0 pickle: GLOBAL torch.load, called on nothing
    torch_global.write_bytes(bz2.compress(b"ctorch\nload\n(tR."))
    with pytest.raises(DataCorruptError, match="torch.load"):
        load_pickle(torch_global)
    persistent = tmp_path / "p.pkl"
    persistent.write_bytes(b"Pfoo\n.")
    with pytest.raises(pickle.UnpicklingError, match="persistent"):
        load_pickle(persistent)


def test_loader_reads_plain_data(tmp_path):
    obj = {"a": OrderedDict([(("cifar10", 777), {"acc": np.float64(91.5)})]),
           "b": [np.int64(3), np.float32(0.25), True, None, "s", b"raw", 1.5],
           "c": {1, 2}, "d": (1, 2), "e": np.arange(4, dtype=np.float64)}
    path = _write_bz2(tmp_path / "ok.pickle.pbz2", obj)
    loaded = load_pickle(path)
    assert isinstance(loaded["a"], OrderedDict)
    assert loaded["a"][("cifar10", 777)]["acc"] == np.float64(91.5)
    assert type(loaded["b"][0]) is np.int64 and loaded["b"][1:] == obj["b"][1:]
    assert loaded["c"] == {1, 2} and loaded["d"] == (1, 2)
    assert np.array_equal(loaded["e"], obj["e"])


# --- the readers, in process ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["open", "os.system"])
def test_nb201_order_from_a_tampered_meta_is_refused(tmp_path, kind):
    target = tmp_path / "pwned"
    path = _write_bz2(tmp_path / "meta.pickle.pbz2", _meta(canonical_archs(), PAYLOADS[kind](target)))
    with pytest.raises(DataCorruptError) as err:
        read_official_order(path)
    _assert_refused(err, path, target)


@pytest.mark.parametrize("space", ["nb201", "nats-tss"])
@pytest.mark.parametrize("rel", [f"nats/{TSS_NAME}", TSS_NAME])
def test_spaces_refuse_a_tampered_meta_in_the_data_dir(tmp_path, space, rel):
    target = tmp_path / "pwned"
    meta = _write_bz2(tmp_path / "data" / rel / "meta.pickle.pbz2",
                      _meta(canonical_archs(), _Shell(target)))
    with pytest.raises(DataCorruptError) as err:
        SPACES.get(space)(tmp_path / "data")
    _assert_refused(err, meta, target)


def test_nats_sss_space_reads_no_pickle(tmp_path):
    target = tmp_path / "pwned"
    data = tmp_path / "data"
    _write_bz2(data / "nats" / SSS_NAME / "meta.pickle.pbz2", _meta(["8:8:8:8:8"], _Shell(target)))
    _write_bz2(data / "nats" / SSS_NAME / "000000.pickle.pbz2", {"90": _Shell(target)})
    space = SPACES.get("nats-sss")(data)
    assert space.arch_str(0) == "8:8:8:8:8" and space.ground_truth() is None
    assert not target.exists()


@pytest.mark.parametrize("kind", ["open", "os.system"])
def test_convert_refuses_a_tampered_tss_meta(tmp_path, kind):
    target = tmp_path / "pwned"
    folder = tmp_path / TSS_NAME
    meta = _write_bz2(folder / "meta.pickle.pbz2", _meta(canonical_archs(), PAYLOADS[kind](target)))
    _write_bz2(folder / "000000.pickle.pbz2", {})
    with pytest.raises(DataCorruptError) as err:
        archive_table(folder)
    _assert_refused(err, meta, target)


def test_convert_refuses_a_tampered_sss_record(tmp_path):
    target = tmp_path / "pwned"
    folder = tmp_path / SSS_NAME
    _write_bz2(folder / "meta.pickle.pbz2", _meta(_sss_archs(), None))
    record = _write_bz2(folder / "000000.pickle.pbz2", OrderedDict([("90", _OpenForWrite(target))]))
    with pytest.raises(DataCorruptError) as err:
        archive_table(folder)
    _assert_refused(err, record, target)


def test_convert_refuses_a_tampered_single_file(tmp_path):
    target = tmp_path / "pwned"
    archive = _meta(canonical_archs(), None)
    archive["arch2infos"] = {0: {"200": {"all_results": {}, "x": _Eval(target)}}}
    path = _write_bz2(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2", archive)
    with pytest.raises(DataCorruptError) as err:
        archive_table(path)
    _assert_refused(err, path, target)


def test_record_naming_another_file_is_not_opened(tmp_path):
    """A str state would make nats_bench's ``create_from_state_dict`` unpickle that path itself."""
    target = tmp_path / "pwned"
    evil = _write_bz2(tmp_path / "evil.pickle.pbz2", _Shell(target))
    folder = tmp_path / TSS_NAME
    _write_bz2(folder / "meta.pickle.pbz2", _meta(canonical_archs(), None))
    record = _write_bz2(folder / "000000.pickle.pbz2", {"200": str(evil)})
    with pytest.raises(DataCorruptError, match="not a dict") as err:
        archive_table(folder)
    assert str(record) in str(err.value) and not target.exists()


# --- the CLI, as a user runs it ---------------------------------------------------------------------
def _cli(args: List[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", NASBENCH_DATA=str(cwd / "data"))
    return subprocess.run([sys.executable, "-m", "nasbench_cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _assert_cli_refused(result: subprocess.CompletedProcess, path: Path, target: Path) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    # the CLI may print the path relative to the data dir: name and folder identify it
    assert f"{path.parent.name}/{path.name}" in lines[0] and "refused to load" in lines[0]
    assert not target.exists(), "the payload ran"


@pytest.mark.parametrize("args", [
    ["score", "--space", "nb201", "--n", "2", "--no-store", "--out", "out.csv"],
    ["search", "--space", "nats-tss", "--algo", "rea", "--runs", "1", "--no-store",
     "--out", "out.csv"],
], ids=["score-nb201", "search-nats-tss"])
def test_cli_with_a_tampered_meta_in_the_data_dir(tmp_path, args):
    target = tmp_path / "pwned"
    meta = _write_bz2(tmp_path / "data" / "nats" / TSS_NAME / "meta.pickle.pbz2",
                      _meta(canonical_archs(), _Shell(target)))
    _assert_cli_refused(_cli(args, tmp_path), meta, target)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("family", ["tss", "sss"])
def test_cli_convert_of_a_tampered_folder(tmp_path, family):
    target = tmp_path / "pwned"
    if family == "tss":
        folder = tmp_path / TSS_NAME
        bad = _write_bz2(folder / "meta.pickle.pbz2", _meta(canonical_archs(), _OpenForWrite(target)))
        _write_bz2(folder / "000000.pickle.pbz2", {})
    else:
        folder = tmp_path / SSS_NAME
        _write_bz2(folder / "meta.pickle.pbz2", _meta(_sss_archs(), None))
        bad = _write_bz2(folder / "000011.pickle.pbz2", {"90": {"all_results": _Shell(target)}})
    result = _cli(["data", "convert", str(folder), "--out", str(tmp_path / "t.csv")], tmp_path)
    _assert_cli_refused(result, bad, target)
    assert not (tmp_path / "t.csv").exists()


# --- the real archives read exactly as through the official API -------------------------------------
def _official_table(folder: Path, nats: str) -> GroundTruth:
    """The table built through ``nats_bench``'s own (unrestricted) loader: trusted files only."""
    import nats_bench

    api = nats_bench.create(str(folder), nats, fast_mode=True, verbose=False)
    rows = []
    for index in REAL_INDICES:
        api.reload(str(folder), index)
        record = ArchRecord(index, api.meta_archs[index], dict(api.arch2infos_dict[index]),
                            str(folder / f"{index:06d}.pickle.pbz2"))
        rows.append(record_row(record))
    return GroundTruth.from_rows(complete_listing(rows, [str(a) for a in api.meta_archs]), source=folder)


@pytest.mark.parametrize("name, nats", [(TSS_NAME, "tss"), (SSS_NAME, "sss")])
def test_real_archives_convert_as_before(shared_data, name, nats):
    folder = shared_data / "nats" / name
    assert archive_table(folder).to_csv_text() == _official_table(folder, nats).to_csv_text()


def test_real_meta_gives_the_same_index_order(shared_data):
    meta = shared_data / "nats" / TSS_NAME / "meta.pickle.pbz2"
    with bz2.open(meta, "rb") as handle:  # the trusted shared file, read the old way
        expected = list(pickle.load(handle)["meta_archs"])
    assert read_official_order(meta) == expected
    assert load_pickle(meta)["meta_archs"] == expected


# --- issue 25 item 1: a global is looked up by its exact (module, name), never imported -------------
#: a pickle naming an allowed name in a numpy submodule whose import runs a program (f2py's
#: command line prints its usage and may exit): the old `numpy.*` rule imported it
IMPORTING = b"\x80\x02cnumpy.f2py.__main__\ndtype\nq\x00."


def _readers(tmp_path: Path) -> Dict[str, Callable[[], Any]]:
    """Every unpickler of the package, each given the importing pickle in its own format."""
    from nasbench_cli.datasets.pickles import read_pickle
    from nasbench_cli.groundtruth.safe_load import load_torch_archive

    batch = tmp_path / "data_batch_1"
    batch.write_bytes(IMPORTING)
    record = tmp_path / "000001.pickle.pbz2"
    record.write_bytes(bz2.compress(IMPORTING))
    legacy = tmp_path / "NAS-Bench-201.pth"
    legacy.write_bytes(IMPORTING)
    return {"cifar-batch": lambda: read_pickle(batch), "nats-record": lambda: load_pickle(record),
            "torch-archive": lambda: load_torch_archive(legacy)}


@pytest.mark.parametrize("reader", ["cifar-batch", "nats-record", "torch-archive"])
def test_no_reader_imports_a_module_a_pickle_names(tmp_path, reader, capfd):
    code = (
        "import sys, pathlib\n"
        "sys.path.insert(0, 'tests')\n"
        "from test_pickle_safety import _readers\n"
        f"read = _readers(pathlib.Path({str(tmp_path)!r}))[{reader!r}]\n"
        "try:\n"
        "    read()\n"
        "except Exception as err:\n"
        "    print('refused:', type(err).__name__, err)\n"
        "print('imported' if 'numpy.f2py.__main__' in sys.modules or 'numpy.f2py' in sys.modules else 'clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[1])
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines[-1] == "clean", result.stdout + result.stderr
    assert lines[0].startswith("refused:") and "numpy.f2py.__main__.dtype" in lines[0]
    assert "usage" not in (result.stdout + result.stderr).lower()  # f2py's program never ran
