"""Imports run one way: interfaces (cli, commands, api) -> workflows -> the rest. Nothing below an
interface imports one, nothing below the workflows imports them, and the API does not go through
the commands (checked on the source, imports inside functions too)."""

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
