"""The bad-input suite: every command and reader, fed what a hostile or careless user would feed it.

Each case runs the CLI in-process on one shared workspace and asserts the exit code (1: data,
2: usage), that the output is one ``Error:`` line without a traceback, that the message holds the
case's key words, that no file of the workspace changed (sha256 before/after) and that nothing new
was written. Damaged and malicious files are written by ``build_workspace``; malicious pickles
would create ``PWNED`` in the workspace if they ever ran. The kill -9 cases at the end run the
real command in a subprocess and check that the rerun's output equals an uninterrupted run's.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from nasbench_cli.cli import main
from test_datasets import write_cifar, write_imagenet16

PWNED = "PWNED"
NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
TSS = "NATS-tss-v1_0-3ffb9-simple"
THREE_ARCHS = [NB201_ARCH, NB201_ARCH.replace("skip_connect~2", "none~2"), NB201_ARCH.replace("~0|+", "~0|+", 1)
               .replace("avg_pool_3x3~1", "none~1")]
EMBEDDED = Path(__file__).resolve().parents[1] / "nasbench_cli" / "groundtruth" / "data" / "nb201_ground_truth.csv.gz"


# --- malicious and damaged files ----------------------------------------------------------------
class _Payload:
    """Unpickling this calls ``open(<workspace>/PWNED, "w")``: a file appears if it ever runs."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


class _SystemPayload:
    def __init__(self, target: Path):
        self.command = f"touch {target}"

    def __reduce__(self):
        return (os.system, (self.command,))


def malicious_pickle(target: Path, system: bool = False) -> bytes:
    payload = _SystemPayload(target) if system else _Payload(target)
    return pickle.dumps({"meta_archs": [payload], "payload": payload}, protocol=2)


def images(n: int, seed: int, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3, size, size), dtype=np.uint8)


def write_cifar10(root: Path, n: int = 160) -> None:
    write_cifar(root / "cifar-10-batches-py" / "data_batch_1", images(n, 1), [i % 10 for i in range(n)])
    write_cifar(root / "cifar-10-batches-py" / "test_batch", images(n, 2), [i % 10 for i in range(n)])


def embedded_rows() -> List[str]:
    return gzip.decompress(EMBEDDED.read_bytes()).decode().splitlines()


