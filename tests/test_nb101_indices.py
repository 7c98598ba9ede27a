"""NB101 indices mean one thing whether or not the converted table is present (issue 24, item 8).

An index below 423,624 is a row of the converted table, i.e. a module in the order of the official
tfrecord (sorted by module hash); without the table such an index is refused with a line naming
the table and `nasbench data convert`. Architectures given as strings, and the spec indices a
run without the table prints (423,624 + spec code), name the same architecture before and after
the conversion, and the score store never serves one architecture's score for another.

The tfrecords are written in the official format by the helpers of test_nb101_reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.errors import InvalidArchError
from nasbench_cli.nb101.spec import ModelSpec
from nasbench_cli.spaces.nb101 import NB101Space
from nb101_cells import README_MATRIX, README_OPS
from test_nb101_reader import _metrics_bytes, _payload, _write

#: the official number of unique modules: every index below it is a row of the official table
MODULES = 423_624
#: the cell whose spec code used to be index 32 (input wired straight to the output)
STRAIGHT = "0100|input,output"


def _specs(n: int = 40) -> List[ModelSpec]:
    """The README cell, the straight cell and ``n`` more distinct valid specs (seeded)."""
    found = {}
    for spec in (ModelSpec(README_MATRIX, README_OPS), ModelSpec.from_arch_str(STRAIGHT)):
        found[spec.hash] = spec
    rng = np.random.default_rng(7)
    while len(found) < n + 2:
        matrix = np.triu(rng.integers(0, 2, (7, 7)), 1)
        ops = ["input"] + [("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")[k] for k in rng.integers(3, size=5)]
        try:
            spec = ModelSpec(matrix, ops + ["output"])
        except InvalidArchError:
            continue
        found.setdefault(spec.hash, spec)
    return list(found.values())


def _tfrecord(path: Path, specs: List[ModelSpec]) -> Path:
    """An official-format tfrecord of ``specs`` (3 repeats at 108 epochs each), written in the
    reverse of module-hash order so that file order and hash order differ."""
    ordered = sorted(specs, key=lambda s: s.hash, reverse=True)
    payloads = [_payload(s, 108, _metrics_bytes(1000 + n, (10.0, 0.5, 0.5 + n / 1000)))
                for n, s in enumerate(ordered) for _ in range(3)]
    _write(path, payloads)
    return path


def _convert(src: Path, data_dir: Path) -> None:
    """`nasbench data convert` of ``src`` into ``data_dir``."""
    result = CliRunner().invoke(main, ["data", "convert", str(src), "--data-dir", str(data_dir), "--quiet"])
    assert result.exit_code == 0, result.output


def _score(data_dir: Path, archs: str, out: Path, store: Optional[Path] = None, extra: Sequence[str] = ()):
    """`nasbench score` of the params proxy on ``archs`` (stdin lines; "" for none) into ``out``."""
    args = ["score", "--space", "nb101", "--dataset", "synthetic", "--proxy", "params", "--data-dir", str(data_dir),
            "--out", str(out), "--executor", "sequential", "--quiet", "--no-timing", *extra]
    args += ["--store", str(store)] if store is not None else ["--no-store"]
    if archs:
        args += ["--archs", "-"]
    return CliRunner().invoke(main, args, input=archs)


# ---------------------------------------------------------------- without the table


def test_a_table_index_without_the_table_is_refused_naming_the_table_and_the_command(tmp_path):
    space = NB101Space(tmp_path)
    for text in ("0", "32", str(MODULES - 1)):
        with pytest.raises(InvalidArchError) as err:
            space.parse_ref(text)
        message = str(err.value)
        assert "\n" not in message and str(tmp_path / "nb101" / "ground_truth.csv") in message
        assert "nasbench data convert" in message and "nasbench_only108.tfrecord" in message
    with pytest.raises(InvalidArchError, match="ground_truth.csv"):
        space.arch_str(32)  # --all hands indices over without parse_ref: refused there too
    # the command line: one line, exit 2, no traceback; an architecture string still works
    result = _score(tmp_path, "32\n", tmp_path / "a.csv")
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "nasbench data convert" in result.output
    result = _score(tmp_path, STRAIGHT + "\n", tmp_path / "b.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "b.csv")["arch"].tolist() == [STRAIGHT]


# ---------------------------------------------------------------- one meaning always


def test_every_index_names_the_same_architecture_before_and_after_convert(tmp_path):
    bare = NB101Space(tmp_path / "bare")
    rng = np.random.default_rng(0)
    sampled = bare.sample(rng, 12)
    assert all(i >= MODULES for i in sampled)  # specs, never numbers a table row could take
    given = [bare.parse_ref(STRAIGHT), bare.parse_ref(ModelSpec(README_MATRIX, README_OPS).arch_str)]
    numbers = sampled + given + [bare.mutate(i, rng) for i in sampled[:4]]
    specs = {bare.spec(i).hash: bare.spec(i) for i in numbers}
    specs.update({s.hash: s for s in _specs()})
    data = tmp_path / "data"
    _convert(_tfrecord(tmp_path / "nasbench_only108.tfrecord", list(specs.values())), data)
    table = NB101Space(data)
    assert len(table) == len(specs) and "official" in table.index_order
    # rows follow the module hash (the official files' order), not this file's record order
    assert [table.hash_of(r) for r in range(len(table))] == sorted(specs)
    for number in numbers:
        row = table.parse_ref(str(number))
        assert row < len(table) and table.hash_of(row) == bare.spec(number).hash
    assert table.parse_ref(STRAIGHT) == table.parse_ref(str(given[0]))
    # and with the table, the rows are what the bare space refuses
    for row in range(len(table)):
        with pytest.raises(InvalidArchError, match="data convert"):
            bare.parse_ref(str(row))


def test_sampled_indices_without_the_table_are_reproducible_and_keep_their_meaning(tmp_path):
    data = tmp_path / "data"
    first = _score(data, "", tmp_path / "a.csv", extra=["--n", "6", "--seed", "3"])
    again = _score(data, "", tmp_path / "b.csv", extra=["--n", "6", "--seed", "3"])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()  # same seed, same bytes
    before = pd.read_csv(tmp_path / "a.csv")
    assert (before["index"] >= MODULES).all()
    specs = {s.hash: s for s in _specs()}
    specs.update({ModelSpec.from_arch_str(a).hash: ModelSpec.from_arch_str(a) for a in before["arch"]})
    _convert(_tfrecord(tmp_path / "nasbench_only108.tfrecord", list(specs.values())), data)
    # the printed indices, fed back after the conversion, are the same architectures
    result = _score(data, "\n".join(map(str, before["index"])) + "\n", tmp_path / "c.csv")
    assert result.exit_code == 0, result.output
    after = pd.read_csv(tmp_path / "c.csv")
    hashes = [ModelSpec.from_arch_str(a).hash for a in after["arch"]]
    assert hashes == [ModelSpec.from_arch_str(a).hash for a in before["arch"]]
    assert after["params"].tolist() == before["params"].tolist()


# ---------------------------------------------------------------- the score store


def test_a_stored_score_is_never_served_for_another_architecture_after_convert(tmp_path):
    data, store = tmp_path / "data", tmp_path / "scores.sqlite"
    result = _score(data, STRAIGHT + "\n", tmp_path / "a.csv", store)
    assert result.exit_code == 0, result.output
    straight = pd.read_csv(tmp_path / "a.csv").iloc[0]
    specs = _specs()
    _convert(_tfrecord(tmp_path / "nasbench_only108.tfrecord", specs), data)
    table = NB101Space(data)
    assert len(table) > 32 and table.arch_str(32) != STRAIGHT
    # row 32 is another architecture: its score is computed for it, never taken from the store
    result = _score(data, "32\n", tmp_path / "b.csv", store)
    assert result.exit_code == 0, result.output
    row = pd.read_csv(tmp_path / "b.csv").iloc[0]
    fresh = _score(data, "32\n", tmp_path / "c.csv")
    assert fresh.exit_code == 0, fresh.output
    assert row["arch"] == table.arch_str(32) and row["params"] == pd.read_csv(tmp_path / "c.csv").iloc[0]["params"]
    assert row["params"] != straight["params"]
    # the straight cell, by string or by the index printed before the conversion, is itself
    for ref in (STRAIGHT, str(straight["index"])):
        result = _score(data, ref + "\n", tmp_path / "d.csv", store)
        assert result.exit_code == 0, result.output
        found = pd.read_csv(tmp_path / "d.csv").iloc[0]
        assert ModelSpec.from_arch_str(found["arch"]).hash == ModelSpec.from_arch_str(STRAIGHT).hash
        assert found["params"] == straight["params"]


# ---------------------------------------------------------------- what the listing says


def test_nasbench_spaces_says_what_an_nb101_index_is():
    result = CliRunner().invoke(main, ["spaces"])
    assert result.exit_code == 0, result.output
    line = next(text for text in result.output.splitlines() if text.startswith("nb101 "))
    assert "423,624" in line and "index" in line and "data convert" in line


def test_all_without_the_table_is_refused_not_enumerated(tmp_path):
    """Without the table there is no list of NB101's modules: --all is one line naming the table,
    never half a billion spec codes."""
    from click.testing import CliRunner

    from nasbench_cli.cli import main

    result = CliRunner().invoke(main, ["score", "--space", "nb101", "--dataset", "synthetic", "--all", "--no-store",
                                       "--quiet", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--all needs the NAS-Bench-101 table" in result.output and str(tmp_path / "nb101") in result.output
