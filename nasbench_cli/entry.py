"""The `nasbench` entry point, clean under Ctrl-C from its first line.

The console script and ``python -m nasbench_cli`` start here, not in ``cli.py``: importing the CLI
loads Click, the commands and their libraries, and a Ctrl-C while that runs would otherwise print a
KeyboardInterrupt traceback (exit -2). This module imports only the standard library, and wraps
the import of the CLI and the whole run: an interrupt at any moment is one line and exit 130.
Nothing is half-written by an interrupt: outputs are written to a temporary file and renamed.
"""

from __future__ import annotations

import signal
import sys
from typing import NoReturn, Optional, Sequence

#: the line an interrupted run prints (the same as a command interrupted while it runs)
INTERRUPTED = "Interrupted: results computed so far are kept; run the same command again to resume."
#: the exit status of a run ended by SIGINT, as a shell reports it (128 + 2)
EXIT_INTERRUPTED = 130


def interrupted() -> NoReturn:
    """Say the one line and exit 130 (SystemExit: a caller in the same process, such as a test's
    CliRunner, sees the status)."""
    try:
        sys.stderr.write(INTERRUPTED + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: the exit status still says it
        pass
    sys.exit(EXIT_INTERRUPTED)


def main(args: Optional[Sequence[str]] = None) -> None:
    """Run the `nasbench` command (``args``: the command line after the program name).

    Without ``args`` the caller is the process itself (the console script, ``python -m``), which
    exits when this returns: a Ctrl-C that arrives after the command has finished (its outputs
    written) is then ignored, so a complete run exits with its own status instead of an
    interrupted interpreter shutdown (-2, or a traceback from an exit handler). A caller that
    passes ``args`` (in-process use) gets its own SIGINT handler back."""
    recorder = _InterruptRecorder.install(process_exits=args is None)
    try:
        from nasbench_cli.cli import main as command

        # `python -m nasbench_cli` is the `nasbench` command: the same name in usage lines and the
        # same completion variable (_NASBENCH_COMPLETE) as the installed script
        command(args=None if args is None else list(args), prog_name="nasbench", complete_var="_NASBENCH_COMPLETE")
    except KeyboardInterrupt:
        _ignore_further_interrupts()
        interrupted()
    except SystemExit as done:
        if done.code == EXIT_INTERRUPTED:
            _ignore_further_interrupts()
            raise
        recorder.finish()
        raise
    except Exception as err:
        # An interrupted import does not always surface as KeyboardInterrupt: a C extension whose
        # initialisation is interrupted reports "ImportError: initialization failed" (scipy's HiGHS
        # wrapper), and a half-imported numpy then fails with an AttributeError. After a Ctrl-C,
        # whatever failed failed because of it.
        if recorder.seen or caused_by_interrupt(err):
            _ignore_further_interrupts()
            interrupted()
        recorder.finish()
        raise
    recorder.finish()


class _InterruptRecorder:
    """SIGINT handler that remembers it fired, then raises KeyboardInterrupt as Python's own does."""

    def __init__(self, previous, process_exits: bool) -> None:
        self.previous = previous
        self.process_exits = process_exits
        self.seen = False

    @classmethod
    def install(cls, process_exits: bool = False) -> "_InterruptRecorder":
        previous = signal.getsignal(signal.SIGINT)
        recorder = cls(previous, process_exits)
        if previous is signal.default_int_handler:  # an ignored SIGINT (nohup, a worker) stays ignored
            signal.signal(signal.SIGINT, recorder)
        return recorder

    def __call__(self, signum, frame) -> None:
        self.seen = True
        if _inside_import(frame) and _retry_after(RETRY_S, self._retry):
            # A KeyboardInterrupt raised while an extension module initialises (torch's, through
            # pybind11) cannot unwind through its C++ and aborts the process ("terminate called
            # ..."); the interrupt is raised once the import is over, RETRY_S later at the latest
            return
        raise KeyboardInterrupt

    def _retry(self, signum, frame) -> None:
        """SIGALRM after a deferred interrupt: raise it now, or wait on while still importing."""
        if signal.getsignal(signal.SIGINT) is not self:
            return  # the command is over (or the process is exiting): nothing to interrupt
        if _inside_import(frame) and _retry_after(RETRY_S, self._retry):
            return
        raise KeyboardInterrupt

    def cancel_retry(self) -> None:
        """Disarm a deferred interrupt's timer (the command ended before it fired)."""
        if hasattr(signal, "setitimer") and signal.getsignal(signal.SIGALRM) == self._retry:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def finish(self) -> None:
        """The command is over: ignore SIGINT if the process exits next, else restore the caller's."""
        self.cancel_retry()
        if self.process_exits and signal.getsignal(signal.SIGINT) is self:
            _ignore_further_interrupts()
        else:
            self.uninstall()

    def uninstall(self) -> None:
        if signal.getsignal(signal.SIGINT) is self:  # in-process callers (tests) get theirs back
            signal.signal(signal.SIGINT, self.previous)


#: seconds between checks whether a deferred interrupt can be raised (outside any import)
RETRY_S = 0.05


def _inside_import(frame) -> bool:
    """Whether ``frame`` runs inside an import (a module's top level under importlib)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _retry_after(seconds: float, handler) -> bool:
    """Arm a one-shot SIGALRM that calls ``handler``; False where there is no interval timer."""
    if not hasattr(signal, "setitimer") or not hasattr(signal, "SIGALRM"):
        return False
    if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None, handler):
        return False  # someone else's alarm: do not take it over
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return True


def caused_by_interrupt(err: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in ``err``'s chain of causes and contexts (an exception
    raised while an interrupt was being handled, or converted from one)."""
    seen = set()
    link: Optional[BaseException] = err
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


def _ignore_further_interrupts() -> None:
    """The process is exiting after an interrupt: a second Ctrl-C must not break the interpreter's
    shutdown with a traceback (nor a deferred one's timer)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, 0)
        if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
