"""Where a run's CSV goes and how it is written, the same for score, search and predict: checked
before any work (an input, unwritable, another run's default file), then the CSV, its optional
``<stem>.summary.csv`` and the provenance sidecar of each."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

import click

from nasbench_cli.output import check_output, is_stdout, summary_path, write_csv
from nasbench_cli.provenance import build_provenance, guard_default_output, guard_sidecar, invocation, write_provenance


class RunOutput:
    """The run's output file: ``out`` as given, else the workflow's default name (known only
    once the workflow has planned, so :meth:`check` is its ``before_compute`` callback)."""

    def __init__(self, out: Optional[Path], with_summary: bool = False):
        self.out, self.with_summary = out, with_summary
        self.path: Optional[Path] = None

    def check(self, plan: Any) -> None:
        """Before any work: refuse outputs that are inputs or cannot be written, and a default
        name that holds another run's output."""
        self.path = self.out or plan.default_out
        for path in (self.path, self.summary) if self.summary is not None else (self.path,):
            check_output(path, plan.inputs)
        context = click.get_current_context()
        if self.out is None:
            guard_default_output(self.path, context.params, context.command.name)
        else:  # the file named by --out may be replaced; a foreign file at its sidecar's name may not
            guard_sidecar(self.path)
        if self.summary is not None:  # never named by the user: guarded like a default output
            guard_default_output(self.summary, context.params, context.command.name)

    @property
    def summary(self) -> Optional[Path]:
        """The summary CSV beside the output (None without one, or when the output is stdout)."""
        return summary_path(self.path) if self.with_summary and not is_stdout(self.path) else None

    def write(self, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], arguments: Dict[str, Any],
              provenance: Dict[str, Any], summary_columns: Sequence[str] = (),
              summary_rows: Sequence[Mapping[str, Any]] = ()) -> None:
        """The CSV, the summary (if any) and one provenance record beside each."""
        write_csv(self.path, list(columns), rows)
        extra = {"summary_csv": str(self.summary) if self.summary is not None else None} if self.with_summary else {}
        context = click.get_current_context()
        record = build_provenance({**context.params, **arguments}, **provenance, **extra,
                                  invocation=invocation(context.command.name, context.params))
        write_provenance(self.path, record)
        if self.summary is not None:
            write_csv(self.summary, list(summary_columns), summary_rows)
            write_provenance(self.summary, record)