def write_table(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _edit_row(lines: List[str], row: int, column: int, value: str) -> List[str]:
    out = list(lines)
    cells = out[row + 1].split(",")
    cells[column] = value
    out[row + 1] = ",".join(cells)
    return out


def build_workspace(root: Path, shared: Optional[Path]) -> Dict[str, Path]:
    """Every input file the cases use; returns named paths."""
    p: Dict[str, Path] = {"W": root}
    d = p["D"] = root / "data"
    write_cifar10(d)
    p["batch"] = d / "cifar-10-batches-py" / "data_batch_1"
    p["cwd"] = root / "cwd"
    p["cwd"].mkdir()
    p["ro"] = root / "readonly"
    p["ro"].mkdir()
    p["file"] = root / "a_file.txt"
    p["file"].write_text("not a folder\n")
    p["bin"] = root / "binary.bin"
    p["bin"].write_bytes(bytes(range(256)) * 8)
    p["latin1"] = root / "latin1.txt"
    p["latin1"].write_bytes("caf\xe9 |nor_conv_3x3~0|\n".encode("latin-1"))
    p["empty"] = root / "empty.txt"
    p["empty"].write_text("")
    p["archs"] = root / "archs.txt"
    p["archs"].write_text(f"{NB201_ARCH}\n0\n11\n")
    for name, text in {"archs_badop": "|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                       "archs_badedge": "|nor_conv_3x3~0|+|none~0|",
                       "archs_range": "15625", "archs_negative": "-3", "archs_float": "1.5",
                       "archs_garbage": "hello world"}.items():
        p[name] = root / f"{name}.txt"
        p[name].write_text(text + "\n")

    # a valid score table, its sidecar and store
    p["scores"] = root / "scores.csv"
    p["store"] = root / "store.sqlite"
    result = invoke(["score", "--space", "nb201", "--proxy", "params,flops,synflow", "--n", "12", "--seed", "0",
                     "--data-dir", str(d), "--store", str(p["store"]), "--out", str(p["scores"]),
                     "--executor", "sequential", "--quiet", "--no-timing"], cwd=p["cwd"])
    assert result.exit_code == 0, result.output
    lines = p["scores"].read_text().splitlines()
    header = lines[0].split(",")
    synflow = header.index("synflow")
    p["scores_text_cell"] = write_table(root / "scores_text_cell.csv", _edit_row(lines, 3, synflow, "abc"))
    _copy_sidecar(p["scores"], p["scores_text_cell"])
    p["scores_header_only"] = write_table(root / "scores_header_only.csv", lines[:1])
    _copy_sidecar(p["scores"], p["scores_header_only"])
    p["scores_one_row"] = write_table(root / "scores_one_row.csv", lines[:2])
    _copy_sidecar(p["scores"], p["scores_one_row"])
    p["scores_no_sidecar"] = write_table(root / "scores_no_sidecar.csv", lines)
    p["scores_bad_sidecar"] = write_table(root / "scores_bad_sidecar.csv", lines)
    Path(str(p["scores_bad_sidecar"]) + ".provenance.json").write_text("{not json")
    p["scores_dup_col"] = write_table(root / "scores_dup_col.csv",
                                      [lines[0].replace("flops", "params")] + lines[1:])
    p["scores_ragged"] = write_table(root / "scores_ragged.csv", lines[:3] + [lines[3] + ",1,2,3"] + lines[4:])
    p["scores_accuracy_text"] = write_table(
        root / "scores_accuracy_text.csv", _edit_row(lines, 2, header.index("cifar10/ori-test@200"), "oops"))
    _copy_sidecar(p["scores"], p["scores_accuracy_text"])

    # stores: a text file, a database of another kind, rows holding NULL / text values
    p["store_text"] = root / "store_text.sqlite"
    p["store_text"].write_text("this is not a database\n" * 100)
    p["store_other"] = root / "store_other.sqlite"
    with sqlite3.connect(p["store_other"]) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    for name, value, kind in (("store_null", None, 0), ("store_textval", "abc", 0)):
        p[name] = root / f"{name}.sqlite"
        p[name].write_bytes(p["store"].read_bytes())
        db = sqlite3.connect(p[name])
        db.execute("UPDATE scores SET value = ?, kind = ?", (value, kind))
        db.commit()
        db.close()

    # ground-truth tables given with --ground-truth
    rows = embedded_rows()
    gt_header = rows[0].split(",")
    p["gt_dup"] = write_table(root / "gt" / "dup.csv", _edit_row(rows, 5, 1, rows[7].split(",")[1]))
    p["gt_badarch"] = write_table(root / "gt" / "badarch.csv", _edit_row(rows, 5, 1, "|conv~0|"))
    p["gt_short"] = write_table(root / "gt" / "short.csv", rows[:4])
    p["gt_text"] = write_table(root / "gt" / "text.csv", _edit_row(rows, 3, 2, "n/a%"))
    p["gt_noarch"] = write_table(root / "gt" / "noarch.csv", [",".join(gt_header[2:])] + [
        ",".join(r.split(",")[2:]) for r in rows[1:20]])
    p["gt_sss"] = write_table(root / "gt" / "sss.csv", ["arch_index,arch,cifar10/ori-test@90"] + [
        f"{i},8:8:8:8:{8 * (i + 1)},50.0" for i in range(8)])
    p["gt_bin"] = root / "gt" / "bin.csv"
    p["gt_bin"].write_bytes(bytes(range(256)) * 4)
    # issue 25: values out of range, a repeated or misspelt column, files that never end
    for name, value in (("gt_inf", "inf"), ("gt_negative", "-5"), ("gt_over", "250")):
        p[name] = write_table(root / "gt" / f"{name}.csv", _edit_row(rows, 3, 2, value))
    p["gt_dupcol"] = write_table(root / "gt" / "dupcol.csv", [",".join(gt_header[:3] + gt_header[2:3] + gt_header[4:])]
                                 + rows[1:20])
    p["gt_misspelt"] = write_table(root / "gt" / "misspelt.csv",
                                   [rows[0].replace("cifar10/ori-test@200", "cifar10/ori-test@2OO")] + rows[1:20])
    deep = root / "deep"
    deep.mkdir()
    p["scores_deep"] = deep / "scores.csv"
    p["scores_deep"].write_bytes(p["scores"].read_bytes())
    (deep / "scores.csv.provenance.json").write_text("[" * 100_000 + "]" * 100_000)
    p["scores_bigint"] = deep / "bigint.csv"
    p["scores_bigint"].write_bytes(p["scores"].read_bytes())
    (deep / "bigint.csv.provenance.json").write_text('{"columns": ' + "9" * 5000 + "}")
    p["search_runs"] = write_table(root / "search" / "runs.csv", ["run,seed,index,arch,score,cifar10/ori-test@200,"
                                                                  "queries,simulated_seconds"] + [
        f"{r},{r * 7},{r},{NB201_ARCH},{r / 3},{90 + r / 10},120,0.0" for r in range(6)])
    p["search_summary"] = write_table(root / "search" / "runs.summary.csv", ["column,runs,mean,std,min,max"] + [
        f"cifar10/ori-test@200,6,90.{r},0.1,90,91" for r in range(3)])
    special = root / "special"  # outputs that are not regular files: never replaced by one
    special.mkdir()
    os.mkfifo(special / "fifo.csv")
    (special / "null.csv").symlink_to("/dev/null")
    p["special"] = special
    p["gt_fifo"] = root / "gt" / "fifo.csv"
    os.mkfifo(p["gt_fifo"])
    p["gt_zero"] = root / "gt" / "zero.csv"
    p["gt_zero"].symlink_to("/dev/zero")

    # data dirs, each damaged in one way
    def data_dir(name: str) -> Path:
        folder = root / name
        write_cifar10(folder)
        p[name] = folder
        return folder

    folder = data_dir("dd_truncated")
    batch = folder / "cifar-10-batches-py" / "data_batch_1"
    batch.write_bytes(batch.read_bytes()[:5000])
    folder = data_dir("dd_malicious")
    (folder / "cifar-10-batches-py" / "data_batch_1").write_bytes(malicious_pickle(root / PWNED))
    folder = data_dir("dd_shape")
    write_cifar(folder / "cifar-10-batches-py" / "data_batch_1", images(10, 3, size=8), [0] * 10)
    folder = data_dir("dd_labels")
    write_cifar(folder / "cifar-10-batches-py" / "data_batch_1", images(10, 3), [42] * 10)
    folder = data_dir("dd_listcount")
    write_cifar(folder / "cifar-10-batches-py" / "data_batch_1", images(10, 3), [1] * 7)
    folder = data_dir("dd_split")
    (folder / "splits").mkdir()
    (folder / "splits" / "cifar-split.txt").write_text("{ this is not json")
    for name, text in (("dd_split_deep", "[" * 100_000 + "]" * 100_000),
                       ("dd_split_huge", '{"train": ["int", ["' + "9" * 30 + '"]], "valid": ["int", []]}'),
                       ("dd_split_bigint", '{"train": ["int", [' + "9" * 5000 + ']], "valid": ["int", []]}'),
                       ("dd_split_repeat", '{"train": ["int", [' + ", ".join(["\"3\""] * 200) + ']], '
                                           '"valid": ["int", []]}')):
        folder = data_dir(name)
        (folder / "splits").mkdir()
        (folder / "splits" / "cifar-split.txt").write_text(text)
        p[name] = folder
    folder = data_dir("dd_meta")  # a tampered NATS meta where nb201 reads its listing
    (folder / TSS).mkdir()
    (folder / TSS / "meta.pickle.pbz2").write_bytes(bz2.compress(malicious_pickle(root / PWNED, system=True)))
    folder = data_dir("dd_meta_trunc")
    (folder / TSS).mkdir()
    (folder / TSS / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"meta_archs": ["x"]}))[:40])
    for name, table in (("dd_listing_dup", p["gt_dup"]), ("dd_listing_badarch", p["gt_badarch"]),
                        ("dd_listing_short", p["gt_short"]), ("dd_listing_text", p["gt_text"])):
        folder = data_dir(name)
        (folder / "nb201").mkdir()
        (folder / "nb201" / "ground_truth.csv").write_bytes(table.read_bytes())
    folder = data_dir("dd_zero_times")  # a nats-sss table whose training times are all 0
    (folder / "nats-sss").mkdir()
    sss = ["arch_index,arch,cifar10-valid/x-valid@12,cifar10-valid/train_time@12"]
    sss += [f"{i},{':'.join(str(8 * (1 + (i >> (3 * (4 - k))) % 8)) for k in range(5))},{50 + i % 7},0.0"
            for i in range(32768)]
    write_table(folder / "nats-sss" / "ground_truth.csv", sss)
    folder = data_dir("dd_nds")
    (folder / "nds").mkdir()
    (folder / "nds" / "DARTS.json").write_text('[{"net": {"genotype": ')
    folder = data_dir("dd_nds_type")
    (folder / "nds").mkdir()
    (folder / "nds" / "DARTS.json").write_text('{"not": "a list"}')
    folder = data_dir("dd_c100")
    c100 = folder / "cifar-100-python"
    c100.mkdir()
    (c100 / "train").write_bytes(b"\x80\x02garbage")
    (c100 / "test").write_bytes(b"\x80\x02garbage")
    folder = data_dir("dd_in16")
    write_imagenet16(folder / "ImageNet16" / "train_data_batch_1", images(10, 4, size=16), [0] * 10)
    (folder / "ImageNet16" / "val_data").write_bytes(malicious_pickle(root / PWNED))
    p["no_data"] = root / "no_data"
    p["no_data"].mkdir()
    p["dd_file"] = p["file"]

    # archives for data convert
    arch = root / "archives"
    arch.mkdir()
    p["conv_empty_dir"] = arch / "empty_dir"
    p["conv_empty_dir"].mkdir()
    p["conv_random"] = arch / "random.pth"
    p["conv_random"].write_bytes(os.urandom(2048))
    p["conv_pth_malicious"] = arch / "malicious.pth"
    p["conv_pth_malicious"].write_bytes(malicious_pickle(root / PWNED))
    p["conv_meta_malicious"] = arch / "tss_malicious"
    p["conv_meta_malicious"].mkdir()
    (p["conv_meta_malicious"] / "meta.pickle.pbz2").write_bytes(bz2.compress(malicious_pickle(root / PWNED)))
    (p["conv_meta_malicious"] / "000000.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({})))
    p["conv_meta_trunc"] = arch / "tss_truncated"
    p["conv_meta_trunc"].mkdir()
    (p["conv_meta_trunc"] / "meta.pickle.pbz2").write_bytes(b"BZh91AY&SY" + os.urandom(60))
    p["conv_record_malicious"] = arch / "tss_record_malicious"
    p["conv_record_malicious"].mkdir()
    (p["conv_record_malicious"] / "meta.pickle.pbz2").write_bytes(
        bz2.compress(pickle.dumps({"meta_archs": THREE_ARCHS})))
    (p["conv_record_malicious"] / "000001.pickle.pbz2").write_bytes(bz2.compress(malicious_pickle(root / PWNED)))
    p["conv_record_bad"] = arch / "tss_record_bad"
    p["conv_record_bad"].mkdir()
    (p["conv_record_bad"] / "meta.pickle.pbz2").write_bytes(
        bz2.compress(pickle.dumps({"meta_archs": THREE_ARCHS})))
    (p["conv_record_bad"] / "000001.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps([1, 2, 3])))
    p["conv_record_beyond"] = arch / "tss_record_beyond"
    p["conv_record_beyond"].mkdir()
    (p["conv_record_beyond"] / "meta.pickle.pbz2").write_bytes(
        bz2.compress(pickle.dumps({"meta_archs": THREE_ARCHS})))
    (p["conv_record_beyond"] / "000009.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({})))
    p["conv_meta_ints"] = arch / "tss_meta_ints"  # integer architectures, not strings
    p["conv_meta_ints"].mkdir()
    (p["conv_meta_ints"] / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"meta_archs": [0, 1, 2]})))
    (p["conv_meta_ints"] / "000001.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({})))
    p["conv_tfrecord"] = arch / "nasbench_only108.tfrecord"
    p["conv_tfrecord"].write_bytes(os.urandom(100))
    p["conv_single_malicious"] = arch / "NATS-tss-v1_0-3ffb9-full.pickle.pbz2"
    p["conv_single_malicious"].write_bytes(bz2.compress(malicious_pickle(root / PWNED)))
    p["tss"] = None
    if shared and (shared / "nats" / TSS).is_dir():  # a copy: a case that failed to refuse could not harm it
        p["tss"] = arch / TSS
        shutil.copytree(shared / "nats" / TSS, p["tss"])
    p["cifar_archive"] = root / "dl" / "cifar-10-python.tar.gz"
    p["cifar_archive"].parent.mkdir()
    p["cifar_archive"].write_bytes(b"not the real archive" * 10)
    p["full_table"] = write_table(root / "big" / "nb201" / "ground_truth.csv", rows)
    return p


def _copy_sidecar(src: Path, dst: Path) -> None:
    Path(str(dst) + ".provenance.json").write_bytes(Path(str(src) + ".provenance.json").read_bytes())


# --- running a case ------------------------------------------------------------------------------
def invoke(argv: Sequence[str], cwd: Path, env: Optional[Dict[str, str]] = None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner(mix_stderr=False).invoke(main, list(argv), env=env, catch_exceptions=True)
    except TypeError:  # click >= 8.2 has no mix_stderr: stderr is kept apart already
        return CliRunner().invoke(main, list(argv), env=env, catch_exceptions=True)
    finally:
        os.chdir(old)


def _output(result) -> str:
    """stdout and stderr of a CliRunner result (click 8.2 mixes them into ``output`` already)."""
    output = result.output or ""
    try:
        err = result.stderr
    except ValueError:  # click < 8.2 without mix_stderr=False
        err = ""
    return output if not err or err in output else output + err


def snapshot(root: Path) -> Dict[str, str]:
    """sha256 of every file under ``root`` (the workspace: inputs and anything written)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass(frozen=True)
class Case:
    id: str
    argv: Tuple[str, ...]
    code: int
    words: Tuple[str, ...]  # lower-case key words the message must hold
    needs: Tuple[str, ...] = ()  # workspace names that must exist (e.g. "tss": shared data)

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv[0] != "data" else f"data {self.argv[1]}"


def C(id: str, argv: str, code: int, *words: str, needs: Tuple[str, ...] = ()) -> Case:
    return Case(id, tuple(argv.split()), code, tuple(w.lower() for w in words), needs)


S = "score --space nb201 --proxy params --n 2 --data-dir {D} --quiet --executor sequential"
SR = "search --space nb201 --runs 1 --data-dir {D} --quiet --executor sequential"
CASES: List[Case] = [
    # ---- score: names and numbers
    C("score-space", "score --space nb999 --data-dir {D}", 2, "unknown space", "nb201"),
    C("score-dataset", "score --space nb201 --dataset mnist --data-dir {D}", 2, "unknown dataset", "cifar10"),
    C("score-dataset-space", "score --space nb101 --dataset cifar100 --data-dir {D}", 2, "cifar100", "nb101"),
    C("score-proxy", S + " --proxy nope", 2, "unknown proxy", "naswot"),
    C("score-proxy-empty", S + " --proxy ,", 2, "proxy"),
    C("score-proxy-one-bad", S + " --proxy params,nope", 2, "unknown proxy", "nope"),
    C("score-n-zero", S + " --n 0", 2, "--n"),
    C("score-n-negative", S + " --n -4", 2, "--n"),
    C("score-n-text", S + " --n many", 2, "many"),
    C("score-n-huge", S + " --n 99999999", 2, "15625"),
    C("score-n-and-all", S + " --all", 2, "--all"),
    C("score-n-and-archs", S + " --archs {archs}", 2, "--archs"),
    C("score-seed-negative", S + " --seed -1", 2, "--seed"),
    C("score-seed-huge", S + " --seed 9223372036854775808", 2, "--seed"),
    C("score-seed-text", S + " --seed x", 2, "--seed"),
    C("score-batch-zero", S + " --batch-size 0", 2, "--batch-size"),
    C("score-batch-negative", S + " --batch-size -8", 2, "--batch-size"),
    C("score-batch-huge", S.replace("params", "naswot") + " --batch-size 100000000", 2, "batch size", "160"),
    C("score-head", S + " --head wide", 2, "--head"),
    C("score-split", S + " --split holdout", 2, "split", "holdout"),
    C("score-device", S + " --device tpu", 2, "device", "tpu"),
    # bad input only where torch sees no CUDA device; on a GPU machine tests/test_gpu.py runs it
    C("score-device-cuda", S + " --device cuda", 2, "cuda", needs=("no-cuda",)),
    C("score-device-cuda9", S + " --device cuda:9", 2, "cuda:9"),
    C("score-device-index-text", S + " --device cuda:x", 2, "cuda:x"),
    C("score-devices", S + " --devices gpu0,gpu1", 2, "gpu0"),
    C("score-executor", S + " --executor mpi", 2, "--executor"),
    C("score-workers-zero", S + " --workers 0", 2, "--workers"),
    C("score-workers-negative", S + " --workers -2", 2, "--workers"),
    C("score-threads-zero", S + " --threads 0", 2, "--threads"),
    C("score-ray-address", S + " --executor local --ray-address 1.2.3.4:6379", 2, "--ray-address"),
    C("score-unknown-option", S + " --frobnicate", 2, "frobnicate"),
    C("score-extra-arg", S + " extra", 2, "extra"),
    # ---- score: architectures files
    C("score-archs-missing", S.replace("--n 2", "") + " --archs {W}/nope.txt", 2, "nope.txt"),
    C("score-archs-dir", S.replace("--n 2", "") + " --archs {W}/gt", 2, "gt", "directory"),
    C("score-archs-binary", S.replace("--n 2", "") + " --archs {bin}", 2, "binary.bin", "text"),
    C("score-archs-latin1", S.replace("--n 2", "") + " --archs {latin1}", 2, "latin1.txt", "utf-8"),
    C("score-archs-empty", S.replace("--n 2", "") + " --archs {empty}", 2, "empty.txt", "no architecture"),
    C("score-archs-badop", S.replace("--n 2", "") + " --archs {archs_badop}", 2, "conv_9x9"),
    C("score-archs-badedge", S.replace("--n 2", "") + " --archs {archs_badedge}", 2, "archs_badedge.txt"),
    C("score-archs-range", S.replace("--n 2", "") + " --archs {archs_range}", 2, "15625"),
    C("score-archs-negative", S.replace("--n 2", "") + " --archs {archs_negative}", 2, "-3"),
    C("score-archs-float", S.replace("--n 2", "") + " --archs {archs_float}", 2, "1.5"),
    C("score-archs-garbage", S.replace("--n 2", "") + " --archs {archs_garbage}", 2, "hello"),
    C("score-archs-sss-string", "score --space nats-sss --proxy params --data-dir {D} --quiet --archs {archs}",
      2, "nats-sss"),
    # ---- score: outputs
    C("score-out-store", S + " --store {store} --out {store}", 2, "store.sqlite", "input"),
    C("score-out-archs", S.replace("--n 2", "") + " --archs {archs} --out {archs}", 2, "archs.txt", "input"),
    C("score-out-batch", S + " --out {batch}", 2, "data_batch_1", "input"),
    C("score-out-gt", S + " --ground-truth {full_table} --out {full_table}", 2, "ground_truth.csv", "input"),
    C("score-out-dir", S + " --out {W}/gt", 2, "directory"),
    C("score-out-parent-file", S + " --out {file}/x.csv", 2, "a_file.txt", "not a folder"),
    C("score-out-readonly", S + " --out {ro}/x.csv", 2, "cannot write"),
    C("score-out-proc", S + " --out /proc/nasbench/x.csv", 2, "/proc"),
    C("score-store-dir", S + " --store {W}/gt", 2, "gt"),
    C("score-store-parent-file", S + " --store {file}/s.sqlite", 2, "a_file.txt"),
    C("score-store-readonly", S + " --store {ro}/s.sqlite", 2, "cannot write"),
    C("score-store-text", S + " --store {store_text}", 1, "store_text.sqlite", "not a score store"),
    C("score-store-other-db", S + " --store {store_other}", 1, "store_other.sqlite"),
    C("score-store-is-batch", S + " --store {batch}", 1, "data_batch_1"),
    # ---- score: ground truth
    C("score-gt-missing", S + " --ground-truth {W}/nope.csv", 2, "nope.csv"),
    C("score-gt-dir", S + " --ground-truth {W}/gt", 2, "gt"),
    C("score-gt-other-space", S + " --ground-truth {gt_sss}", 1, "sss.csv", "disagree"),
    C("score-gt-binary", S + " --ground-truth {gt_bin}", 1, "bin.csv"),
    C("score-gt-empty", S + " --ground-truth {empty}", 1, "empty.txt"),
    C("score-gt-no-arch", S + " --ground-truth {gt_noarch}", 1, "noarch.csv", "arch"),
    C("score-gt-text-cell", S + " --ground-truth {gt_text}", 1, "text.csv", "n/a%"),
    C("score-gt-inf", S + " --ground-truth {gt_inf}", 1, "gt_inf.csv", "inf", "0..100"),
    C("score-gt-negative", S + " --ground-truth {gt_negative}", 1, "gt_negative.csv", "-5", "0..100"),
    C("score-gt-over-100", S + " --ground-truth {gt_over}", 1, "gt_over.csv", "250", "0..100"),
    C("score-gt-dup-column", S + " --ground-truth {gt_dupcol}", 1, "dupcol.csv", "appears twice"),
    C("score-gt-misspelt-column", S + " --ground-truth {gt_misspelt}", 1, "misspelt.csv", "@2oo", "neither"),
    C("score-gt-fifo", S + " --ground-truth {gt_fifo}", 1, "fifo.csv", "not a regular file"),
    C("score-gt-dev-zero", S + " --ground-truth {gt_zero}", 1, "zero.csv", "not a regular file"),
    C("score-gt-dup", S + " --ground-truth {gt_dup}", 1, "dup.csv"),
    # ---- score: data directories (readers)
    C("score-data-missing", "score --space nb201 --proxy naswot --n 2 --quiet --data-dir {no_data}", 1,
      "cifar-10", "no_data"),
    C("score-data-is-file", "score --space nb201 --proxy naswot --n 2 --quiet --data-dir {file}", 2,
      "a_file.txt"),
    C("score-cifar-truncated", S.replace("{D}", "{dd_truncated}").replace("params", "naswot"), 1,
      "data_batch_1"),
    C("score-cifar-malicious", S.replace("{D}", "{dd_malicious}").replace("params", "naswot"), 1,
      "data_batch_1", "refused"),
    C("score-cifar-shape", S.replace("{D}", "{dd_shape}").replace("params", "naswot"), 1, "data_batch_1"),
    C("score-cifar-labels", S.replace("{D}", "{dd_labels}").replace("params", "naswot"), 1,
      "data_batch_1", "label"),
    C("score-cifar-label-count", S.replace("{D}", "{dd_listcount}").replace("params", "naswot"), 1,
      "data_batch_1"),
    C("score-split-file", S.replace("{D}", "{dd_split}").replace("params", "naswot"), 1, "cifar-split.txt"),
    C("score-split-deep", S.replace("{D}", "{dd_split_deep}").replace("params", "naswot"), 1, "cifar-split.txt",
      "nested"),
    C("score-split-huge-index", S.replace("{D}", "{dd_split_huge}").replace("params", "naswot"), 1,
      "cifar-split.txt", "outside"),
    C("score-split-bigint", S.replace("{D}", "{dd_split_bigint}").replace("params", "naswot"), 1, "cifar-split.txt"),
    C("score-split-repeated-image", S.replace("{D}", "{dd_split_repeat}").replace("params", "naswot"), 1,
      "cifar-split.txt", "200 times"),
    C("score-nats-meta-malicious", S.replace("{D}", "{dd_meta}"), 1, "meta.pickle.pbz2", "refused"),
    C("score-nats-meta-truncated", S.replace("{D}", "{dd_meta_trunc}"), 1, "meta.pickle.pbz2"),
    C("score-listing-dup", S.replace("{D}", "{dd_listing_dup}"), 1, "ground_truth.csv", "twice"),
    C("score-listing-badarch", S.replace("{D}", "{dd_listing_badarch}"), 1, "ground_truth.csv", "conv"),
    C("score-listing-short", S.replace("{D}", "{dd_listing_short}"), 1, "ground_truth.csv", "15625"),
    C("score-listing-text-cell", S.replace("{D}", "{dd_listing_text}"), 1, "ground_truth.csv", "n/a%"),
    C("score-cifar100-garbage", S.replace("{D}", "{dd_c100}").replace("params", "naswot")
      + " --dataset cifar100", 1, "cifar-100-python"),
    C("score-in16-malicious", S.replace("{D}", "{dd_in16}").replace("params", "naswot")
      + " --dataset ImageNet16-120", 1, "ImageNet16"),
    C("score-nds-truncated", "score --space nds-darts --proxy params --n 2 --quiet --data-dir {dd_nds}", 1,
      "DARTS.json"),
    C("score-nds-not-list", "score --space nds-darts --proxy params --n 2 --quiet --data-dir {dd_nds_type}", 1,
      "DARTS.json"),
    C("score-nds-missing", "score --space nds-darts --proxy params --n 2 --quiet --data-dir {D}", 1,
      "DARTS.json"),
    C("score-proxy-space", "score --space nats-sss --proxy linear_regions --n 2 --quiet --data-dir {D}", 2,
      "linear_regions", "nats-sss"),
    # issue 33: rows edited inside the store (NULL or text values) are no longer an error: they fail
    # their checksum and are computed again (tests/test_reliability_round4.py)
]
CASES += [
    # ---- search
    C("search-algo", SR + " --algo annealing", 2, "unknown search algorithm", "rea"),
    C("search-space", "search --algo random --space nb999 --runs 1 --data-dir {D}", 2, "unknown space"),
    C("search-dataset", SR + " --algo random --dataset mnist", 2, "unknown dataset"),
    C("search-runs-zero", SR + " --algo random --runs 0", 2, "--runs"),
    C("search-runs-negative", SR + " --algo random --runs -3", 2, "--runs"),
    C("search-runs-huge", SR + " --algo random --runs 1000000000000", 2, "--runs"),
    C("search-n-zero", SR + " --algo naswot --n 0", 2, "--n"),
    C("search-n-huge", SR + " --algo naswot --n 99999", 2, "--n"),
    C("search-population-zero", SR + " --algo rea --population 0", 2, "--population"),
    C("search-sample-zero", SR + " --algo rea --sample-size 0", 2, "--sample-size"),
    C("search-m-zero", SR + " --algo area --m 0", 2, "--m"),
    C("search-budget-inf", SR + " --algo rea --budget 1e999q", 2, "--budget"),
    C("search-budget-tiny-s", SR + " --algo rea --budget 0.001s", 2, "--budget"),
    C("search-budget-text", SR + " --algo rea --budget lots", 2, "--budget"),
    C("search-budget-negative", SR + " --algo rea --budget -5q", 2, "--budget"),
    C("search-budget-zero", SR + " --algo rea --budget 0q", 2, "--budget"),
    C("search-budget-nan", SR + " --algo rea --budget nanq", 2, "--budget"),
    C("search-budget-unit", SR + " --algo rea --budget 100h", 2, "--budget"),
    C("search-budget-random", SR + " --algo random --budget 10q", 2, "--budget"),
    C("search-fitness-arch", SR + " --algo rea --fitness arch", 2, "arch", "fitness"),
    C("search-fitness-unknown", SR + " --algo rea --fitness cifar10/nope@1", 2, "cifar10/nope@1"),
    C("search-fitness-index", SR + " --algo rea --fitness arch_index", 2, "arch_index"),
    C("search-proxy", SR + " --algo naswot --proxy nope", 2, "unknown proxy"),
    C("search-proxy-list", SR + " --algo naswot --proxy naswot,synflow", 2, "unknown proxy"),
    C("search-seed-negative", SR + " --algo random --seed -1", 2, "--seed"),
    C("search-seed-huge", SR + " --algo random --seed 9223372036854775808", 2, "--seed"),
    C("search-score-seed-huge", SR + " --algo naswot --score-seed 99999999999999999999", 2, "--score-seed"),
    C("search-batch-zero", SR + " --algo naswot --batch-size 0", 2, "--batch-size"),
    C("search-device", SR + " --algo naswot --device quantum", 2, "quantum"),
    C("search-out-store", SR + " --algo naswot --n 2 --store {store} --out {store}", 2, "input"),
    C("search-out-dir", SR + " --algo random --out {W}/gt", 2, "directory"),
    C("search-out-parent-file", SR + " --algo random --out {file}/r.csv", 2, "not a folder"),
    C("search-out-readonly", SR + " --algo random --out {ro}/r.csv", 2, "cannot write"),
    C("search-out-batch", SR + " --algo naswot --n 2 --out {batch}", 2, "input"),
    C("search-store-text", SR + " --algo naswot --n 2 --store {store_text}", 1, "not a score store"),
    C("search-data-missing", "search --algo naswot --space nb201 --runs 1 --n 2 --quiet --no-store "
      "--data-dir {no_data}", 1, "cifar-10"),
    C("search-nats-meta-malicious", "search --algo random --space nats-tss --runs 1 --quiet --data-dir {dd_meta}",
      1, "meta.pickle.pbz2", "refused"),
    C("search-zero-times", "search --algo rea --space nats-sss --runs 1 --budget 12000s --quiet "
      "--data-dir {dd_zero_times}", 1, "train_time"),
    C("search-listing-dup", SR.replace("{D}", "{dd_listing_dup}") + " --algo random", 1, "twice"),
    C("search-unknown-option", SR + " --algo random --turbo", 2, "turbo"),
]
K = "correlate {scores} --bootstrap 10"
CASES += [
    # ---- correlate
    C("corr-missing", "correlate {W}/nope.csv", 2, "nope.csv"),
    C("corr-bootstrap-huge", "correlate {scores} --bootstrap 1000000000", 2, "bootstrap", "100000"),
    C("corr-out-fifo", "correlate {scores} --out {special}/fifo.csv", 2, "fifo.csv", "a fifo", "not a regular file"),
    C("corr-out-dev-null", "correlate {scores} --out {special}/null.csv", 2, "null.csv", "device"),
    C("corr-out-trailing-slash", "correlate {scores} --out {W}/cwd/newdir/", 2, "newdir/", "directory"),
    C("corr-out-long-name", "correlate {scores} --out {W}/cwd/" + "n" * 300 + ".csv", 2, "304 bytes", "255"),
    C("score-out-fifo", S + " --out {special}/fifo.csv", 2, "fifo.csv", "not a regular file"),
    C("search-out-dev-null", "search --algo random --space nb201 --runs 2 --quiet --data-dir {D} "
      "--out {special}/null.csv", 2, "null.csv", "device"),
    C("corr-deep-sidecar", "correlate {scores_deep}", 1, "scores.csv.provenance.json", "nested"),
    C("corr-bigint-sidecar", "correlate {scores_bigint}", 1, "bigint.csv.provenance.json"),
    C("corr-search-runs", "correlate {search_runs}", 2, "runs.csv", "nasbench search"),
    C("corr-search-summary", "correlate {search_summary}", 2, "runs.summary.csv", "nasbench search"),
    C("corr-dir", "correlate {W}/gt", 2, "gt"),
    C("corr-binary", "correlate {bin}", 1, "binary.bin"),
    C("corr-latin1", "correlate {latin1}", 1, "latin1.txt"),
    C("corr-empty", "correlate {empty}", 1, "empty.txt"),
    C("corr-header-only", "correlate {scores_header_only}", 1, "scores_header_only.csv"),
    C("corr-one-row", "correlate {scores_one_row}", 1, "scores_one_row.csv"),
    C("corr-text-cell", "correlate {scores_text_cell}", 1, "abc"),
    C("corr-bad-sidecar", "correlate {scores_bad_sidecar}", 1, "provenance.json"),
    C("corr-dup-column", "correlate {scores_dup_col}", 1, "params"),
    C("corr-ragged", "correlate {scores_ragged}", 1, "scores_ragged.csv"),
    C("corr-accuracy-text", "correlate {scores_accuracy_text} --target cifar10/ori-test@200", 1, "oops"),
    C("corr-target-unknown", K + " --target cifar10/nope@1", 2, "cifar10/nope@1"),
    C("corr-target-score", K + " --target synflow", 2, "synflow"),
    C("corr-bootstrap-negative", K + " --bootstrap -1", 2, "--bootstrap"),
    C("corr-seed-negative", K + " --seed -1", 2, "--seed"),
    C("corr-seed-huge", K + " --seed 9223372036854775808", 2, "--seed"),
    C("corr-ensemble-one", K + " --ensemble synflow", 2, "--ensemble"),
    C("corr-ensemble-unknown", K + " --ensemble synflow,nope", 2, "nope"),
    C("corr-out-input", K + " --out {scores}", 2, "input"),
    C("corr-out-sidecar", K + " --out {W}/scores.csv.provenance.json", 2, "input"),
    C("corr-out-dir", K + " --out {W}/gt", 2, "directory"),
    C("corr-out-parent-file", K + " --out {file}/c.csv", 2, "not a folder"),
    C("corr-out-readonly", K + " --out {ro}/c.csv", 2, "cannot write"),
    C("corr-no-args", "correlate", 2, "csv"),
    C("corr-mixed-spaces", "correlate {scores} {gt_sss}", 1, "sss.csv"),
]
CASES += [
    # ---- data convert
    C("convert-missing", "data convert {W}/nope.pth --data-dir {W}/cwd/d", 1, "nope.pth"),
    C("convert-meta-int-archs", "data convert {conv_meta_ints} --space nats-tss --data-dir {W}/cwd/d", 1,
      "meta.pickle.pbz2", "not an architecture string"),
    C("convert-empty-dir", "data convert {conv_empty_dir} --space nats-tss --data-dir {W}/cwd/d", 1, "empty_dir"),
    C("convert-random", "data convert {conv_random} --data-dir {W}/cwd/d", 1, "random.pth"),
    C("convert-pth-malicious", "data convert {conv_pth_malicious} --data-dir {W}/cwd/d", 1, "malicious.pth"),
    C("convert-meta-malicious", "data convert {conv_meta_malicious} --space nats-tss --data-dir {W}/cwd/d", 1,
      "meta.pickle.pbz2", "refused"),
    C("convert-meta-truncated", "data convert {conv_meta_trunc} --space nats-tss --data-dir {W}/cwd/d", 1,
      "meta.pickle.pbz2"),
    C("convert-record-malicious", "data convert {conv_record_malicious} --space nats-tss --data-dir {W}/cwd/d",
      1, "000001.pickle.pbz2", "refused"),
    C("convert-record-bad", "data convert {conv_record_bad} --space nats-tss --data-dir {W}/cwd/d", 1,
      "000001.pickle.pbz2"),
    C("convert-record-beyond", "data convert {conv_record_beyond} --space nats-tss --data-dir {W}/cwd/d", 1,
      "000009.pickle.pbz2"),
    C("convert-single-malicious", "data convert {conv_single_malicious} --data-dir {W}/cwd/d", 1,
      "full.pickle.pbz2", "refused"),
    C("convert-tfrecord", "data convert {conv_tfrecord} --data-dir {W}/cwd/d", 1, "nasbench_only108.tfrecord"),
    C("convert-space", "data convert {conv_random} --space nb999", 2, "nb999"),
    C("convert-space-mismatch", "data convert {tss} --space nats-sss --data-dir {W}/cwd/d", 2, "nats-sss",
      needs=("tss",)),
    C("convert-out-meta", "data convert {tss} --out {tss}/meta.pickle.pbz2", 2, "input", needs=("tss",)),
    C("convert-out-record", "data convert {tss} --out {tss}/000011.pickle.pbz2", 2, "input",
      needs=("tss",)),
    C("convert-out-src-file", "data convert {conv_random} --out {conv_random}", 2, "input"),
    C("convert-out-dir", "data convert {tss} --out {W}/gt", 2, "directory", needs=("tss",)),
    C("convert-out-parent-file", "data convert {tss} --out {file}/t.csv", 2, "not a folder", needs=("tss",)),
    C("convert-out-readonly", "data convert {tss} --out {ro}/t.csv", 2, "cannot write", needs=("tss",)),
    C("convert-smaller-table", "data convert {tss} --space nb201 --data-dir {W}/big", 1, "--force",
      needs=("tss",)),
    C("convert-unknown-option", "data convert {conv_random} --fast", 2, "fast"),
    # ---- data status / download and the listing commands
    C("status-data-file", "data status --data-dir {file}", 2, "a_file.txt"),
    C("download-unknown", "data download mnist --data-dir {W}/cwd/d", 2, "unknown dataset", "cifar10"),
    C("download-imagenet16", "data download ImageNet16-120 --data-dir {W}/cwd/d", 1, "ImageNet16"),
    C("download-wrong-md5", "data download cifar10 --data-dir {W}/dl", 1, "cifar-10-python.tar.gz", "md5"),
    C("download-data-file", "data download cifar10 --data-dir {file}", 2, "a_file.txt"),
    C("data-unknown-sub", "data explode", 2, "explode"),
    C("proxies-extra", "proxies extra", 2, "extra"),
    C("spaces-option", "spaces --all", 2, "--all"),
    C("datasets-option", "datasets --long", 2, "--long"),
    C("top-unknown", "frobnicate", 2, "frobnicate"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Dict[str, Path]:
    from conftest import shared_data_dir

    shared = shared_data_dir()
    root = tmp_path_factory.mktemp("bad_input")
    paths = build_workspace(root, shared if shared.is_dir() else None)
    os.chmod(paths["ro"], 0o555)
    yield paths
    os.chmod(paths["ro"], 0o755)


def _fill(template: str, paths: Dict[str, Path]) -> str:
    names = {k: str(v) for k, v in paths.items() if v is not None}
    if os.geteuid() == 0:  # root writes into any read-only folder; not into sysfs
        names["ro"] = "/sys/fs"
    if paths.get("tss") is not None:
        names["tss_name"] = paths["tss"].name
    return template.format(**names)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No case may reach the network: downloads fail at once, as on an offline machine."""
    import urllib.error
    import urllib.request

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.delenv("NASBENCH_STORE", raising=False)
    monkeypatch.delenv("NASBENCH_DATA", raising=False)


def test_the_suite_covers_every_command_with_150_cases():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 150
    commands = {case.command for case in CASES}
    assert {"score", "search", "correlate", "data convert", "data status", "data download"} <= commands


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, workspace):
    for need in case.needs:
        if need == "no-cuda":
            if torch.cuda.is_available():
                pytest.skip("CUDA is present, so --device cuda is valid here (tests/test_gpu.py scores with it)")
        elif workspace.get(need) is None:
            pytest.skip(f"needs the shared NATS tss records ({need}), absent here")
    argv = [_fill(a, workspace) for a in case.argv]
    root = workspace["W"]
    before = snapshot(root)
    try:
        result = invoke(argv, cwd=workspace["cwd"], env={"NASBENCH_STORE": str(root / "cwd" / "default.sqlite")})
        after = snapshot(root)
    finally:  # a case that wrongly succeeded must not leave files the next cases would see
        for leftover in list(workspace["cwd"].iterdir()):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    output = _output(result)
    assert result.exit_code == case.code, f"exit {result.exit_code}, want {case.code}: {output}"
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}: {output}"
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Error") or "Error:" in line]
    assert len(errors) == 1, output
    message = output.lower()
    for word in case.words:
        assert word in message, f"'{word}' not in: {output}"
    assert not (root / PWNED).exists(), "a pickle payload ran"
    changed = [k for k in before if before[k] != after.get(k)]
    created = sorted(set(after) - set(before))
    assert not changed, f"inputs changed: {changed}"
    assert not created, f"files written by a failed run: {created}"


