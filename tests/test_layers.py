"""Imports run one way: interfaces (cli, commands, api) -> workflows -> the rest. Nothing below an
interface imports one, nothing below the workflows imports them, the API does not go through
the commands, and the interfaces reach the rest of the package only through the workflows and
the short list of THROUGH modules below (checked on the source, imports inside functions too).
The drawing in docs/architecture.md and the README is this file's picture."""

from __future__ import annotations

import ast
from pathlib import Path

import nasbench_cli

PACKAGE = Path(nasbench_cli.__file__).parent
INTERFACES = ("nasbench_cli.cli", "nasbench_cli.commands", "nasbench_cli.api")
#: what the interfaces may import besides the workflows, and why
THROUGH = {
    "nasbench_cli.errors": "the errors every face reports",
    "nasbench_cli.logs": "messages, notes and progress on stderr",
    "nasbench_cli.entry": "the entry point's interrupt handling (one line, exit 130)",
    "nasbench_cli.options": "a job's options: their bounds, choices and help (Click and the API read them)",
    "nasbench_cli.output": "writing CSVs (the faces write files; the workflows write none)",
    "nasbench_cli.provenance": "writing the sidecars beside them",
    "nasbench_cli.proxies": "a registry: listing and completing names",
    "nasbench_cli.spaces": "a registry: listing and completing names",
    "nasbench_cli.datasets": "a registry: listing and completing names",
    "nasbench_cli.search": "a registry: listing and completing names",
    "nasbench_cli.analysis.tables": "tables as text (--format)",
    "nasbench_cli.analysis.figures": "drawing figures (`nb.figures`, `plot`, `report`)",
    "nasbench_cli.analysis.correlation": "the bootstrap's bound (correlate)",
    "nasbench_cli.analysis.correlation_table": "correlate's result columns and their rows",
    "nasbench_cli.analysis.ensemble_rules": "the ensemble rules' names (--ensemble-rule's choices)",
}


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def is_interface(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in INTERFACES)


def interface_imports(path: Path):
    return sorted({m for m in imported_modules(path) if is_interface(m)})


def test_workflows_import_no_interface():
    modules = sorted((PACKAGE / "workflows").glob("*.py"))
    assert modules, "the workflow layer exists"
    offending = {str(p.relative_to(PACKAGE)): interface_imports(p) for p in modules if interface_imports(p)}
    assert offending == {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_imports_run_downwards_only():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        interface = is_interface(name) or name in ("nasbench_cli", "nasbench_cli.__main__",
                                                             "nasbench_cli.entry")  # the entry points
        workflow = name.startswith("nasbench_cli.workflows")
        for imported in set(imported_modules(path)):
            if not interface and is_interface(imported):
                upward.append(f"{name} -> {imported}")
            if not interface and not workflow and imported.startswith("nasbench_cli.workflows"):
                upward.append(f"{name} -> {imported}")
            if name == "nasbench_cli.api" and imported.startswith("nasbench_cli.commands"):
                upward.append(f"{name} -> {imported}")
    assert upward == []


def test_the_checker_sees_an_interface_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from nasbench_cli.commands.score import parse_seeds\n    import nasbench_cli.api\n")
    assert interface_imports(bad) == ["nasbench_cli.api", "nasbench_cli.commands.score",
                                      "nasbench_cli.commands.score.parse_seeds"]


def _is_module(name: str) -> bool:
    parts = name.split(".")[1:]
    return (PACKAGE.joinpath(*parts).with_suffix(".py").is_file() or PACKAGE.joinpath(*parts, "__init__.py").is_file())


def imported_targets(path: Path):
    """The package modules ``path`` imports: ``from pkg import module`` names the module."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("nasbench_cli"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if _is_module(full) else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("nasbench_cli"))


def reaches_past_the_workflows(path: Path):
    return sorted({m for m in imported_targets(path) if not is_interface(m) and m != "nasbench_cli"
                   and not m.startswith("nasbench_cli.workflows") and m not in THROUGH})


def test_interfaces_reach_the_rest_only_through_the_workflows():
    interfaces = [PACKAGE / "cli.py", PACKAGE / "api.py", *sorted((PACKAGE / "commands").glob("*.py"))]
    offending = {str(p.relative_to(PACKAGE)): reaches_past_the_workflows(p) for p in interfaces
                 if reaches_past_the_workflows(p)}
    assert offending == {}


def test_the_through_check_sees_a_direct_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from nasbench_cli.scoring import ArchitectureScorer\nfrom nasbench_cli import store\n"
                   "from nasbench_cli.proxies import PROXIES\nfrom nasbench_cli.workflows.score import run_score\n")
    assert reaches_past_the_workflows(bad) == ["nasbench_cli.scoring", "nasbench_cli.store"]

