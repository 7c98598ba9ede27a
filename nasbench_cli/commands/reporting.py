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


class ReportingGroup(click.Group):
    """A click group whose subcommands report NasbenchError as one line."""

    def invoke(self, ctx: click.Context):
        return reporting_errors(lambda: super(ReportingGroup, self).invoke(ctx))


class ReportingCommand(click.Command):
    """A click command that reports NasbenchError as one line."""

    def invoke(self, ctx: click.Context):
        return reporting_errors(lambda: super(ReportingCommand, self).invoke(ctx))
