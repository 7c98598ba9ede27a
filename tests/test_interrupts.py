"""Ctrl-C is clean at every moment (issue 33): from the first import of the CLI to the last write,
in the driver and in every local worker: one line, exit 130, no traceback, nothing half-written.

Moments are hit two ways. Deterministically: a ``sitecustomize`` module the test writes onto
PYTHONPATH sends SIGINT when a named module is first imported, in the driver (its own process) or
in a spawned worker (the whole process group, as a terminal's Ctrl-C does). And by time: SIGINT
to the process group after a delay, a sweep over the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINE = "Interrupted: results computed so far are kept; run the same command again to resume."

HOOK = '''
import os, signal, sys, time

class _InterruptOnImport:
    """Sends SIGINT when a module named in $NASBENCH_TEST_SIGINT_AT is first looked for."""
    def __init__(self, target, worker):
        self.target, self.worker, self.fired = target, worker, False
        # read at startup: a spawned worker's argv is replaced by its parent's while it prepares
        self.in_worker = "--multiprocessing-fork" in sys.argv

    def find_spec(self, name, path=None, target=None):
        if self.fired or name != self.target:
            return None
        if self.worker and not self.in_worker:
            return None  # not a spawned worker: only a worker's import fires
        self.fired = True
        if os.environ.get("NASBENCH_TEST_SIGINT_AS") == "importerror":
            # what a C extension does when its initialisation is interrupted (scipy's HiGHS wrapper)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt as err:
                raise ImportError("initialization failed") from err
        if self.worker:
            os.killpg(os.getpgid(0), signal.SIGINT)  # Ctrl-C at a terminal reaches the whole group
        else:
            os.kill(os.getpid(), signal.SIGINT)
        return None

if os.environ.get("NASBENCH_TEST_SIGINT_AT"):
    sys.meta_path.insert(0, _InterruptOnImport(os.environ["NASBENCH_TEST_SIGINT_AT"],
                                               os.environ.get("NASBENCH_TEST_SIGINT_IN") == "worker"))
'''


def _terminal_sigint() -> None:
    """In the child before exec: SIGINT at its default, as a process a terminal starts has it
    (whatever the test runner's own disposition is)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _env(tmp_path: Path, extra: Dict[str, str]) -> Dict[str, str]:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(HOOK)
    return {**os.environ, "PYTHONPATH": f"{hooks}{os.pathsep}{ROOT}", "OMP_NUM_THREADS": "1",
            "NASBENCH_PROGRESS": "0", **extra}


def _score_args(tmp_path: Path, workers: int = 1) -> List[str]:
    args = ["score", "--space", "nb201", "--dataset", "synthetic", "--proxy", "params", "--n", "40", "--seed", "0",
            "--data-dir", str(tmp_path / "data"), "--no-store", "--no-timing", "--out", str(tmp_path / "out.csv")]
    if workers > 1:
        args += ["--executor", "local", "--workers", str(workers)]
    return args


def _check_clean(done: subprocess.CompletedProcess, tmp_path: Path) -> None:
    """One line and exit 130 (or, if the run ended first, a whole output); never a traceback or a
    half-written file."""
    stderr = done.stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    if done.returncode == 0:  # finished before the signal: the output is whole
        assert (tmp_path / "out.csv").read_text().count("\n") == 41
    else:
        assert done.returncode == 130, (done.returncode, stderr)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert lines[-1] == LINE, stderr
        assert not [line for line in lines if "Error" in line], stderr
        out = tmp_path / "out.csv"
        assert not out.exists() or out.read_text().count("\n") == 41  # whole or absent
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix in (".tmp", ".part")]
    assert not leftovers, leftovers


