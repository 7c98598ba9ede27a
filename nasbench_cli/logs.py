"""Human messages of the `nasbench` commands, through the standard ``logging`` module.

Every command logs to the ``nasbench`` logger; the CLI's ``-q``/``-v`` options set its level
(``-q``: warnings only, default: notes and 'wrote ...' lines, ``-v``: also debug detail such as
the provenance of an output written to stdout). Messages go to stderr, so stdout carries only data
(a CSV with ``--out -``, a table, JSON). Used from Python (``nasbench_cli.api``) without the CLI,
the logger has no handler of ours and follows the caller's logging configuration.
"""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "nasbench"

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
