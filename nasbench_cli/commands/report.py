"""`nasbench report RESULTS_DIR --out REPORT.md`: every table of record under a results folder, and
the figures that can be drawn from them, on one markdown page (the job: nasbench_cli.workflows.report).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from nasbench_cli.commands.options import verbosity_options
from nasbench_cli.commands.error_lines import ReportingCommand
from nasbench_cli.errors import UsageError
from nasbench_cli.logs import get_logger, note
from nasbench_cli.workflows.report import build_page, find_csvs

_log = get_logger("report")


@click.command("report", cls=ReportingCommand)
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", default=None, metavar="FILE",
              help="Markdown page [default: RESULTS_DIR/REPORT.md]; - writes it to stdout (figure links "
                   "then relative to RESULTS_DIR).")
@click.option("--figures", "figures_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the figures [default: <out stem>-figures next to the page].")
@click.option("--no-figures", is_flag=True, help="Tables only.")
@click.option("--kernels", is_flag=True,
              help="Also draw NASWOT kernel figures for score tables with a naswot column (recomputes "
                   "3 networks each, with the data of their provenance).")
@verbosity_options
def report(results_dir: Path, out: Optional[str], figures_dir: Optional[Path], no_figures: bool,
           kernels: bool) -> None:
    """Collect every CSV of record under RESULTS_DIR into one markdown page with figures."""
    from nasbench_cli.output import check_output, write_text

    to_stdout = out == "-"
    page_path = None if to_stdout else Path(out) if out is not None else results_dir / "REPORT.md"
    if page_path is not None:
        check_output(out if out is not None else page_path)  # as given: '' and 'dir/' are refused
        if page_path.suffix.lower() not in (".md", ".markdown"):
            raise UsageError(f"--out {page_path}: the report is markdown; name it .md")
    base = results_dir if page_path is None else page_path.parent
    if figures_dir is None:
        stem = page_path.stem if page_path is not None else "REPORT"
        figures_dir = base / f"{stem}-figures"
    if not no_figures:  # an unwritable figures folder fails before anything is drawn
        check_output(figures_dir / "figure.png", flag="--figures")
    page = build_page(results_dir, find_csvs(results_dir), None if no_figures else figures_dir, base, kernels,
                      warn=lambda text: note(_log, text))
    if page.figures:
        from nasbench_cli.analysis.figures import save_figure

        for figure in page.figures:
            save_figure(figure.figure, figure.path)
    if page_path is None:
        sys.stdout.write(page.text)
        sys.stdout.flush()
    else:
        write_text(page_path, page.text)
        _log.info(f"wrote {page_path}")


