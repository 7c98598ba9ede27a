"""The output module: float text, atomic CSV/JSON/text writers, and the score CSV's column roles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nasbench_cli.output import (
    format_float,
    score_csv_roles,
    write_csv,
    write_csv_rows,
    write_json,
    write_text,
)
from nasbench_cli.provenance import sidecar_path, write_provenance


@pytest.mark.parametrize(
    "value, text",
    [
        (0.1, "0.1"),
        (1 / 3, "0.3333333333333333"),
        (1e300, "1e+300"),
        (-0.0, "-0.0"),
        (3, "3.0"),
        (np.float32(0.5), "0.5"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
    ],
)
def test_format_float_is_shortest_round_trip(value: float, text: str) -> None:
    assert format_float(value) == text
    if not math.isnan(value):
        assert float(text) == float(value)


def test_format_float_digits_rounds_summation_noise() -> None:
    assert format_float(0.8082759999999999, digits=12) == "0.808276"
    assert format_float(0.8082759999999999) == "0.8082759999999999"
    assert format_float(float("-inf"), digits=12) == "-inf"
    assert format_float(float("nan"), digits=12, nan="") == ""


def test_format_float_fixed_decimals() -> None:
    assert format_float(0.25, decimals=6) == "0.250000"
    assert format_float(-1e-9, decimals=6) == "0.000000"  # no signed zero
    assert format_float(-0.5, decimals=3) == "-0.500"
    assert format_float(float("nan"), decimals=6, nan="") == ""
    with pytest.raises(ValueError):
        format_float(1.0, digits=3, decimals=3)


def _leftovers(folder: Path, keep: str) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def test_write_csv_exact_bytes(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "x.csv"
    rows = [
        {"index": "0", "arch": "a,b", "s": format_float(float("-inf")), "ignored": "zzz"},
        {"index": "1", "arch": 'q"uote', "s": format_float(float("nan"))},
    ]
    assert write_csv(out, ["index", "arch", "s"], rows) == out
    assert out.read_bytes() == b'index,arch,s\n0,"a,b",-inf\n1,"q""uote",nan\n'
    assert _leftovers(out.parent, "x.csv") == []


def test_write_csv_rows_matches_dict_rows(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv_rows(a, ["x", "y"], [[1, "u"], [2, ""]])
    write_csv(b, ["x", "y"], [{"x": 1, "y": "u"}, {"x": 2, "y": ""}])
    assert a.read_bytes() == b.read_bytes() == b"x,y\n1,u\n2,\n"


def test_failure_mid_write_keeps_old_file_and_removes_temporary(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    out.write_text("old\n")

    def rows():
        yield {"a": "1"}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_csv(out, ["a"], rows())
    assert out.read_text() == "old\n"
    assert _leftovers(tmp_path, "x.csv") == []


def test_unserialisable_json_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    with pytest.raises(TypeError):
        write_json(out, {"a": object()})
    assert list(tmp_path.iterdir()) == []


def test_write_json_and_text_exact_bytes(tmp_path: Path) -> None:
    write_json(tmp_path / "x.json", {"b": [1, 2], "a": {"z": None}})
    assert (tmp_path / "x.json").read_text() == '{\n  "a": {\n    "z": null\n  },\n  "b": [\n    1,\n    2\n  ]\n}\n'
    write_text(tmp_path / "t.txt", "one\r\ntwo\n")
    assert (tmp_path / "t.txt").read_bytes() == b"one\r\ntwo\n"


def test_write_provenance_is_the_json_writer(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    path = write_provenance(out, {"k": 1})
    assert path == sidecar_path(out)
    assert json.loads(path.read_text()) == {"k": 1}
    assert path.read_text() == '{\n  "k": 1\n}\n'


def test_written_file_mode_follows_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        write_text(tmp_path / "m.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "m.txt").stat().st_mode & 0o777 == 0o644


def test_score_csv_roles() -> None:
    roles = score_csv_roles(
        {"naswot": "max", "zen": "min"}, ["cifar10/ori-test@200"], ["benchmark_params"], timing=True
    )
    assert list(roles) == ["index", "arch", "naswot", "zen", "cifar10/ori-test@200", "benchmark_params", "seconds"]
    assert roles["index"] == {"role": "id"}
    assert roles["zen"] == {"role": "score", "direction": "min"}
    assert roles["cifar10/ori-test@200"] == {"role": "accuracy"}
    assert roles["benchmark_params"] == {"role": "metadata"}
    assert roles["seconds"] == {"role": "timing"}
    assert "seconds" not in score_csv_roles({"naswot": "max"})
    with pytest.raises(ValueError):
        score_csv_roles({"naswot": "up"})


def test_an_output_link_is_written_through_and_a_pipe_link_refused(tmp_path):
    """A link to a file keeps being a link (its target gets the content); a link to a pipe, as
    /proc/self/fd/1 is under a shell pipeline, is refused instead of replaced by a plain file."""
    import os
    import subprocess
    import sys

    from nasbench_cli.errors import UsageError
    from nasbench_cli.output import check_output, write_text

    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_text(check_output(link), "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    code = ("import sys\nfrom nasbench_cli.output import check_output\n"
            "try:\n    check_output('/proc/self/fd/1')\nexcept Exception as err:\n    print(err, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=60)
    assert "is a FIFO, not a regular file" in result.stderr
