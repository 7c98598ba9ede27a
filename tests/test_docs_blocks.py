"""Every code block of README.md and docs/*.md, run (issue 31 item 7); docs/plugins.md is run by
tests/test_plugins_docs.py.

How a block is run:
- Command lines run as written, through the CLI in this process (the pipe `| head -3` through a
  real shell), each from its own temporary folder: a line's `results/...` outputs and default
  output names land there, and its inputs (`results/nb201.csv` and the other outputs a line
  reads) are copied there from the line that wrote them. The data is `NASBENCH_DATA=<the shared
  data>`, the score store a private `NASBENCH_STORE` shared by the module, so a later line
  reads the networks an earlier one scored, as a user's would.
- Only sizes change, by the documented tables SCALE and DEFAULT_SIZES below; `check_scaled`
  fails a line left at a size the tables do not cover. The one committed input a line reads
  (`results/kendall/nb201-cifar10-scores.csv`) is read in place.
- Synopsis lines (`a | b | c`, `scatter|heatmap|...`, `[--json]`, NAME, ARCHIVE, CSV...) are
  expanded into the concrete commands they name (`expand`), and each is run. `data download
  NAME` runs on ImageNet16-120, which is never downloaded (a one-line error saying where to place
  it, exit 1), and `data convert ARCHIVE` on an archive that does not exist: neither touches the
  network nor the shared data.
- `make demo` and `make test` are not run (`make test` would run this suite inside itself, `make
  demo` scores 300 networks): both targets must exist and their dry runs (`make -n`) must name the
  commands the README describes; so must the paper-table targets' dry runs at their default and
  FULL=1 scales (tests/test_make_results.py checks, in a clone, that they write where they say).
- Two lines cost a minute or more even on one network (`--proxy all`, about 80 s; ntk over three
  seeds, about 30 s a seed): they run at `--n 1` in tests marked `slow`.
- The Layout blocks are drawings: every module and folder they name must exist.
- docs/api.md: the example runs as a script, from the repository root and from another folder; each
  signature written in the page (blocks and the inline ones listed in INLINE_SIGNATURES) must
  equal `inspect.signature` of the function.

`test_every_block_is_run` fails on a block added to a doc without a test here.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pandas as pd
import pytest
from click.testing import CliRunner, Result

import nasbench_cli.api as nb
from nasbench_cli.cli import main
from nasbench_cli.search import ALGORITHMS

from docs_blocks import code_blocks, fenced, scaled

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
API = ROOT / "docs" / "api.md"
STORE = ROOT / "docs" / "store.md"
PNG = b"\x89PNG\r\n\x1a\n"

#: the docs' sizes -> the test's, applied in order to every command line; nothing else changes
SCALE = (
    (r"--n 300\b", "--n 7"),  # the main sample: 7 networks stay in this process (< 4 a worker on 2 cores)
    (r"--n 20\b", "--n 7"),  # `--out - | head -3`: the same 7 networks, read from the store
    (r"--n 10\b", "--n 3"),  # search's N
    (r"--n (5|50)\b", "--n 1"),  # --proxy all, and ntk over three seeds (the slow tests)
    (r"--runs \d+", "--runs 2"),
    (r"--trials \d+", "--trials 2"),
    (r"--train-sizes [\d,]+", "--train-sizes 2,4"),  # the pool of 7 has 4 training candidates
    (r"--all\b", "--n 2"),  # the Scale block's whole space: two networks a line
    (r"--workers 16\b", "--workers 2"),
    (r"\bn=\d+", "n=4"),  # docs/api.md's example
)
#: sizes a line leaves at a large default get the test's size appended (pattern of such a line, option)
DEFAULT_SIZES = (
    (r"^nasbench score (?!.*(--n |--all|--archs))", "--n 3"),  # the default sample of 100 networks
    (r"^nasbench predict (?!.*--scores)(?!.*--pool)", "--pool 7"),  # of 2000: the main sample, from the store
    (r"^nasbench predict (?!.*--train-sizes)", "--train-sizes 10,50"),  # of 10,20,50,100,200,500
    (r"^nasbench predict (?!.*--trials)", "--trials 2"),  # of 20
)
#: the largest size any line may run at after scaling
LIMITS = {"--n": 7, "--runs": 2, "--trials": 2, "--pool": 7, "--workers": 8}
#: committed inputs, read in place from the repository (the lines run in temporary folders)
COMMITTED = ("results/kendall/nb201-cifar10-scores.csv",)

#: heading of each README/docs block -> how many blocks under it this file runs (plugins.md: test_plugins_docs.py)
RUN_HERE = {
    ("README.md", "# nasbench"): 1,
    ("README.md", "## Commands"): 1,
    ("README.md", "## Scale: one engine, several executors"): 1,
    ("README.md", "## Paper tables"): 1,
    ("README.md", "## Layout"): 2,
    ("docs/api.md", "# Python API"): 1,
    ("docs/api.md", "## Scores"): 1,
    ("docs/api.md", "### Your own network"): 1,
    ("docs/api.md", "## Correlations"): 1,
    ("docs/api.md", "## Search"): 1,
    ("docs/api.md", "## Predictors"): 1,
    ("docs/store.md", "# The score store: what it holds, export, removal"): 1,
}
RUN_ELSEWHERE = {"docs/plugins.md": "tests/test_plugins_docs.py"}


def test_every_block_is_run():
    found: Dict[Tuple[str, str], int] = {}
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        name = doc.relative_to(ROOT).as_posix()
        if name in RUN_ELSEWHERE:
            assert (ROOT / RUN_ELSEWHERE[name]).is_file()
            continue
        for heading, _, _ in fenced(doc):
            found[(name, heading)] = found.get((name, heading), 0) + 1
    assert found == RUN_HERE, "a code block was added, moved or removed: run it in a test here"


# --- running command lines ------------------------------------------------------------------------


@dataclass
class Workspace:
    """The module's folders, data and store."""

    root: Path
    data: Path
    store: Path

    @property
    def env(self) -> Dict[str, str]:
        return {"NASBENCH_DATA": str(self.data), "NASBENCH_STORE": str(self.store)}

    def folder(self, name: str, *inputs: Path) -> Path:
        """A fresh folder ``name`` holding copies of ``inputs`` (with their sidecars) under results/."""
        path = self.root / name
        shutil.rmtree(path, ignore_errors=True)
        (path / "results").mkdir(parents=True)
        for source in inputs:
            for file in source.parent.glob(source.name + "*"):
                shutil.copy2(file, path / "results" / file.name)
        return path


