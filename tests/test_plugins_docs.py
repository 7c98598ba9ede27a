"""Every block of docs/plugins.md, run as written at a smaller scale (a few networks, two runs,
two workers) with its outputs in a temporary folder: the CLI with --plugin and local workers,
Ray where it is installed, a plain API script, a notebook-style definition, and the leaderboard
target `make table-proxies PLUGIN=...` (on four networks)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli import plugins
from nasbench_cli.cli import main
from nasbench_cli.proxies import PROXIES

from docs_blocks import code_blocks
from docs_blocks import scaled as scaled_by

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "plugins.md"
#: the docs' scale -> the test's
SCALE = ((r"--n \d+", "--n 4"), (r"\bn=\d+", "n=4"), (r"--runs \d+", "--runs 2"), (r"--workers \d+", "--workers 2"))


def blocks(language: str) -> List[str]:
    return code_blocks(DOC, language)


def scaled(text: str, out: Path) -> str:
    return scaled_by(text, SCALE).replace("results/local/plugin/", f"{out}/")


@pytest.fixture
def docs_env(tmp_path, monkeypatch, shared_data):
    """Run from the repository root (the docs' relative paths), data from the shared folder, a
    private store, and the registry restored afterwards."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NASBENCH_DATA", str(shared_data))
    monkeypatch.setenv("NASBENCH_STORE", str(tmp_path / "store.sqlite"))
    items, origins, files = dict(PROXIES._items), dict(plugins.ORIGINS), dict(plugins._FILES)
    yield tmp_path
    PROXIES._items.clear()
    PROXIES._items.update(items)
    plugins.ORIGINS.clear()
    plugins.ORIGINS.update(origins)
    plugins._FILES.clear()
    plugins._FILES.update(files)


def _nasbench(line: str) -> str:
    args = shlex.split(line)
    assert args[0] == "nasbench", line
    result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == 0, f"{line}\n{result.output}"
    return result.output


def test_the_three_commands(docs_env):
    commands = [line for line in scaled(blocks("sh")[0], docs_env).splitlines() if line.strip()]
    assert len(commands) == 3
    _nasbench(commands[0])
    table = pd.read_csv(docs_env / "mine.csv")
    assert {"actvar", "naswot", "synflow"} <= set(table.columns) and table["actvar"].notna().all()
    assert len(set(table["actvar"])) > 1  # a real proxy, not a constant
    assert "actvar" in _nasbench(commands[1])
    printed = _nasbench(commands[2])
    assert "\nnaswot(actvar) on nb201 (cifar10), 2 runs, N=4\n" in printed
    record = json.loads((docs_env / "search-actvar.csv.provenance.json").read_text())
    assert record["search"] == "naswot(actvar) N=4" and record["plugins"][0]["proxy"] == "actvar"


def test_every_executor_block(docs_env):
    lines = [line for line in scaled(blocks("sh")[1], docs_env).splitlines() if line.strip()]
    assert "--executor local" in lines[0] and "--executor ray" in lines[1]
    _nasbench(lines[0])
    record = json.loads((docs_env / "local.csv.provenance.json").read_text())
    assert record["engine"]["executor_chosen"] == "local" and record["engine"]["computed_scores"] == 4
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed: the Ray line is not run")
    _nasbench(lines[1])
    ray, local = (pd.read_csv(docs_env / f"{name}.csv") for name in ("ray", "local"))
    assert ray["actvar"].tolist() == local["actvar"].tolist()  # the seconds columns differ, the scores not
    assert json.loads((docs_env / "ray.csv.provenance.json").read_text())["engine"]["executor_chosen"] == "ray"


@pytest.mark.parametrize("block", [1, 2])  # the interface sketch (block 0) is not a program
def test_the_python_blocks(docs_env, capsys, block):
    code = scaled(blocks("python")[block], docs_env)
    exec(compile(code, f"plugins.md block {block}", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert ("actvar" in printed and "kendall_tau" in printed) if block == 1 else "outvar" in printed
    name = "actvar" if block == 1 else "outvar"
    assert plugins.ORIGINS[name].kind == ("file" if block == 1 else "script")


def test_the_interface_sketch_names_the_public_decorator():
    sketch = blocks("python")[0]
    assert "from nasbench_cli import proxy" in sketch and "(model, batch, ctx)" in sketch


def test_make_table_proxies_with_a_plugin(tmp_path, shared_data):
    from nasbench_cli.workflows.leaderboard import sample_indices

    if shutil.which("make") is None:
        pytest.skip("make is needed")
    line = blocks("sh")[2].strip()
    assert line == "make table-proxies PLUGIN=examples/my_proxy.py"
    local = tmp_path / "local"
    nb = f"{sys.executable} -m nasbench_cli"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "NASBENCH_STORE": str(tmp_path / "store.sqlite")}
    done = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", *shlex.split(line)[1:],
                           f"NB={nb}", f"PY={sys.executable}", f"DATA_DIR={shared_data}", f"LB_LOCAL={local}",
                           "PLUGIN_N=4", "LB_PROXIES=", "LB_SEED_PROXIES=", "table-proxies"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    board = pd.read_csv(local / "yours" / "leaderboard.csv")
    mine = board[board.proxy == "actvar"]
    assert not mine.empty and (mine.kind == "yours").all()
    # PLUGIN_N=4: the first 4 networks of the leaderboard's own sample, so all 4 join the table
    # (a fresh --n 4 sample would share almost none of the 1,000)
    assert (mine.n == 4).all(), mine[["target", "n"]]
    sample = (local / "plugin-archs.txt").read_text().split()
    assert sample == [str(i) for i in sample_indices()[:4]]
    assert "results/proxies" not in " ".join(p for p in _written(done.stdout))


def _written(log: str) -> Tuple[str, ...]:
    return tuple(re.findall(r"--out\s+(\S+)", log))
