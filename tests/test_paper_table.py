"""scripts/paper_table.py: our summaries next to the published values."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "paper_table.py"


def _load():
    spec = importlib.util.spec_from_file_location("paper_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_search_rows_carry_the_published_values(tmp_path):
    summary = tmp_path / "rea.summary.csv"
    summary.write_text("column,runs,mean,std,min,max\ncifar10/ori-test@200,5,93.5,0.25,93,94\nqueries,5,120,0,120,120\n")
    out = tmp_path / "table.csv"
    assert _load().main(["search", str(out), f"REA={summary}", f"NASWOT N=10={summary}"]) == 0
    rows = list(csv.DictReader(out.open()))
    first = next(row for row in rows if row["method"] == "REA")
    assert (first["method"], first["mean"], first["paper_mean"], first["paper_std"]) == ("REA", "93.50", "93.92", "0.30")
    assert rows[0]["method"] == "NASWOT N=10" and rows[0]["paper_mean"] == "92.44"
    assert rows[1]["paper_mean"] == ""  # no published value for query counts


def test_search_rows_say_the_budget_the_runs_spent(tmp_path):
    """REA/AREA rows whose 12000 s became queries say so; a run without a budget shows none."""
    import json

    rea = tmp_path / "rea.summary.csv"
    rea.write_text("column,runs,mean,std,min,max\ncifar10/ori-test@200,5,93.5,0.25,93,94\n")
    rea.with_name(rea.name + ".provenance.json").write_text(json.dumps(
        {"budget": "120q", "budget_unit": "queries", "arguments": {"budget_text": "12000s"}}))
    rnd = tmp_path / "random.summary.csv"
    rnd.write_text(rea.read_text())
    rnd.with_name(rnd.name + ".provenance.json").write_text(json.dumps({"budget": None, "arguments": {}}))
    out = tmp_path / "table.csv"
    assert _load().main(["search", str(out), f"REA={rea}", f"Random={rnd}"]) == 0
    rows = {row["method"]: row for row in csv.DictReader(out.open())}
    assert rows["REA"]["budget"] == "120 queries (12000 s asked; no training times)"
    assert rows["Random"]["budget"] == ""


def test_kendall_uses_the_target_dataset_and_final_epoch(tmp_path):
    corr = tmp_path / "c.csv"
    corr.write_text("score,target,n,kendall_tau,kendall_lo,kendall_hi,spearman_rho,spearman_lo,spearman_hi\n"
                    "naswot,cifar100/x-test@200,300,0.65,0.6,0.7,0.83,0.8,0.86\n"
                    "naswot,cifar10-valid/x-valid@12,300,0.41,0.33,0.48,0.56,0.46,0.65\n")
    out = tmp_path / "k.csv"
    assert _load().main(["kendall", str(out), f"nb201/cifar10={corr}"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["paper_tau"] == "0.611" and rows[1]["paper_tau"] == ""


def test_bad_argument_is_refused(tmp_path):
    assert _load().main(["search", str(tmp_path / "o.csv"), "REA"]) == 2


def test_search_methods_are_in_the_papers_order_whatever_the_order_given(tmp_path):
    summary = tmp_path / "s.summary.csv"
    summary.write_text("column,runs,mean,std,min,max\ncifar10/ori-test@200,5,93.5,0.25,93,94\n")
    out = tmp_path / "table.csv"
    given = ["AREA", "NASWOT N=1000", "NASWOT N=10", "Random", "REA"]
    assert _load().main(["search", str(out), *(f"{label}={summary}" for label in given)]) == 0
    assert [row["method"] for row in csv.DictReader(out.open())] == \
        ["NASWOT N=10", "NASWOT N=1000", "Random", "REA", "AREA"]
