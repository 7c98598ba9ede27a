"""Imports run one way: interfaces (cli, commands, api) -> workflows -> the rest. Nothing under
the workflow layer imports an interface (checked on the source, imports inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import nasbench_cli

PACKAGE = Path(nasbench_cli.__file__).parent
INTERFACES = ("nasbench_cli.cli", "nasbench_cli.commands", "nasbench_cli.api")


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


def test_the_checker_sees_an_interface_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from nasbench_cli.commands.score import parse_seeds\n    import nasbench_cli.api\n")
    assert interface_imports(bad) == ["nasbench_cli.api", "nasbench_cli.commands.score",
                                      "nasbench_cli.commands.score.parse_seeds"]