# --- kill -9 at random points, then resume -------------------------------------------------------
def _cli(*args: str) -> List[str]:
    return [sys.executable, "-m", "nasbench_cli", *args]


def _stored_rows(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.2) as db:
            return int(db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
    except sqlite3.Error:
        return 0


def _run_killed(argv: List[str], cwd: Path, delay: float, store: Optional[Path] = None) -> bool:
    """Start ``argv``, kill -9 its process group ``delay`` s after it stored its first score (or
    after start, without ``store``); True when it was killed before it finished."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    deadline = time.monotonic() + 120
    while store is not None and proc.poll() is None and _stored_rows(store) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    killed = proc.poll() is None
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    return killed


def _run(argv: List[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


KILL_DELAYS = np.random.default_rng(12).uniform(0.0, 1.0, size=3)  # after the first stored score


@pytest.mark.parametrize("command", ["score", "search"])
def test_kill_9_then_rerun_gives_the_uninterrupted_output(command, workspace, tmp_path):
    d = workspace["D"]
    common = ["--space", "nb201", "--data-dir", str(d), "--quiet", "--no-timing", "--executor", "sequential"]
    if command == "score":
        args = ["score", "--proxy", "naswot,synflow", "--n", "10", "--seed", "3", "--batch-size", "32", *common]
    else:
        args = ["search", "--algo", "naswot", "--n", "6", "--runs", "3", "--seed", "3", "--batch-size", "32",
                *common]
    clean = _run(_cli(*args, "--store", str(tmp_path / "clean.sqlite"), "--out", str(tmp_path / "clean.csv")),
                 tmp_path)
    assert clean.returncode == 0, clean.stderr
    store, out = tmp_path / "killed.sqlite", tmp_path / "killed.csv"
    killed = [_run_killed(_cli(*args, "--store", str(store), "--out", str(out)), tmp_path, float(delay), store)
              for delay in KILL_DELAYS[:2]]
    assert killed[0], "the first run finished before it was killed: the test checks nothing"
    assert 0 < _stored_rows(store) < _stored_rows(tmp_path / "clean.sqlite")
    rerun = _run(_cli(*args, "--store", str(store), "--out", str(out)), tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert out.read_bytes() == (tmp_path / "clean.csv").read_bytes()
    assert not list(tmp_path.glob(".*.tmp*")), "temporary files left behind"


def test_kill_9_during_convert_then_rerun(workspace, tmp_path):
    tss = workspace.get("tss")
    if tss is None:
        pytest.skip("needs the shared NATS tss records, absent here")
    clean = _run(_cli("data", "convert", str(tss), "--out", str(tmp_path / "clean.csv")), tmp_path)
    assert clean.returncode == 0, clean.stderr
    out = tmp_path / "t.csv"
    _run_killed(_cli("data", "convert", str(tss), "--out", str(out)), tmp_path, 1.0 + 2 * float(KILL_DELAYS[2]))
    assert not out.exists() or out.read_bytes() == (tmp_path / "clean.csv").read_bytes()
    rerun = _run(_cli("data", "convert", str(tss), "--out", str(out)), tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert out.read_bytes() == (tmp_path / "clean.csv").read_bytes()
    assert not list(tmp_path.glob(".*.tmp*")), "temporary files left behind"