@pytest.fixture(scope="module")
def ws(tmp_path_factory, shared_data) -> Workspace:
    root = tmp_path_factory.mktemp("docs")
    return Workspace(root, shared_data.resolve(), root / "store.sqlite")


@contextlib.contextmanager
def working_in(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def runnable(line: str) -> str:
    """A doc line as the test runs it: comment dropped, sizes scaled, committed inputs in place."""
    command = re.split(r"\s+#\s", line.strip(), maxsplit=1)[0].strip()
    command = scaled(command, SCALE)
    for pattern, option in DEFAULT_SIZES:
        if re.search(pattern, command):
            command += " " + option
    for path in COMMITTED:
        command = re.sub(rf"(?<![\w/]){re.escape(path)}", str(ROOT / path), command)
    check_scaled(command)
    return command


def check_scaled(command: str) -> None:
    for option, limit in LIMITS.items():
        for value in re.findall(rf"{option} (\S+)", command):
            assert value.isdigit() and int(value) <= limit, f"a size left unscaled: {option} {value} in {command}"
    assert "--all" not in command and "--train-sizes 10,50,200" not in command, command


def nasbench(command: str, ws: Workspace, folder: Path, code: int = 0) -> Result:
    """Run one `nasbench ...` command in this process, from ``folder``; its exit code must be ``code``,
    with no traceback."""
    args = shlex.split(command)
    assert args[0] == "nasbench", command
    with working_in(folder):
        result = CliRunner().invoke(main, args[1:], env=ws.env)
    assert result.exit_code == code, f"{command}\n{result.output}"
    # an exception escaping the command (a traceback from the installed entry point) is not an exit
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    return result


def one_line_error(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def commands_block() -> List[str]:
    [block] = code_blocks(README, "bash", "## Commands")
    return [line for line in block.splitlines() if line.strip()]


#: each line of the README's Commands block, by its beginning, and the test that runs it
COMMAND_LINES = {
    "nasbench score --space nb201 --dataset cifar10": "test_score_line",
    "nasbench score --space nb201 --proxy all": "test_every_proxy_line",
    "nasbench score --space nats-sss --archs": "test_archs_file_line",
    "nasbench correlate results/nb201.csv --target": "test_correlate_line",
    "nasbench search --algo naswot": "test_search_line",
    "nasbench score --space nb201 --proxy ntk": "test_seeds_line",
    "nasbench score --space nb201 --proxy fisher": "test_network_variant_and_augment_lines",
    "nasbench score --space nb201 --proxy jacob_cov": "test_network_variant_and_augment_lines",
    "nasbench correlate results/nb201.csv --ensemble": "test_ensemble_line",
    "nasbench proxies | nasbench spaces": "test_listing_line",
    "nasbench data status": "test_data_line",
    "nasbench score --space nb201 --n 20 --out - -q | head -3": "test_pipe_line",
    "nasbench correlate results/nb201.csv --format": "test_format_line",
    "nasbench plot ": "test_plot_line",
    "nasbench predict --space nb201 --features": "test_predict_lines",
    "nasbench predict --space nb201 --scores": "test_predict_lines",
    "nasbench report results/": "test_report_line",
}


def line(start: str) -> str:
    assert start in COMMAND_LINES
    [found] = [text for text in commands_block() if text.startswith(start)]
    return found


def test_every_command_line_is_run():
    for text in commands_block():
        owners = [start for start in COMMAND_LINES if text.startswith(start)]
        assert len(owners) == 1, f"the README line {text!r} is run by no test (or by several)"
        assert callable(globals()[COMMAND_LINES[owners[0]]])


def expand(synopsis: str) -> List[str]:
    """The commands a synopsis line names: `a | b` (a later part without `nasbench` continues the
    first part's command group: `nasbench data status | download NAME`), `[--opt]` (without, then
    with), and `x|y|z` inside a word (one command each); placeholders stay."""
    parts = synopsis.split(" | ")
    group = " ".join(parts[0].split()[:2])
    commands = [part if part.startswith("nasbench ") else f"{group} {part}" for part in parts]
    expanded: List[str] = []
    for command in commands:
        variants = [command]
        optional = re.search(r" \[([^\]]+)\]", command)
        if optional:
            bracket, inside = optional.group(0), optional.group(1)
            variants = [command.replace(bracket, ""), command.replace(bracket, " " + inside)]
        for variant in variants:
            words = variant.split()
            choice = next((i for i, word in enumerate(words) if "|" in word), None)
            if choice is None:
                expanded.append(variant)
            else:
                expanded += [" ".join(words[:choice] + [alt] + words[choice + 1:]) for alt in words[choice].split("|")]
    return expanded


def test_synopsis_lines_name_these_commands():
    assert expand(runnable(line("nasbench proxies | nasbench spaces"))) == [
        "nasbench proxies", "nasbench spaces", "nasbench datasets"]
    assert expand(runnable(line("nasbench data status"))) == [
        "nasbench data status", "nasbench data status --json", "nasbench data download NAME",
        "nasbench data convert ARCHIVE", "nasbench data convert ARCHIVE --force"]
    kinds = ("scatter", "heatmap", "search", "kernel", "predict")
    assert expand(runnable(line("nasbench plot "))) == [f"nasbench plot {k} CSV... --out fig.png" for k in kinds]


# --- the outputs later lines read ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored(ws) -> Path:
    """The Commands block's first line: results/nb201.csv; the store as it stands after it."""
    folder = ws.folder("score")
    nasbench(runnable(line("nasbench score --space nb201 --dataset cifar10")), ws, folder)
    with contextlib.closing(sqlite3.connect(ws.store)) as source, \
            contextlib.closing(sqlite3.connect(ws.root / "store-after-score.sqlite")) as copy:
        source.backup(copy)
    return folder / "results" / "nb201.csv"


@pytest.fixture(scope="module")
def correlated(ws, scored) -> Tuple[Path, str]:
    folder = ws.folder("correlate", scored)
    result = nasbench(runnable(line("nasbench correlate results/nb201.csv --target")), ws, folder)
    return folder / "results" / "nb201.correlation.csv", result.output


@pytest.fixture(scope="module")
def searched(ws) -> Path:
    folder = ws.folder("search")
    nasbench(runnable(line("nasbench search --algo naswot")), ws, folder)
    [runs] = [p for p in (folder / "results").glob("search-naswot-*.csv") if ".summary" not in p.name]
    return runs


@pytest.fixture(scope="module")
def predicted(ws, scored) -> Tuple[Path, str]:
    folder = ws.folder("predict")
    result = nasbench(runnable(line("nasbench predict --space nb201 --features")), ws, folder)
    [trials] = [p for p in (folder / "results").glob("predict-*.csv") if ".summary" not in p.name]
    return trials, result.output


def _summary(path: Path) -> pd.DataFrame:
    return pd.read_csv(path.with_name(path.stem + ".summary.csv"))


# --- the Commands block, line by line ----------------------------------------------------------------


def test_score_line(scored):
    table = pd.read_csv(scored)
    expected = {"index", "arch", "naswot", "synflow", "cifar10/ori-test@200", "seconds", "naswot:seconds"}
    assert expected <= set(table.columns)
    # drawn as the API's sample(n, seed) draws them, every score finite
    assert sorted(table["index"]) == sorted(nb.open_space("nb201").sample(7, seed=0))
    assert table[["naswot", "synflow"]].notna().all().all() and table["naswot"].nunique() == 7
    assert json.loads(scored.with_name("nb201.csv.provenance.json").read_text())["seed"] == 0


@pytest.mark.slow
def test_every_proxy_line(ws):
    folder = ws.folder("all")
    command = runnable(line("nasbench score --space nb201 --proxy all"))
    assert command == "nasbench score --space nb201 --proxy all --n 1"
    nasbench(command, ws, folder)
    [out] = (folder / "results").glob("score-nb201-cifar10-*-n1-seed0.csv")
    table = pd.read_csv(out)
    listed = json.loads(nasbench("nasbench proxies --json", ws, folder).stdout)
    proxies = [p["name"] for p in listed if p["kind"] == "proxy"]
    assert len(table) == 1 and len(proxies) > 20 and set(proxies) <= set(table.columns)


def test_archs_file_line(ws):
    folder = ws.folder("archs")
    # "arch strings or indices, one per line"
    (folder / "my_archs.txt").write_text("8:16:24:32:40\n123\n")
    nasbench(runnable(line("nasbench score --space nats-sss --archs")), ws, folder)
    [out] = (folder / "results").glob("score-nats-sss-cifar10-naswot-archs-my_archs-seed0.csv")
    table = pd.read_csv(out)
    assert table["arch"][0] == "8:16:24:32:40" and table["index"][1] == 123
    assert table["arch"][1] == nb.open_space("nats-sss").arch(123) and table["naswot"].notna().all()


def test_correlate_line(correlated):
    path, printed = correlated
    table = pd.read_csv(path)
    assert list(table.columns[:11]) == ["score", "target", "n", "kendall_tau", "kendall_lo", "kendall_hi",
                                        "spearman_rho", "spearman_lo", "spearman_hi", "pair_agreement", "direction"]
    assert set(table["score"]) == {"naswot", "synflow"} and set(table["target"]) == {"cifar10/ori-test@200"}
    assert (table["n"] == 7).all() and table["kendall_tau"].between(-1, 1).all()
    assert "n < 20" in printed  # the README: a warning and a note when n < 20


def test_search_line(searched, ws):
    runs = pd.read_csv(searched)
    assert len(runs) == 2
    assert {"run", "seed", "index", "arch", "score", "cifar10/ori-test@200", "queries"} <= set(runs.columns)
    assert set(_summary(searched)["column"]) >= {"cifar10/ori-test@200"}
    # the comment lists --algo's choices: the registered algorithms; the two that score nothing run too
    comment = line("nasbench search --algo naswot").split("#")[1]
    assert sorted(name.strip() for name in comment.split("|")) == sorted(ALGORITHMS.names())
    for algo in ("random", "rea"):
        folder = ws.folder(f"search-{algo}")
        nasbench(runnable(line("nasbench search --algo naswot")).replace("--algo naswot", f"--algo {algo}"), ws, folder)
        [out] = [p for p in (folder / "results").glob(f"search-{algo}-*.csv") if ".summary" not in p.name]
        assert len(pd.read_csv(out)) == 2


@pytest.mark.slow
def test_seeds_line(ws):
    folder = ws.folder("seeds")
    command = runnable(line("nasbench score --space nb201 --proxy ntk"))
    assert command.endswith("--seeds 0,1,2 --n 1")
    nasbench(command, ws, folder)
    [out] = (folder / "results").glob("score-nb201-cifar10-ntk-*.csv")
    table = pd.read_csv(out)
    per_seed = table[[f"ntk@seed{k}" for k in range(3)]]
    assert table["ntk"][0] == pytest.approx(per_seed.iloc[0].mean()) and "ntk:std" in table.columns


@pytest.mark.parametrize("start, proxy, recorded", [
    ("nasbench score --space nb201 --proxy fisher", "fisher", ("network_variant", "zc")),
    ("nasbench score --space nb201 --proxy jacob_cov", "jacob_cov", ("augment", "train")),
])
def test_network_variant_and_augment_lines(ws, start, proxy, recorded):
    folder = ws.folder(proxy)
    nasbench(runnable(line(start)), ws, folder)
    [out] = (folder / "results").glob(f"score-nb201-cifar10-{proxy}-*.csv")
    table = pd.read_csv(out)
    assert len(table) == 3 and table[proxy].notna().all()
    record = json.loads(Path(f"{out}.provenance.json").read_text())
    key, value = recorded
    assert _find(record, key) == value


def _find(record, key):
    """The first value of ``key`` anywhere in a nested record."""
    if isinstance(record, dict):
        if key in record:
            return record[key]
        record = list(record.values())
    if isinstance(record, list):
        for item in record:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def test_ensemble_line(ws, scored):
    folder = ws.folder("ensemble", scored)
    printed = nasbench(runnable(line("nasbench correlate results/nb201.csv --ensemble")), ws, folder).output
    table = pd.read_csv(folder / "results" / "nb201.correlation.csv")
    ensembles = [s for s in table["score"] if "synflow" in s and "naswot" in s]
    assert ensembles and "log-rank" in printed and table["kendall_tau"].between(-1, 1).all()


def test_listing_line(ws):
    folder = ws.folder("listing")
    commands = expand(runnable(line("nasbench proxies | nasbench spaces")))
    proxies, spaces, datasets = (nasbench(command, ws, folder).output for command in commands)
    assert all(name in proxies for name in ("naswot", "synflow", "jacob_cov", "ntk", "zico"))
    # the spaces and datasets the README names
    assert all(re.search(rf"^{name}\b", spaces, flags=re.M) for name in ("nb201", "nats-tss", "nats-sss", "nb101"))
    assert all(name in datasets for name in ("cifar10", "cifar100", "ImageNet16-120"))


def test_data_line(ws):
    folder = ws.folder("data")
    status, as_json, download, convert, forced = expand(runnable(line("nasbench data status")))
    assert "cifar10" in nasbench(status, ws, folder).output
    record = json.loads(nasbench(as_json, ws, folder).stdout)
    assert record["store"]["path"] == str(ws.store)
    # downloads nothing: ImageNet16-120 is never downloaded, and the error says where to place it
    error = one_line_error(nasbench(download.replace("NAME", "ImageNet16-120"), ws, folder, code=1))
    assert "ImageNet16" in error and str(ws.data) in error
    missing = folder / "NAS-Bench-201-v1_1-096897.pth"
    for command in (convert, forced):
        error = one_line_error(nasbench(command.replace("ARCHIVE", str(missing)), ws, folder, code=1))
        assert str(missing) in error
    assert sorted(p.name for p in folder.iterdir()) == ["results"]  # nothing written


def test_pipe_line(ws, scored):
    folder = ws.folder("pipe")
    command = runnable(line("nasbench score --space nb201 --n 20 --out - -q | head -3"))
    assert command.endswith("| head -3")
    shell = command.replace("nasbench ", f"{shlex.quote(sys.executable)} -m nasbench_cli ", 1)
    env = {**os.environ, **ws.env, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("index,arch,naswot,")
    # the same networks and values as results/nb201.csv (read from the store)
    first = pd.read_csv(scored).set_index("index")
    for row in lines[1:]:
        index, _, value = row.split(",")[:3]
        assert float(value) == first.loc[int(index), "naswot"]
    assert not any((folder / "results").iterdir())  # `--out -`: no file


def test_format_line(ws, scored):
    folder = ws.folder("format", scored)
    command = runnable(line("nasbench correlate results/nb201.csv --format"))
    assert line("nasbench correlate results/nb201.csv --format").endswith("# or latex, csv")
    expected = {"markdown": r"^\| score\s+\| target", "latex": r"^\\begin\{tabular\}",
                "csv": r"^score,target,n,kendall_tau"}
    for style, pattern in expected.items():
        printed = nasbench(command.replace("--format markdown", f"--format {style}"), ws, folder).stdout
        assert re.search(pattern, printed, flags=re.M), (style, printed)


def test_plot_line(ws, scored, correlated, searched, predicted):
    inputs = {"scatter": scored, "heatmap": correlated[0], "search": searched, "kernel": scored,
              "predict": predicted[0]}
    for command in expand(runnable(line("nasbench plot "))):
        kind = command.split()[2]
        folder = ws.folder(f"plot-{kind}", inputs[kind])
        nasbench(command.replace("CSV...", f"results/{inputs[kind].name}"), ws, folder)
        figure = (folder / "fig.png").read_bytes()
        assert figure.startswith(PNG) and len(figure) > 10_000, kind


def test_predict_lines(ws, predicted):
    trials_path, printed = predicted
    trials = pd.read_csv(trials_path)
    assert list(trials.columns[:9]) == ["feature_set", "encoding", "features", "model", "train_size", "trial",
                                        "train_seed", "kendall_tau", "spearman_rho"]
    # --compare: the encoding, both, the scores; sizes 2 and 4; two trials each
    assert trials["feature_set"].nunique() == 3 and sorted(trials["train_size"].unique()) == [2, 4]
    assert len(trials) == 12
    baselines = _summary(trials_path).query("model == 'none'")
    assert sorted(baselines["feature_set"]) == ["naswot (no training)", "synflow (no training)"]
    assert "no training, each score alone" in printed

    folder = ws.folder("predict-scores")
    command = runnable(line("nasbench predict --space nb201 --scores"))
    assert str(ROOT / COMMITTED[0]) in command
    nasbench(command, ws, folder)
    [out] = [p for p in (folder / "results").glob("predict-*-rf-*.csv") if ".summary" not in p.name]
    trials = pd.read_csv(out)
    assert set(trials["model"]) == {"rf"} and len(trials) == 2 * 2 and trials["kendall_tau"].between(-1, 1).all()
    assert "naswot (no training)" in set(_summary(out)["feature_set"])


def test_report_line(ws, scored, correlated, searched, predicted):
    folder = ws.folder("report", scored, correlated[0], searched, predicted[0])
    command = runnable(line("nasbench report results/"))
    nasbench(command, ws, folder)
    page = (folder / "results" / "REPORT.md").read_text()
    for written in (scored, correlated[0], searched, predicted[0]):
        assert written.name in page, written.name
    figures = list((folder / "results" / "REPORT-figures").glob("*.png"))
    assert figures and all(f.read_bytes().startswith(PNG) for f in figures)
    # "or: make report": the target runs the same command on results/
    assert line("nasbench report results/").rstrip().endswith("# or: make report")
    assert re.search(r"report results --out results/REPORT\.md", _dry_run("report"))


# --- make: the first block and the paper tables -----------------------------------------------------


def _dry_run(*args: str) -> str:
    """`make -n` of ``args`` in the repository (the install step marked done unless asked)."""
    if shutil.which("make") is None:
        pytest.skip("make is needed for the Makefile's dry runs")
    keep = [] if "-W" in args else ["-o", ".venv/.installed"]
    done = subprocess.run(["make", "--no-print-directory", "-n", *keep, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "NASBENCH_DATA": ""})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _targets() -> List[str]:
    return re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M)


def test_make_demo_and_test():
    """Not run (make test is this suite; make demo scores 300 networks): both targets exist, and
    their dry runs, with the set-up step due (-W pyproject.toml), name what the README says."""
    [block] = code_blocks(README, "bash", "# nasbench")
    assert [text.split("#")[0].strip() for text in block.splitlines()] == ["make demo", "make test"]
    assert {"demo", "test", "install"} <= set(_targets())
    demo = _dry_run("-W", "pyproject.toml", "demo")
    # "set up (.venv, pinned deps)"
    assert "-m venv .venv" in demo and "pip install -q -r requirements-ci.txt" in demo
    # "score 300 NB201 nets with NASWOT on CIFAR-10, correlate"
    assert re.search(r"nasbench score --space nb201 --dataset cifar10 --proxy naswot --n 300 --seed 0 ", demo)
    assert re.search(r"nasbench correlate \S+ --target cifar10/ori-test@200", demo)
    assert "--out results/local/" in demo  # outside the committed results
    test = _dry_run("-W", "pyproject.toml", "test")
    assert "-m venv .venv" in test and re.search(r"^\S*python -m pytest", test, flags=re.M)


def test_paper_table_targets():
    """The paper-table lines' comments against the targets' dry runs, at the default scale and FULL=1
    (where they write: tests/test_make_results.py)."""
    [block] = code_blocks(README, "bash", "## Paper tables")
    named = [text.split()[1] for text in block.splitlines() if text.strip()]
    assert named == ["kendall", "table-nb201", "table-nb101", "table-predict", "table-proxies"]
    assert set(named) <= set(_targets())
    # kendall: 300 nets; KENDALL_N=1000 or FULL=1 (every network)
    assert re.search(r"score --space nb201 --dataset \$d --n 300 .*correlate", _dry_run("kendall"), flags=re.S)
    assert "--n 1000" in _dry_run("kendall", "KENDALL_N=1000") and " --all " in _dry_run("kendall", "FULL=1")
    # table-nb201: NASWOT N=10, random, REA, AREA, 10 runs where scoring is needed; FULL=1: 500 runs, N=10/100/1000
    quick, full = _dry_run("table-nb201"), _dry_run("table-nb201", "FULL=1")
    for algo in ("naswot", "random", "rea", "area"):
        assert f"--algo {algo}" in quick
    assert re.search(r"--algo naswot --n \$n --runs 10 ", quick) and "for n in 10;" in quick
    assert re.search(r"--algo area --runs 10 ", quick) and re.search(r"--algo area --runs 500 ", full)
    assert "for n in 10 100 1000;" in full and re.search(r"--algo naswot --n \$n --runs 500 ", full)
    assert "--space nb101" in _dry_run("table-nb101")
    # table-predict: encoding vs encoding + scores vs scores (--compare); FULL=1 writes results/predict/
    quick, full = _dry_run("table-predict"), _dry_run("table-predict", "FULL=1")
    assert "predict --space nb201" in quick and "--compare" in quick and "--out results/local/predict/" in quick
    assert "--out results/predict/" in full
    assert "proxy_leaderboard.py table results/proxies" in _dry_run("table-proxies")


# --- the Scale block ---------------------------------------------------------------------------------


def test_scale_block(ws):
    """Each executor line on two networks, each in its own folder with its own store so that the
    executor computes; `pip install` is not run (the extra must exist); CUDA and Ray lines run only
    where CUDA / Ray are present."""
    import torch

    [block] = code_blocks(README, "bash", "## Scale: one engine, several executors")
    lines = [text for text in block.splitlines() if text.strip()]
    assert lines[5] == "pip install 'nasbench-cli[ray]'"
    assert re.search(r"^ray = ", (ROOT / "pyproject.toml").read_text(), flags=re.M)
    cuda = torch.cuda.is_available()
    ray = importlib.util.find_spec("ray") is not None
    ran = 0
    for number, text in enumerate(lines):
        if text.startswith("pip ") or ("--device cuda" in text and not cuda) or ("--executor ray" in text and not ray):
            continue
        command = runnable(text.replace(" [--ray-address HOST:6379]", ""))  # no cluster to name: a local Ray
        folder = ws.folder(f"scale-{number}")
        store = Workspace(ws.root, ws.data, folder / "store.sqlite")
        nasbench(command, store, folder)
        [out] = (folder / "results").glob("score-nb201-cifar10-naswot-n2-seed0.csv")
        record = json.loads(Path(f"{out}.provenance.json").read_text())["engine"]
        assert record["computed_scores"] == 2 and len(pd.read_csv(out)) == 2
        if "--executor" in command:
            assert record["executor_chosen"] == command.split("--executor ")[1].split()[0]
        else:  # auto: "a job with fewer than 4 architectures per worker runs in-process"
            assert record["executor_chosen"] == "sequential"
        if "--threads 2" in command:
            assert record["threads_per_worker"] == 2
        if "--devices all" in command:
            assert all(d.startswith("cuda") for d in record["devices"]) if cuda else record["devices"] == ["cpu"]
        ran += 1
    assert ran >= 4


# --- the Layout drawings -----------------------------------------------------------------------------


def _package_names() -> set:
    package = ROOT / "nasbench_cli"
    names = {p.name for p in package.rglob("*.py")}
    return names | {p.name + "/" for p in package.rglob("*") if p.is_dir() and p.name != "__pycache__"}


#: a module or folder named in a drawing: `name.py` or `name/`
NAMED = r"(?<![\w.<])(\w+\.py|\w+/)(?=[\s,;:)]|$)"


def test_layout_names_what_exists():
    tree, layers = code_blocks(README, "", "## Layout")
    present = _package_names()
    named = set(re.findall(NAMED, tree)) - {"nasbench_cli/"}
    top = {"configs/", "scripts/", "tests/", "results/"}
    assert named - top and not (named - top) - present, sorted((named - top) - present)
    assert all((ROOT / name).is_dir() for name in top)
    # the registries it names, and the executors "one module each"
    for dotted in re.findall(r"\b(\w+\.base\.[A-Z]+)\b", tree):
        module, attribute = dotted.rsplit(".", 1)
        assert hasattr(importlib.import_module(f"nasbench_cli.{module}"), attribute), dotted
    for executor in ("sequential", "local", "ray"):
        assert (ROOT / "nasbench_cli" / "engine" / "executors" / f"{executor}.py").is_file()
    drawn = set(re.findall(NAMED, layers.replace("<job>.py", "")))
    assert drawn and not drawn - present, sorted(drawn - present)


# --- docs/api.md ------------------------------------------------------------------------------------


def test_api_example_runs_from_the_repository_and_from_elsewhere(ws, tmp_path):
    """The example as a script (n=50 -> n=4), from the repository root (its figure redirected to a
    temporary folder) and from another folder (as written); the test appends two lines that write
    its frame and table for checking. Data from $NASBENCH_DATA, as the page says."""
    example = scaled(code_blocks(API, "python", "# Python API")[0], SCALE)
    assert "n=4" in example and '"scatter.png"' in example
    frames = []
    stray = (ROOT / "scatter.png").exists()
    for where, folder in (("root", ROOT), ("elsewhere", tmp_path / "elsewhere")):
        out = tmp_path / where
        out.mkdir()
        folder.mkdir(exist_ok=True)
        text = example if where == "elsewhere" else example.replace('"scatter.png"', repr(str(out / "scatter.png")))
        script = out / "example.py"
        script.write_text(text + f"\nframe.to_csv({str(out / 'frame.csv')!r}, index=False)\n"
                                 f"table.to_csv({str(out / 'table.csv')!r}, index=False)\n")
        env = {**os.environ, **ws.env, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        figure = folder / "scatter.png" if where == "elsewhere" else out / "scatter.png"
        assert figure.read_bytes().startswith(PNG)
        frame, table = pd.read_csv(out / "frame.csv"), pd.read_csv(out / "table.csv")
        assert sorted(frame["index"]) == sorted(nb.open_space("nb201").sample(4, seed=0))
        assert set(table["score"]) == {"synflow", "params"} and (table["n"] == 4).all()
        frames.append(frame)
    assert (ROOT / "scatter.png").exists() == stray  # nothing written into the repository
    pd.testing.assert_frame_equal(*frames)


#: signatures written inline in docs/api.md (not in a block), by function
INLINE_SIGNATURES = {
    "open_space": nb.open_space,
    "naswot_kernels": nb.naswot_kernels,
    "top_ranking_metrics": "nasbench_cli.analysis.top_ranking.top_ranking_metrics",
    "scatter_figure": "nasbench_cli.analysis.figures.scatter_figure",
    "heatmap_figure": "nasbench_cli.analysis.figures.heatmap_figure",
    "search_figure": "nasbench_cli.analysis.figures.search_figure",
    "kernel_figure": "nasbench_cli.analysis.figures.kernel_figure",
}


def _documented(text: str) -> Tuple[str, List[Tuple[str, str, object]], Optional[str]]:
    """A signature as written (``name(params) [-> R]``, possibly qualified): its name, (parameter,
    kind, default) in order, and its return annotation when it is a plain name."""
    text = " ".join(text.split())
    name = text.split("(", 1)[0].rsplit(".", 1)[-1]
    tree = ast.parse(f"def {name}{text[text.index('('):]}: ...")
    fn = tree.body[0]
    args = fn.args
    empty = inspect.Parameter.empty
    positional = args.posonlyargs + args.args
    defaults = [empty] * (len(positional) - len(args.defaults)) + [ast.literal_eval(d) for d in args.defaults]
    params = [(a.arg, "POSITIONAL_ONLY" if a in args.posonlyargs else "POSITIONAL_OR_KEYWORD", d)
              for a, d in zip(positional, defaults)]
    if args.vararg:
        params.append((args.vararg.arg, "VAR_POSITIONAL", empty))
    params += [(a.arg, "KEYWORD_ONLY", empty if d is None else ast.literal_eval(d))
               for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        params.append((args.kwarg.arg, "VAR_KEYWORD", empty))
    returns = fn.returns.id if isinstance(fn.returns, ast.Name) else None
    return name, params, returns


def _actual(function) -> Tuple[List[Tuple[str, str, object]], str]:
    if isinstance(function, str):
        module, attribute = function.rsplit(".", 1)
        function = getattr(importlib.import_module(module), attribute)
    signature = inspect.signature(function)
    params = [(p.name, p.kind.name, p.default) for p in signature.parameters.values()]
    return params, str(signature.return_annotation).strip("'\"")


@pytest.mark.parametrize("heading", ["## Scores", "### Your own network", "## Correlations", "## Search",
                                     "## Predictors"])
def test_api_signature_blocks_equal_the_functions(heading):
    [block] = code_blocks(API, "python", heading)
    name, params, returns = _documented(block)
    actual, annotation = _actual(getattr(nb, name))
    assert params == actual, f"docs/api.md {heading}: {name} differs from inspect.signature"
    assert returns is None or returns == annotation


def test_api_inline_signatures_equal_the_functions():
    text = re.sub(r"^```.*?^```", "", API.read_text(), flags=re.S | re.M)  # the text outside the blocks
    for name, function in INLINE_SIGNATURES.items():
        signature = rf"([\w.]+\.)?{name}\(.*\)( ->.*)?$"
        [written] = [s for s in re.findall(r"`([^`]+)`", text) if re.match(signature, s, re.S)]
        written = re.sub(r"\s*->\s*\{.*\}$", "", written, flags=re.S)  # a described return ({index: K})
        _, params, returns = _documented(written)
        actual, annotation = _actual(function)
        assert params == actual, f"docs/api.md: {written}"
        assert returns is None or returns == annotation


# --- docs/store.md -----------------------------------------------------------------------------------


def test_store_block(ws, scored):
    """The block in order, on a copy of the store the first Commands line filled (naswot and
    synflow of 7 networks)."""
    [block] = code_blocks(STORE, "bash")
    lines = [runnable(text) for text in block.splitlines() if text.strip()]
    folder = ws.folder("store")
    store = Workspace(ws.root, ws.data, folder / "store.sqlite")
    shutil.copy2(ws.root / "store-after-score.sqlite", store.store)
    listing, as_json, export, to_stdout, remove = lines
    printed = nasbench(listing, store, folder).output
    assert re.search(r"nb201\s+cifar10\s+naswot\s+7\s+1\s+0", printed) and re.search(r"synflow\s+7\b", printed)
    groups = json.loads(nasbench(as_json, store, folder).stdout)["groups"]
    assert [(g["proxy"], g["space"], g["scores"]) for g in groups] == [("naswot", "nb201", 7)]
    nasbench(export, store, folder)
    exported = pd.read_csv(folder / "naswot-store.csv")
    # "key columns, index, arch, naswot, seconds, error"
    assert list(exported.columns[-5:]) == ["index", "arch", "naswot", "seconds", "error"]
    assert {"space", "dataset", "seed"} <= set(exported.columns)
    first = pd.read_csv(scored).set_index("index")
    assert dict(zip(exported["index"], exported["naswot"])) == first["naswot"].to_dict()
    stdout = nasbench(to_stdout, store, folder).stdout
    assert stdout.splitlines()[0] == ",".join(exported.columns) and len(stdout.splitlines()) == 8
    nasbench(remove, store, folder)
    after = nasbench(listing, store, folder).output
    assert "synflow" not in after and re.search(r"naswot\s+7\b", after)
