"""Human messages of the `nasbench` commands, through the standard ``logging`` module.

Every command logs to the ``nasbench`` logger; the CLI's ``-q``/``-v`` options set its level
(``-q``: warnings only, default: notes and 'wrote ...' lines, ``-v``: also debug detail such as
the provenance of an output written to stdout). Messages go to stderr, so stdout carries only data
(a CSV with ``--out -``, a table, JSON). Used from Python (``nasbench_cli.api``) without the CLI,
the logger has no handler of ours and follows the caller's logging configuration.

Progress bars (``progress_bar``) are for people watching: shown on a terminal or in a notebook
(``tqdm.auto`` widgets), never written into a log file or CI output unless $NASBENCH_PROGRESS=1
asks for them ($NASBENCH_PROGRESS=0 hides them everywhere; -q hides them too).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from typing import Any, Hashable, Iterable, Optional, Set

LOGGER_NAME = "nasbench"
#: "1" shows progress bars even where stderr is not a terminal, "0" hides them everywhere
PROGRESS_ENV = "NASBENCH_PROGRESS"

#: -q -> WARNING, default -> INFO, -v -> DEBUG
_LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


def get_logger(name: str = "") -> logging.Logger:
    """The ``nasbench`` logger, or its child ``nasbench.<name>``."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


class StderrHandler(logging.Handler):
    """Writes each message as one line on the *current* ``sys.stderr`` (looked up per message, so a
    redirected stderr is honoured), through tqdm so that a running progress bar is not torn."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a closed stream must not turn a message into a crash
            self.handleError(record)


class _LevelPrefix(logging.Formatter):
    """INFO as is; other levels prefixed ('warning: ...', 'debug: ...', or the record's own
    ``prefix``, e.g. 'note: ...')."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        prefix = getattr(record, "prefix", None) or record.levelname.lower()
        return text if record.levelno == logging.INFO else f"{prefix}: {text}"


def note(logger: logging.Logger, text: str) -> None:
    """A note that changes what the numbers mean: shown even with -q ('note: ...')."""
    logger.warning(text, extra={"prefix": "note"})


_warned: Set[Hashable] = set()


def warn_once(logger: logging.Logger, key: Hashable, text: str) -> None:
    """A warning shown once per process for ``key`` (data read again by a later step repeats
    nothing), and only in the main process: spawned workers that read the same files have no
    handler of ours, so logging's last resort would print it again, unformatted, once per worker."""
    if key in _warned or multiprocessing.parent_process() is not None:
        return
    _warned.add(key)
    logger.warning(text)


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel, where tqdm.auto draws a widget (stderr is no TTY)."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # an IPython without a shell, or an unusual one: no notebook
        return False


def show_progress(stream: Any = None) -> bool:
    """Whether a progress bar on ``stream`` (default: the current stderr) has someone to watch it:
    $NASBENCH_PROGRESS decides when set, else a terminal or a notebook does."""
    asked = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if asked in ("1", "true", "yes", "always"):
        return True
    if asked in ("0", "false", "no", "never"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty()) or _in_notebook()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return _in_notebook()


def progress_bar(iterable: Optional[Iterable] = None, *, enabled: bool = True, **options: Any):
    """A tqdm bar (``tqdm.auto``: a widget in notebooks) on the current stderr unless ``file`` is
    given; drawn only when ``enabled`` (False for -q) and ``show_progress`` says someone watches."""
    from tqdm.auto import tqdm

    options.setdefault("file", sys.stderr)
    options.setdefault("dynamic_ncols", True)
    shown = enabled and show_progress(options["file"])
    return tqdm(iterable, disable=not shown, **options)


def level_for(verbosity: int) -> int:
    """Logging level for a verbosity count: negative quiet, 0 normal, positive verbose."""
    return _LEVELS[max(-1, min(1, verbosity))]


def configure_cli_logging(verbosity: int) -> logging.Logger:
    """Route the ``nasbench`` logger to stderr at the level ``verbosity`` asks for (idempotent: one
    handler of ours however many commands run in the process)."""
    logger = get_logger()
    logger.setLevel(level_for(verbosity))
    logger.propagate = False
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(_LevelPrefix())
        logger.addHandler(handler)
    return logger