@pytest.mark.parametrize("module", ["click", "pandas", "nasbench_cli.commands.score", "torch"])
def test_ctrl_c_while_the_cli_imports_is_one_line(tmp_path, module):
    env = _env(tmp_path, {"NASBENCH_TEST_SIGINT_AT": module, "NASBENCH_TEST_SIGINT_IN": "driver"})
    done = subprocess.run([sys.executable, "-m", "nasbench_cli", *_score_args(tmp_path)], preexec_fn=_terminal_sigint, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, done.stderr
    _check_clean(done, tmp_path)


@pytest.mark.parametrize("module", ["scipy.stats", "pandas"])
def test_ctrl_c_turned_into_an_import_error_is_one_line(tmp_path, module):
    """An extension module interrupted while it initialises raises ImportError from the
    KeyboardInterrupt (seen with scipy's HiGHS wrapper at 3.3 s into a loaded run): still one line."""
    env = _env(tmp_path, {"NASBENCH_TEST_SIGINT_AT": module, "NASBENCH_TEST_SIGINT_IN": "driver",
                          "NASBENCH_TEST_SIGINT_AS": "importerror"})
    done = subprocess.run([sys.executable, "-m", "nasbench_cli", *_score_args(tmp_path)], preexec_fn=_terminal_sigint, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, done.stderr
    _check_clean(done, tmp_path)


def test_ctrl_c_while_the_console_script_entry_imports(tmp_path):
    """The installed script runs ``nasbench_cli.entry:main`` (pyproject): its import is light."""
    env = _env(tmp_path, {"NASBENCH_TEST_SIGINT_AT": "click", "NASBENCH_TEST_SIGINT_IN": "driver"})
    script = "import sys; from nasbench_cli.entry import main; sys.argv[0] = 'nasbench'; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", script, *_score_args(tmp_path)], preexec_fn=_terminal_sigint, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, done.stderr
    _check_clean(done, tmp_path)
    assert 'nasbench = "nasbench_cli.entry:main"' in (ROOT / "pyproject.toml").read_text()


LATE_SIGINT = """
import os, signal, sys, time
from nasbench_cli.entry import main
sys.argv[0] = "nasbench"
try:
    main()
finally:  # the command has finished and written its output; the process is exiting
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.5)
"""


def test_ctrl_c_after_a_finished_command_keeps_its_exit_status(tmp_path):
    """A Ctrl-C that arrives while a complete run exits is ignored: status 0, no traceback."""
    done = subprocess.run([sys.executable, "-c", LATE_SIGINT, "spaces"], cwd=tmp_path, env=_env(tmp_path, {}),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert "nb201" in done.stdout


def test_in_process_main_gives_the_callers_sigint_handler_back():
    """Called with arguments (in-process), ``main`` restores the caller's handler after the command."""
    from nasbench_cli.entry import main

    before = signal.getsignal(signal.SIGINT)
    try:
        main(["spaces"])
    except SystemExit as done:  # Click may end a standalone command with SystemExit(0)
        assert done.code in (0, None)
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("module", ["torch", "nasbench_cli.engine.work"])
def test_ctrl_c_while_local_workers_start_prints_no_worker_traceback(tmp_path, module):
    env = _env(tmp_path, {"NASBENCH_TEST_SIGINT_AT": module, "NASBENCH_TEST_SIGINT_IN": "worker"})
    done = subprocess.run([sys.executable, "-m", "nasbench_cli", *_score_args(tmp_path, workers=2)], preexec_fn=_terminal_sigint, cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=180, start_new_session=True)
    assert done.returncode == 130, done.stderr
    _check_clean(done, tmp_path)


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5, 5.0])
def test_ctrl_c_to_the_process_group_at_any_time(tmp_path, delay):
    env = _env(tmp_path, {})
    process = subprocess.Popen([sys.executable, "-m", "nasbench_cli", *_score_args(tmp_path, workers=2)],
                               preexec_fn=_terminal_sigint, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    time.sleep(delay)
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass  # already finished
    stdout, stderr = process.communicate(timeout=180)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if done.returncode == -signal.SIGINT:
        # ended by the signal itself (a shell reports it as 130, like exit 130): either before the
        # interpreter installed its handler (no output at all), or a second Ctrl-C of the group
        # while it was exiting after its one line; never a traceback
        if stderr.startswith("wrote 40 rows"):  # the run had finished: the signal met its exit
            assert "Traceback" not in stderr and (tmp_path / "out.csv").read_text().count("\n") == 41, stderr
            return
        assert stderr.strip() in ("", LINE), stderr
        return
    _check_clean(done, tmp_path)
