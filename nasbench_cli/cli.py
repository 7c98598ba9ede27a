"""The `nasbench` command: a Click group whose subcommands live in nasbench_cli.commands."""

from __future__ import annotations

import click

import nasbench_cli
from nasbench_cli.commands.error_lines import ReportingGroup
from nasbench_cli.commands.options import attach_completions


@click.group(cls=ReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(nasbench_cli.__version__, prog_name="nasbench")
def main() -> None:
    """Training-free NAS: score untrained networks, correlate scores with accuracy, search.

    \b
    Shell completion (commands, options, --space/--proxy/--dataset/--algo names):
      bash: eval "$(_NASBENCH_COMPLETE=bash_source nasbench)"   in ~/.bashrc
      zsh:  eval "$(_NASBENCH_COMPLETE=zsh_source nasbench)"    in ~/.zshrc
      fish: _NASBENCH_COMPLETE=fish_source nasbench | source   in config.fish
    """


def _register_commands() -> None:
    from nasbench_cli.commands import correlate, data, info, plot, predict, report, score, search

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
    attach_completions(main)  # --space, --proxy, --dataset, --algo complete their registered names


_register_commands()
