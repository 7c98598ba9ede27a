"""The `nasbench` command: a Click group whose subcommands live in nasbench_cli.commands."""

from __future__ import annotations

import click

import nasbench_cli
from nasbench_cli.commands.error_lines import ReportingGroup
from nasbench_cli.commands.options import attach_completions


def version_text() -> str:
    """``nasbench, version X``, with the git commit when run from a checkout (``+dirty`` when its
    code differs from that commit), so that a result can name the code that made it."""
    from nasbench_cli.provenance import git_commit

    commit = git_commit()
    return f"nasbench, version {nasbench_cli.__version__}" + (f" (git {commit})" if commit else "")


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


@click.group(cls=ReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version (and the git commit of a checkout) and exit.")
def main() -> None:
    """Training-free NAS: score untrained networks, correlate scores with accuracy, search.

    \b
    Shell completion (commands, options, --space/--proxy/--dataset/--algo names):
      bash: eval "$(_NASBENCH_COMPLETE=bash_source nasbench)"   in ~/.bashrc
      zsh:  eval "$(_NASBENCH_COMPLETE=zsh_source nasbench)"    in ~/.zshrc
      fish: _NASBENCH_COMPLETE=fish_source nasbench | source   in config.fish
    """


def _register_commands() -> None:
    from nasbench_cli.commands import correlate, data, info, plot, predict, report, score, search, store

    main.add_command(score.score)
    main.add_command(search.search)
    main.add_command(correlate.correlate)
    main.add_command(predict.predict)
    main.add_command(data.data)
    main.add_command(info.proxies)
    main.add_command(info.spaces)
    main.add_command(info.datasets)
    main.add_command(plot.plot)
    main.add_command(report.report)
    main.add_command(store.store)
    attach_completions(main)  # --space, --proxy, --dataset, --algo complete their registered names


_register_commands()
