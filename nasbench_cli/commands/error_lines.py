"""Click classes that report user errors as one line with their exit code, never a traceback.

Used by the `nasbench` group and by groups or commands that are also run on their own (tests,
scripts), so every entry point behaves the same. A reader that closes stdout early
(``nasbench correlate x.csv --out - | head -1``) is not an error: the command exits 0, silently.
"""

from __future__ import annotations

import os
import select
import sys
from typing import Callable, NoReturn, TypeVar

import click

from nasbench_cli.errors import NasbenchError

T = TypeVar("T")

#: bare `nasbench` / `nasbench data` (Click >= 8.2 raises it; older Clicks print the help themselves)
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it. A BrokenPipeError alone does not say
    which pipe broke (a worker's pipe breaks too when the worker dies, and that is an error)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # captured in memory (tests): no pipe to lose
        return False
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def exit_reader_gone() -> NoReturn:
    """Exit 0 without a word: the reader took what it wanted. stdout is pointed at /dev/null first,
    so the interpreter's final flush of what is still buffered cannot fail again (the recipe of
    the Python docs, 'Note on SIGPIPE')."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def reporting_errors(invoke: Callable[[], T]) -> T:
    """Run ``invoke``; NasbenchError -> 'Error: ...' on stderr and its exit code; a reader that
    closed stdout -> exit 0."""
    try:
        return invoke()
    except NasbenchError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(err.exit_code)
    except BrokenPipeError:
        if stdout_reader_gone():
            exit_reader_gone()
        raise
    except KeyboardInterrupt:
        from nasbench_cli.entry import interrupted

        interrupted()


def one_line_usage_errors(main: Callable[..., T], args, kwargs) -> T:
    """Run a command's ``main``; Click's own usage errors (a bad option value, an unknown option)
    become one ``Error:`` line pointing at --help, exit 2, instead of the usage block; a bare group
    shows its help (exit 0)."""
    if kwargs.get("standalone_mode", True) is False:
        return main(*args, **kwargs)
    _check_completion_request(kwargs)
    try:
        result = main(*args, **{**kwargs, "standalone_mode": False})
        sys.stdout.flush()  # here, not at interpreter exit, where a closed pipe could not be handled
        return result
    except BrokenPipeError:
        if stdout_reader_gone():
            exit_reader_gone()
        raise
    except SystemExit as done:
        # Click itself turns a broken pipe met outside a command (--help | head -1) into exit 1,
        # after wrapping stdout in its PacifyFlushWrapper: a closed reader is no error there either
        if done.code == 1 and isinstance(sys.stdout, click.utils.PacifyFlushWrapper) and stdout_reader_gone():
            exit_reader_gone()
        raise
    except _NO_ARGS_IS_HELP as err:  # bare `nasbench`: asking for nothing is asking for the help
        click.echo(err.ctx.get_help())
        sys.exit(0)
    except NasbenchError as err:  # raised while parsing (an option's callback), before invoke
        click.echo(f"Error: {err}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.UsageError as err:
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        click.echo(f"Error: {err.format_message()}{where}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort as err:
        from nasbench_cli.entry import caused_by_interrupt, interrupted

        if caused_by_interrupt(err):  # Ctrl-C while Click parsed
            interrupted()
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as err:
        click.echo(f"Error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)


def _check_completion_request(kwargs) -> None:
    """Shell completion reads the word number from $COMP_CWORD (Click calls int() on it): a value
    that is not a whole number is one line and exit 2, not a traceback."""
    name = kwargs.get("complete_var")
    if name is None:
        program = kwargs.get("prog_name") or click.utils._detect_program_name()
        name = f"_{program}_COMPLETE".replace("-", "_").upper()
    if not os.environ.get(name):
        return
    word = os.environ.get("COMP_CWORD", "0").strip()
    if not (word.lstrip("-").isdigit() and len(word) < 10):
        click.echo(f"Error: COMP_CWORD must be the number of the word to complete, not {word[:40]!r}", err=True)
        sys.exit(2)


class ReportingGroup(click.Group):
    """A click group whose subcommands report NasbenchError and usage errors as one line."""

    def invoke(self, ctx: click.Context):
        return reporting_errors(lambda: super(ReportingGroup, self).invoke(ctx))

    def main(self, *args, **kwargs):
        return one_line_usage_errors(super().main, args, kwargs)


class ReportingCommand(click.Command):
    """A click command that reports NasbenchError and usage errors as one line."""

    def invoke(self, ctx: click.Context):
        return reporting_errors(lambda: super(ReportingCommand, self).invoke(ctx))

    def main(self, *args, **kwargs):
        return one_line_usage_errors(super().main, args, kwargs)
