"""Citable and licensed (issue 31 item 10): each built-in proxy names its paper, shown by
`nasbench proxies`; the paper never enters a store key; LICENSE and CITATION.cff; --version names
the commit."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.proxies import PROXIES
from nasbench_cli.proxies.base import Paper, as_paper, source_without_papers
from nasbench_cli.scoring import ScoreSettings, code_fingerprint, score_context

ROOT = Path(__file__).resolve().parents[1]


def test_every_built_in_proxy_names_its_paper():
    for name in PROXIES.names():
        paper = PROXIES.get(name).paper
        assert isinstance(paper, Paper), name
        assert paper.authors and paper.title and paper.venue, name
        assert 1980 <= paper.year <= 2030, name
        assert paper.url.startswith("https://"), name
    assert PROXIES.get("naswot").paper.venue == "ICML" and PROXIES.get("naswot").paper.year == 2021


def _without_paper_keywords(tree: ast.AST) -> str:
    """The AST dump of ``tree`` with every proxy(...) call's ``paper`` keyword removed."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "proxy":
            node.keywords = [k for k in node.keywords if k.arg != "paper"]
    return ast.dump(tree)


def test_the_key_source_of_every_built_in_is_its_code_without_the_paper():
    """What the code fingerprint hashes is the module exactly as it was before its paper was
    added: the same syntax tree less the paper argument, and no paper left in it."""
    modules = sorted({PROXIES.get(name).fn.__module__ for name in PROXIES.names()})
    for module_name in modules:
        source = inspect.getsource(importlib.import_module(module_name))
        stripped = source_without_papers(source)
        assert "paper=" in source, module_name
        assert _without_paper_keywords(ast.parse(source)) == ast.dump(ast.parse(stripped)), module_name
        assert _without_paper_keywords(ast.parse(stripped)) == ast.dump(ast.parse(stripped))
        # only the paper's characters go: everything else keeps its text, comments included
        assert len(stripped) < len(source) and stripped.count("\n") < source.count("\n")
        assert [line for line in stripped.splitlines() if line.strip().startswith("#")] == \
            [line for line in source.splitlines() if line.strip().startswith("#")]


_PLAIN = '''from nasbench_cli.proxies.base import proxy


@proxy(
    "{name}",
    direction="max",
    summary="a test proxy",{paper}
)
def score(model, batch, ctx):
    return {value}
'''
_PAPER = '\n    paper={"authors": "A. Author", "title": "T", "venue": "V", "year": 2020, "url": "https://x"},'


@pytest.mark.parametrize("style", ["trailing comma", "no trailing comma", "one line"])
def test_adding_a_paper_keeps_the_store_key_and_changing_code_does_not(tmp_path, monkeypatch, style):
    monkeypatch.syspath_prepend(str(tmp_path))
    texts = {"before": _PLAIN.format(name="refs_proxy", paper="", value="1.0"),
             "after": _PLAIN.format(name="refs_proxy", paper=_PAPER, value="1.0"),
             "changed": _PLAIN.format(name="refs_proxy", paper=_PAPER, value="2.0")}
    if style == "no trailing comma":
        texts = {k: v.replace('"https://x"},', '"https://x"}') for k, v in texts.items()}
        texts["before"] = texts["before"].replace('summary="a test proxy",', 'summary="a test proxy"')
    elif style == "one line":
        texts = {k: re.sub(r"@proxy\((.*?)\n\)", lambda m: "@proxy(" + " ".join(
            part.strip() for part in m.group(1).splitlines() if part.strip()).rstrip(",") + ")", v, flags=re.S)
            for k, v in texts.items()}
    assert texts["before"] != texts["after"]
    fingerprints = {}
    for key, text in texts.items():
        name = f"nasbench_refs_{key}_{style.replace(' ', '_')}"
        (tmp_path / f"{name}.py").write_text(text)
        try:
            importlib.import_module(name)
            if key != "before":
                assert PROXIES.get("refs_proxy").paper == Paper("A. Author", "T", "V", 2020, "https://x")
            code_fingerprint.cache_clear()
            fingerprints[key] = code_fingerprint(name)
        finally:
            PROXIES._items.pop("refs_proxy", None)
            sys.modules.pop(name, None)
    assert source_without_papers(texts["after"]) == texts["before"]
    assert fingerprints["before"] == fingerprints["after"]  # the same key with or without the paper
    assert fingerprints["after"] != fingerprints["changed"]  # while a change of code changes it
    code_fingerprint.cache_clear()


def test_a_paper_is_not_part_of_a_score_context():
    import dataclasses

    spec = PROXIES.get("synflow")
    settings = ScoreSettings("nb201", "cifar10", ("synflow",), 0, None, "auto", "train")
    assert score_context(spec, settings, "abc") == score_context(dataclasses.replace(spec, paper=None), settings, "abc")
    other = Paper("B", "T2", "V2", 2000, "https://y")
    assert score_context(dataclasses.replace(spec, paper=other), settings, "abc") == score_context(spec, settings, "abc")


def test_a_malformed_paper_is_refused_at_registration():
    with pytest.raises(TypeError, match="missing url"):
        as_paper({"authors": "A", "title": "T", "venue": "V", "year": 2020})
    with pytest.raises(TypeError, match="mapping"):
        as_paper("Mellor et al. 2021")


def test_nasbench_proxies_shows_the_papers():
    runner = CliRunner()
    listed = runner.invoke(main, ["proxies", "--references"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    naswot = next(i for i, line in enumerate(lines) if line.startswith("naswot "))
    assert "Neural Architecture Search without Training" in lines[naswot + 1]
    assert "ICML 2021" in lines[naswot + 1] and "https://arxiv.org/abs/2006.04647" in lines[naswot + 1]
    plain = runner.invoke(main, ["proxies"])
    assert "paper:" not in plain.output
    records = {r["name"]: r for r in json.loads(runner.invoke(main, ["proxies", "--json"]).output)}
    assert records["zico"]["paper"]["venue"] == "ICLR" and records["zico"]["paper"]["year"] == 2023
    assert records["az_nas"]["kind"] == "group" and records["az_nas"]["paper"]["venue"] == "CVPR"


def test_version_names_the_commit_of_a_checkout():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("nasbench, version ")
    if (ROOT / ".git").exists():
        assert re.search(r"\(git [0-9a-f]{40}(\+dirty)?\)$", result.output.strip()), result.output


def test_licence_and_citation_files():
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "MIT"' in pyproject and 'license-files = ["LICENSE"]' in pyproject
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    yaml = pytest.importorskip("yaml")
    record = yaml.safe_load(cff)
    assert record["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license"):
        assert record[key], key
    assert record["license"] == "MIT"
    import nasbench_cli

    assert str(record["version"]) == nasbench_cli.__version__
