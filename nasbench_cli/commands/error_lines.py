"""Click classes that report user errors as one line with their exit code, never a traceback.

Used by the `nasbench` group and by groups or commands that are also run on their own (tests,
scripts), so every entry point behaves the same.
"""

from __future__ import annotations

import sys
from typing import Callable, TypeVar

import click

from nasbench_cli.errors import NasbenchError

T = TypeVar("T")


def reporting_errors(invoke: Callable[[], T]) -> T:
    """Run ``invoke``; NasbenchError -> 'Error: ...' on stderr and its exit code."""
    try:
        return invoke()
    except NasbenchError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted: results computed so far are kept; run the same command again to resume.",
                   err=True)
        sys.exit(130)


def one_line_usage_errors(main: Callable[..., T], args, kwargs) -> T:
    """Run a command's ``main``; Click's own usage errors (a bad option value, an unknown option)
    become one ``Error:`` line pointing at --help, exit 2, instead of the usage block."""
    if kwargs.get("standalone_mode", True) is False:
        return main(*args, **kwargs)
    try:
        return main(*args, **{**kwargs, "standalone_mode": False})
    except click.exceptions.UsageError as err:
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        click.echo(f"Error: {err.format_message()}{where}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as err:
        click.echo(f"Error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)


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
