"""The store key follows the data a score saw and the code that computed it (issue: fidelity)."""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.proxies import PROXIES
from nasbench_cli.proxies.base import ProxySpec
from nasbench_cli.scoring import ScoreSettings, code_fingerprint, score_context
from nasbench_cli.store import ScoreStore


def _write_batch(path: Path, seed: int, n: int = 96) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(seed).integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
    path.write_bytes(pickle.dumps({b"data": images, b"labels": [i % 10 for i in range(n)]}, protocol=2))


def _score(data: Path, store: Path, out: Path):
    return CliRunner().invoke(main, ["score", "--space", "nb201", "--proxy", "naswot,params", "--archs", "-",
                                     "--batch-size", "16", "--data-dir", str(data), "--store", str(store),
                                     "--out", str(out), "--executor", "sequential"], input="0\n11\n")


def test_scores_of_two_batch_files_are_not_reused_when_a_third_appears(tmp_path):
    data, store = tmp_path / "data", tmp_path / "s.sqlite"
    for k in (1, 2):
        _write_batch(data / "cifar-10-batches-py" / f"data_batch_{k}", k)
    first = _score(data, store, tmp_path / "a.csv")
    assert first.exit_code == 0, first.output
    assert "(0 from the store)" in first.output
    again = _score(data, store, tmp_path / "b.csv")
    assert "(2 from the store)" in again.output  # same data: every score reused
    _write_batch(data / "cifar-10-batches-py" / "data_batch_3", 3)
    third = _score(data, store, tmp_path / "c.csv")
    assert third.exit_code == 0, third.output
    assert "(0 from the store)" in third.output  # naswot's batch changed: recomputed
    with ScoreStore(store) as opened:
        contexts = {c.proxy: [] for c, _ in opened.contexts()}
        for context, _ in opened.contexts():
            contexts[context.proxy].append(context.data)
    assert len(set(contexts["naswot"])) == 2 and all(contexts["naswot"])
    assert contexts["params"] == [""]  # a data-free proxy keeps one key
    assert (tmp_path / "a.csv").read_text().splitlines()[1].split(",")[3] == \
        (tmp_path / "c.csv").read_text().splitlines()[1].split(",")[3]  # params did not change


def test_a_changed_proxy_body_gets_a_new_key():
    spec = PROXIES.get("grad_norm")
    settings = ScoreSettings("nb201", "cifar10", ("grad_norm",), 0, None, "auto", "train")
    before = score_context(spec, settings, "abc")
    module = types.ModuleType("nasbench_test_changed_proxy")
    module.__file__ = None
    source = "def grad_norm(model, batch, ctx):\n    return 2.0 * 1\n"
    exec(compile(source, "<changed>", "exec"), module.__dict__)
    changed = ProxySpec(**{**spec.__dict__, "fn": module.grad_norm})
    sys.modules[module.__name__] = module
    try:
        import inspect

        original = inspect.getsource
        inspect.getsource = lambda obj: source if obj is module else original(obj)
        code_fingerprint.cache_clear()
        after = score_context(changed, settings, "abc")
    finally:
        inspect.getsource = original
        code_fingerprint.cache_clear()
        del sys.modules[module.__name__]
    assert before.code and after.code and before.code != after.code
    assert before.data == after.data == "abc"
    assert before != after
    assert score_context(spec, settings, "abd") != before  # other images, other key


def test_an_older_store_is_migrated_and_its_scores_not_served_for_fingerprinted_keys(tmp_path):
    import sqlite3

    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        CREATE TABLE contexts (id INTEGER PRIMARY KEY, space TEXT NOT NULL, dataset TEXT NOT NULL,
            proxy TEXT NOT NULL, batch_size INTEGER NOT NULL, seed INTEGER NOT NULL, head TEXT NOT NULL,
            split TEXT NOT NULL, code_version TEXT NOT NULL, proxy_version TEXT NOT NULL,
            UNIQUE (space, dataset, proxy, batch_size, seed, head, split, code_version, proxy_version));
        CREATE TABLE scores (context INTEGER NOT NULL REFERENCES contexts(id), arch_index INTEGER NOT NULL,
            arch TEXT, value REAL, kind INTEGER NOT NULL, seconds REAL, error TEXT, device TEXT,
            created TEXT NOT NULL, PRIMARY KEY (context, arch_index));
        INSERT INTO contexts VALUES (1, 'nb201', 'cifar10', 'naswot', 128, 0, 'one', 'train', '0.1.0', '1');
        INSERT INTO scores VALUES (1, 0, NULL, 5.0, 0, 1.0, NULL, 'cpu', 'now');
    """)
    db.close()
    with ScoreStore(path) as store:
        (context, count), = store.contexts()
        assert count == 1 and context.data == "" and context.code == ""
        settings = ScoreSettings("nb201", "cifar10", ("naswot",), 0, None, "auto", "train")
        fresh = score_context(PROXIES.get("naswot"), settings, "f00d")
        assert store.get_many(fresh) == {}


def test_a_changed_helper_changes_the_key_of_every_proxy_that_imports_it(monkeypatch):
    import inspect

    settings = ScoreSettings("nb201", "cifar10", ("grad_norm", "naswot"), 0, None, "auto", "train")
    before = {name: score_context(PROXIES.get(name), settings, "abc").code for name in ("grad_norm", "naswot")}
    helpers = sys.modules["nasbench_cli.proxies._layers"]
    original = inspect.getsource
    monkeypatch.setattr(inspect, "getsource",
                        lambda obj: original(obj) + "\n# changed\n" if obj is helpers else original(obj))
    code_fingerprint.cache_clear()
    try:
        after = {name: score_context(PROXIES.get(name), settings, "abc").code for name in ("grad_norm", "naswot")}
    finally:
        monkeypatch.undo()
        code_fingerprint.cache_clear()
    assert after["grad_norm"] and after["grad_norm"] != before["grad_norm"]  # grad_norm uses _layers
    assert after["naswot"] == before["naswot"]  # naswot does not: its stored scores stay valid


def test_project_imports_finds_helpers_at_any_depth_and_skips_the_framework():
    from nasbench_cli.scoring import project_imports

    source = ("from nasbench_cli.proxies.base import proxy\nfrom nasbench_cli.proxies._layers import layer_weights\n"
              "import numpy\ndef f():\n    from nasbench_cli.analysis.derived import log_rank_sum\n")
    assert project_imports(source) == ["nasbench_cli.analysis.derived", "nasbench_cli.proxies._layers"]
