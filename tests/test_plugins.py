"""Plugins (issue 30): a user's proxy from a file, a module, a package, a script or exec: loaded by
every face, refused in one line when bad, keyed by its code so a changed proxy is never served a
stored score, carried to workers, named in provenance and listings.

Uses the toy space (tests/toy_space.py) on the synthetic dataset: no shared data needed. Each test
leaves the registry as it found it (``clean_registry``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import toy_space  # noqa: F401  (registers toy)
from nasbench_cli import plugins
from nasbench_cli.cli import main
from nasbench_cli.proxies import PROXIES
from nasbench_cli.store_keys import UNSTORED_PREFIX, proxy_code

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "my_proxy.py"

#: a plugin proxy whose value depends on the network (its parameter count) and a constant: editing
#: the constant must change every stored value
TEMPLATE = '''
from nasbench_cli import proxy

@proxy("{name}", direction="max", summary="test plugin")
def {name}(model, batch, ctx):
    return {body}
'''
PARAMS = "float(sum(p.numel() for p in model.parameters())) * {scale}"


@pytest.fixture(autouse=True)
def clean_registry():
    """The registry, origins and loaded files as they were before the test."""
    items, origins, files = dict(PROXIES._items), dict(plugins.ORIGINS), dict(plugins._FILES)
    path = list(sys.path)
    yield
    PROXIES._items.clear()
    PROXIES._items.update(items)
    plugins.ORIGINS.clear()
    plugins.ORIGINS.update(origins)
    plugins._FILES.clear()
    plugins._FILES.update(files)
    sys.path[:] = path


def _write(path: Path, name: str = "mine", body: str = PARAMS.format(scale=1)) -> Path:
    path.write_text(TEMPLATE.format(name=name, body=body))
    return path


def _score(tmp: Path, *args: str, code: int = 0, proxy: str = "mine", n: int = 4):
    result = CliRunner().invoke(main, ["score", "--space", "toy", "--dataset", "synthetic", "--proxy", proxy,
                                       "--n", str(n), "--batch-size", "8", "--no-timing", "--quiet",
                                       "--data-dir", str(tmp / "data"), *args])
    assert result.exit_code == code, result.output
    return result


def _values(csv: Path, column: str = "mine"):
    import pandas as pd

    return pd.read_csv(csv)[column].tolist()


# --- loading: every bad plugin is one line, names the file, and leaves nothing registered -----------
BAD_PLUGINS = {
    "missing": (None, "no such file"),
    "not-python": ("notes.txt", "not a .py file"),
    "syntax": ("def f(:\n", "syntax error"),
    "import": ("import no_such_module_for_nasbench\n", "cannot import what it needs: ModuleNotFoundError"),
    "raises": ("raise RuntimeError('boom at import')\n", "raised an error while loading: RuntimeError: boom at import"),
    "empty": ("x = 1\n", "registers no proxy"),
    "builtin-name": (TEMPLATE.format(name="synflow", body="1.0"), "proxy 'synflow' is a built-in proxy"),
    "bad-condition": ("from nasbench_cli import proxy\n@proxy('x1', direction='up')\ndef x1(m, b, c):\n"
                      "    return 1.0\n", "direction must be one of max, min"),
}


@pytest.mark.parametrize("case", sorted(BAD_PLUGINS))
def test_a_bad_plugin_is_one_line_naming_it(tmp_path, case):
    text, expected = BAD_PLUGINS[case]
    path = tmp_path / ("gone.py" if text is None else "notes.txt" if case == "not-python" else f"{case}.py")
    if text is not None:
        path.write_text(text if case != "not-python" else "hello")
    before = PROXIES.names()
    result = CliRunner().invoke(main, ["proxies", "--plugin", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], result.output
    assert "Traceback" not in result.output
    assert PROXIES.names() == before  # nothing half-registered


def test_a_name_two_plugins_share_is_refused(tmp_path):
    first, second = _write(tmp_path / "a.py"), _write(tmp_path / "b.py")
    result = CliRunner().invoke(main, ["proxies", "--plugin", str(first), "--plugin", str(second)])
    assert result.exit_code == 2
    assert "proxy 'mine' is already defined by plugin file" in result.output and str(first) in result.output


def test_proxies_lists_plugins_with_their_origin(tmp_path):
    result = CliRunner().invoke(main, ["proxies", "--plugin", str(EXAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    records = {r["name"]: r for r in json.loads(result.output)}
    assert records["actvar"]["origin"]["path"] == str(EXAMPLE)
    assert records["actvar"]["origin"]["sha256"] == plugins.file_sha256(EXAMPLE)
    assert records["synflow"]["origin"] == {"kind": "built-in"}
    text = CliRunner().invoke(main, ["proxies", "--plugin", str(EXAMPLE)]).output
    assert f"[plugin: {EXAMPLE}]" in next(line for line in text.splitlines() if line.startswith("actvar"))


def test_nasbench_plugins_variable_loads_a_path_list(tmp_path, monkeypatch):
    a, b = _write(tmp_path / "a.py", "mine_a"), _write(tmp_path / "b.py", "mine_b")
    monkeypatch.setenv("NASBENCH_PLUGINS", os.pathsep.join([str(a), str(b)]))
    result = CliRunner().invoke(main, ["proxies", "--json"])
    names = {r["name"] for r in json.loads(result.output)}
    assert {"mine_a", "mine_b"} <= names


# --- a proxy's value: the contract -----------------------------------------------------------------
@pytest.mark.parametrize("body, expected", [
    ("None", "returned NoneType, not a number"),
    ("torch.ones(1)", "returned Tensor, not a number (return value.item())"),
    ("'1.0'", "returned str, not a number"),
    ("undefined_name + 1", "raised NameError: name 'undefined_name' is not defined (bad.py, line 7)"),
    # the machine's failure (memory) is never stored as the proxy's
    ("(_ for _ in ()).throw(MemoryError('no memory left'))", "failed because of the machine, not the proxy"),
])
def test_a_proxy_breaking_its_contract_stops_the_run_and_stores_nothing(tmp_path, body, expected):
    plugin = tmp_path / "bad.py"
    plugin.write_text("import torch\n" + TEMPLATE.format(name="mine", body=body))
    store = tmp_path / "s.sqlite"
    result = _score(tmp_path, "--plugin", str(plugin), "--executor", "sequential", "--store", str(store),
                    "--out", str(tmp_path / "o.csv"), code=1)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "mine" in lines[0], result.output
    assert not (tmp_path / "o.csv").exists()
    assert _stored_rows(store) == 0


def _stored_rows(store: Path) -> int:
    """Scores in a store file (0 when the run never created it)."""
    import sqlite3

    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        return db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]


def test_a_proxy_raising_valueerror_is_stored_as_its_failure(tmp_path):
    plugin = tmp_path / "fails.py"
    plugin.write_text("from nasbench_cli import proxy\n\n@proxy('mine')\ndef mine(model, batch, ctx):\n"
                      "    raise ValueError('no score here')\n")
    out = tmp_path / "o.csv"
    _score(tmp_path, "--plugin", str(plugin), "--executor", "sequential", "--store", str(tmp_path / "s.sqlite"),
           "--out", str(out))
    record = json.loads(out.with_name("o.csv.provenance.json").read_text())
    assert set(record["failures"]["mine"].values()) == {"ValueError: no score here"}


# --- never a stale score: a changed proxy is recomputed, whichever way it was defined -----------------
def test_an_edited_plugin_file_or_its_helper_recomputes(tmp_path):
    helper = tmp_path / "scale_helper.py"
    helper.write_text("SCALE = 2.0\n")
    plugin = tmp_path / "mine.py"
    plugin.write_text(TEMPLATE.format(name="mine", body=PARAMS.format(scale="SCALE")).replace(
        "from nasbench_cli import proxy", "from nasbench_cli import proxy\nfrom scale_helper import SCALE"))
    store, out = str(tmp_path / "s.sqlite"), tmp_path / "o.csv"
    args = ("--plugin", str(plugin), "--executor", "sequential", "--store", store, "--out", str(out))
    _score(tmp_path, *args)
    first = _values(out)
    plugin.write_text(plugin.read_text().replace("SCALE", "SCALE * 3").replace("import SCALE * 3", "import SCALE"))
    _score(tmp_path, *args)
    assert _values(out) == [3 * v for v in first]
    helper.write_text("SCALE = 5.0\n")  # the helper beside it is part of its code
    _score(tmp_path, *args)
    assert _values(out) == [7.5 * v for v in first]
    record = json.loads(out.with_name("o.csv.provenance.json").read_text())
    assert record["plugins"][0]["proxy"] == "mine" and record["plugins"][0]["sha256"] == plugins.file_sha256(plugin)
    assert record["arguments"]["plugins"] == [str(plugin)]


def _exec_proxy(scale: float, extra: str = "", namespace_name: str = "__main__") -> None:
    """A proxy defined as a notebook cell or exec defines it: no file behind its code."""
    source = textwrap.dedent(f'''
        from nasbench_cli import proxy
        {extra}
        @proxy("cell", summary="defined in a cell")
        def cell(model, batch, ctx):
            return float(sum(p.numel() for p in model.parameters())) * {scale}
    ''')
    exec(compile(source, "<cell>", "exec"), {"__name__": namespace_name})


@pytest.mark.parametrize("namespace", ["__main__", "exec_namespace"])
def test_a_proxy_without_a_file_is_keyed_by_its_code(tmp_path, namespace):
    import nasbench_cli.api as nb

    frames = []
    for scale in (1.0, 12345.0, 1.0):
        _exec_proxy(scale, namespace_name=namespace)
        assert not proxy_code(PROXIES.get("cell")).startswith(UNSTORED_PREFIX)
        frames.append(nb.score("toy", n=3, proxies="cell", dataset="synthetic", data_dir=tmp_path / "d",
                               store=tmp_path / "s.sqlite", executor="sequential", batch_size=8, quiet=True))
    assert (frames[1]["cell"] == 12345.0 * frames[0]["cell"]).all()  # changed: recomputed
    assert frames[2]["cell"].tolist() == frames[0]["cell"].tolist()  # back: the stored values are right


def test_code_digest_sees_constants_defaults_closures_and_helpers():
    from nasbench_cli.code_digest import function_digest

    def make(k, default=1, helper_scale=2):
        def helper(x):
            return x * helper_scale

        def fn(model, batch, ctx, d=default):
            return helper(k) + d

        return fn

    base = function_digest(make(1))
    assert base == function_digest(make(1))  # deterministic
    assert len({base, function_digest(make(2)), function_digest(make(1, default=3)),
                function_digest(make(1, helper_scale=4))}) == 4


def test_a_proxy_whose_code_has_no_faithful_fingerprint_is_computed_without_the_store(tmp_path, capsys):
    import nasbench_cli.api as nb

    source = "@proxy('cell2')\ndef cell2(model, batch, ctx):\n    return float(WEIGHTS.sum())\n"
    exec(compile("from nasbench_cli import proxy\nimport torch\nWEIGHTS = torch.ones(2)\n" + source, "<c>", "exec"),
         {"__name__": "__main__"})
    assert proxy_code(PROXIES.get("cell2")).startswith(UNSTORED_PREFIX)
    store = tmp_path / "s.sqlite"
    frame = nb.score("toy", n=2, proxies="cell2", dataset="synthetic", data_dir=tmp_path / "d", store=store,
                     executor="sequential", batch_size=8, quiet=True)
    assert frame["cell2"].tolist() == [2.0, 2.0]
    note = capsys.readouterr().err
    assert "proxy 'cell2' is computed without the store" in note and "Tensor" in note
    assert _stored_rows(store) == 0


def test_an_installed_package_is_found_through_its_entry_point(tmp_path, monkeypatch):
    package = tmp_path / "nbplugpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    _write(package / "proxies.py", "pkgproxy")
    info = tmp_path / "nbplugpkg-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nbplugpkg\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[nasbench_cli.proxies]\nmine = nbplugpkg.proxies\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_installed_loaded", False)
    try:
        assert "pkgproxy" in plugins.load_plugins()
        origin = plugins.ORIGINS["pkgproxy"]
        assert origin.kind == "package" and origin.package == "nbplugpkg 0.3"
        before = proxy_code(PROXIES.get("pkgproxy"))
        (package / "proxies.py").write_text((package / "proxies.py").read_text().replace("* 1", "* 2"))
        assert proxy_code(PROXIES.get("pkgproxy")) != before  # its module's source keys it
    finally:
        for name in ("nbplugpkg", "nbplugpkg.proxies"):
            sys.modules.pop(name, None)


# --- every executor: workers load the run's plugins ----------------------------------------------------
def test_local_workers_load_the_plugin_and_match_sequential(tmp_path):
    outs = {}
    for executor in ("sequential", "local"):
        outs[executor] = tmp_path / f"{executor}.csv"
        _score(tmp_path, "--plugin", str(EXAMPLE), "--executor", executor, "--workers", "2", "--no-store",
               "--out", str(outs[executor]), proxy="actvar,naswot", n=8)
    assert outs["local"].read_text() == outs["sequential"].read_text()
    record = json.loads(outs["local"].with_name("local.csv.provenance.json").read_text())
    assert record["engine"]["executor_chosen"] == "local" and record["plugins"][0]["proxy"] == "actvar"


def test_a_worker_with_another_file_refuses_in_one_line(tmp_path):
    from nasbench_cli.engine.work import ScorerSpec, build_scorer
    from nasbench_cli.proxy_settings import ScoreSettings

    plugin = _write(tmp_path / "mine.py")
    plugins.load_plugin(plugin)
    refs = plugins.manifest([PROXIES.get("mine")])
    PROXIES.discard("mine")  # as in a fresh worker
    plugin.write_text(plugin.read_text() + "\n# edited on this node\n")
    spec = ScorerSpec(ScoreSettings("toy", "synthetic", ("mine",), 0, 8, "auto", "train"), None, "cpu", 1,
                      "toy_space", plugins=refs)
    with pytest.raises(plugins.PluginError, match=r"plugin file .*mine\.py differs on worker"):
        build_scorer(spec)
    plugin.unlink()
    with pytest.raises(plugins.PluginError, match=r"plugin file .*mine\.py is missing on worker"):
        build_scorer(spec)


def test_a_script_proxy_reaches_local_workers_by_value(tmp_path):
    """`python -c` (no file, no main guard): the default executor runs it in local workers, its
    code pickled by value; the cell run again with another body recomputes despite the store. A
    module the script imported the usual way (the issue's `import myproxy`) reaches them by path."""
    _write(tmp_path / "modproxy.py", "modproxy")
    script = textwrap.dedent(f'''
        import json, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        sys.path.insert(0, {str(tmp_path)!r})
        import toy_space
        import modproxy
        import nasbench_cli.api as nb
        from nasbench_cli import proxy
        for scale in (1.0, 3.0):
            @proxy("inline")
            def inline(model, batch, ctx):
                return float(sum(p.numel() for p in model.parameters())) * SCALE
            SCALE = scale
            frame = nb.score("toy", n=8, proxies="inline,modproxy", dataset="synthetic", data_dir={str(tmp_path / "d")!r},
                             store={str(tmp_path / "s.sqlite")!r}, workers=2, batch_size=8, quiet=True,
                             executor="sequential" if scale == 1.0 else "auto")  # auto: 2 local workers
            assert frame["modproxy"].notna().all()
            print(json.dumps(frame["inline"].tolist()))
    ''')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    first, second = (json.loads(line) for line in run.stdout.strip().splitlines()[-2:])
    assert second == [3 * v for v in first] and len(set(first)) > 1
