"""`nasbench report`: every CSV of record under a results folder on one markdown page, with figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.workflows.report import classify, find_csvs

TARGET = "cifar10/ori-test@200"
PAPER_SEARCH = """method,column,runs,mean,std,paper_mean,paper_std,source
NASWOT N=10,cifar10/ori-test@200,10,92.00,1.00,92.44,1.13,results/nb201/naswot-n10.summary.csv
NASWOT N=10,queries,10,0.00,0.00,,,results/nb201/naswot-n10.summary.csv
AREA,cifar10/ori-test@200,10,94.00,0.30,,,results/nb201/area.summary.csv
Random,cifar10/ori-test@200,500,70.00,14.00,86.61,13.46,results/nb201/random.summary.csv
"""
PAPER_KENDALL = """space/dataset,score,target,n,kendall_tau,kendall_lo,kendall_hi,spearman_rho,paper_tau,source
nb201/cifar10,naswot,cifar10/ori-test@200,300,0.600000,0.550000,0.650000,0.790000,0.574,results/k.csv
nb201/cifar10,naswot,cifar100/x-test@200,300,0.500000,0.450000,0.550000,0.690000,0.611,results/k.csv
nb201/cifar10,naswot,cifar10/ori-test@12,300,0.400000,0.350000,0.450000,0.590000,,results/k.csv
"""
CORRELATION = (
    "score,target,n,kendall_tau,kendall_lo,kendall_hi,spearman_rho,spearman_lo,spearman_hi,pair_agreement,direction\n"
    f"naswot,{TARGET},6,0.466667,0.100000,0.800000,0.600000,0.200000,0.900000,0.733333,max\n")


@pytest.fixture
def results(tmp_path) -> Path:
    root = tmp_path / "results"
    (root / "nb201").mkdir(parents=True)
    (root / "kendall").mkdir()
    (root / "table-nb201.csv").write_text(PAPER_SEARCH)
    (root / "kendall.csv").write_text(PAPER_KENDALL)
    (root / "kendall" / "nb201-cifar10.correlation.csv").write_text(CORRELATION)
    pd.DataFrame({"index": range(6), "arch": list("abcdef"), "naswot": [1.0, 2.0, 3.0, 5.0, 4.0, 6.0],
                  TARGET: [80.0, 81.0, 85.0, 90.0, 88.0, 91.0]}).to_csv(root / "kendall" / "nb201-cifar10.csv",
                                                                       index=False)
    for name, algo, accuracies, queries in (("random", "random", [85.0, 90.0, 70.0], 0),
                                            ("rea", "rea", [94.0, 93.0, 93.5], 150)):
        pd.DataFrame({"run": range(3), "seed": range(3), "index": range(3), "arch": ["a"] * 3,
                      "score": [""] * 3, TARGET: accuracies, "queries": [queries] * 3,
                      "simulated_seconds": [0.0] * 3, "scored": [0] * 3}).to_csv(root / "nb201" / f"{name}.csv",
                                                                                  index=False)
        (root / "nb201" / f"{name}.csv.provenance.json").write_text(json.dumps({"algorithm": {"name": algo}}))
        (root / "nb201" / f"{name}.summary.csv").write_text("column,runs,mean,std,min,max\nqueries,3,0,0,0,0\n")
    (root / "notes.csv").write_text("a,b\n1,2\n")
    (root / ".hidden.csv").write_text("a\n1\n")
    return root


def _report(args):
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exit_code == 0, result.output
    return result


def test_csvs_are_found_and_classified(results):
    found = find_csvs(results)
    assert found.paper_search == [Path("table-nb201.csv")] and found.paper_kendall == [Path("kendall.csv")]
    assert found.correlations == [Path("kendall/nb201-cifar10.correlation.csv")]
    assert found.scores == [Path("kendall/nb201-cifar10.csv")]
    assert found.search_runs == [Path("nb201/random.csv"), Path("nb201/rea.csv")]
    assert len(found.summaries) == 2
    assert [p for p, _ in found.other] == [Path("notes.csv")]  # hidden files skipped
    assert classify(results / "notes.csv")[0] == "other"


def test_report_page_holds_every_table_with_published_values_and_figures(results):
    out = results / "REPORT.md"
    _report([str(results), "--out", str(out)])
    page = out.read_text()
    # paper tables: ours, the paper's, the difference and the within mark (hand-computed)
    rows = {line for line in page.splitlines() if line.startswith("|")}
    assert any("NASWOT N=10" in r and "| 92.00 " in r and "| 92.44 " in r and "| -0.44 " in r and "| yes " in r
               for r in rows)
    assert any("Random" in r and "| -16.61 " in r and "| no " in r for r in rows)  # 16.61 > 13.46
    # every method is shown: AREA (no published test accuracy) with a dash in the published columns
    area = next(line for line in page.splitlines() if line.startswith("| AREA "))
    assert "| 94.00 " in area and area.count("| \u2014 ") == 4, area  # paper mean, std, diff, within std
    # in the NASWOT paper's order (NASWOT by N, Random, REA, AREA), not the CSV's
    table = page[page.index("### table-nb201.csv"):page.index("### kendall.csv")]
    methods = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert methods[1:4] == ["NASWOT N=10", "Random", "AREA"], methods
    # the measures the paper does not publish are shown too, after the others, without empty paper columns
    assert "No published value for queries:" in table
    queries = next(line for line in table.splitlines() if line.startswith("| NASWOT N=10") and "| queries " in line)
    assert "\u2014" not in queries and "in the CSV only" not in page
    assert "No published value for cifar10/ori-test@12:" in page  # the Kendall table's other target
    assert any("| 0.600000 " in r and "| +0.026 " in r and r.rstrip("| ").endswith("yes") for r in rows)
    assert any("| 0.500000 " in r and "| -0.111 " in r and r.rstrip("| ").endswith("no") for r in rows)
    # the correlation table, the score table and the searches
    assert any("0.467 [0.100, 0.800]" in r and "0.600 [0.200, 0.900]" in r and "0.733" in r for r in rows)
    assert any("| 6 " in r and "| naswot " in r and TARGET in r for r in rows)
    assert any("| rea " in r and "| 93.50 " in r and "| 0.41 " in r and "| 150.0 " in r for r in rows)
    # the search summary: methods in the paper's order, with what each spent on scoring
    searches = page[page.index("## Searches"):]
    assert searches.index("| random ") < searches.index("| rea ")
    assert "| scoring s (mean)" in searches
    assert "- `notes.csv`: columns not of a known table: a, b" in page
    for header in ("## Paper tables", "## Correlations", "## Score tables", "## Searches", "## Not recognised"):
        assert header in page
    # every figure is linked and written, and nothing else is
    links = [line.split("](")[1].rstrip(")") for line in page.splitlines() if line.startswith("![")]
    assert sorted(links) == ["REPORT-figures/kendall-nb201-cifar10.correlation.heatmap.png",
                             "REPORT-figures/kendall-nb201-cifar10.scatter.png", "REPORT-figures/nb201.search.png"]
    for link in links:
        assert (results / link).read_bytes().startswith(b"\x89PNG")
    # the same results give the same page and the same figures
    first = {link: (results / link).read_bytes() for link in links}
    _report([str(results), "--out", str(out)])
    assert out.read_text() == page
    assert all((results / link).read_bytes() == data for link, data in first.items())


def test_report_to_stdout_and_without_figures(results, tmp_path):
    stdout = _report([str(results), "--out", "-", "--no-figures"]).stdout
    assert stdout.startswith(f"# nasbench report: {results.as_posix()}\n") and "![" not in stdout
    assert not (results / "REPORT-figures").exists() and not Path("-").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    _report([str(empty), "--out", str(empty / "R.md")])
    assert "Nothing to report" in (empty / "R.md").read_text()


def test_without_tabulate_the_report_says_how_to_install_it(results, monkeypatch):
    monkeypatch.setitem(sys.modules, "tabulate", None)
    result = CliRunner().invoke(main, ["report", str(results), "--no-figures"])
    assert result.exit_code == 2 and "pip install 'nasbench-cli[plot]'" in result.output
    assert not (results / "REPORT.md").exists()


def test_bad_report_arguments_are_one_line_errors(results, tmp_path):
    for args, message in (([str(results), "--out", str(tmp_path / "r.txt")], "name it .md"),
                          ([str(tmp_path / "missing")], "does not exist")):
        result = CliRunner().invoke(main, ["report", *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_report_arguments_that_name_no_writable_file_fail_before_drawing(results, tmp_path):
    import os

    for args, message in ((["--out", ""], "is not a file name"), (["--out", f"{tmp_path}/pages/"], "directory"),
                          (["--out", str(tmp_path / "r.md"), "--figures", "/proc/nasbench-figures"], "--figures")):
        result = CliRunner().invoke(main, ["report", str(results), *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, args
    assert not (results / "REPORT.md").exists() and not os.path.exists("/proc/nasbench-figures")


def test_a_damaged_csv_is_a_note_on_the_page_not_the_end_of_the_report(results, tmp_path):
    bad = results / "bad.correlation.csv"
    bad.write_text("score,target,n,kendall_tau,kendall_lo,kendall_hi,spearman_rho,spearman_lo,spearman_hi,"
                   "pair_agreement,direction\nnaswot,cifar10/ori-test@200,10,abc,0.1,0.2,0.3,0.1,0.2,0.5,max\n")
    page = tmp_path / "r.md"
    result = CliRunner().invoke(main, ["report", str(results), "--out", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "bad.correlation.heatmap.png not drawn" in text and "holds a non-number: 'abc'" in text
    assert "Traceback" not in result.output


def test_predictor_runs_get_a_section_with_their_table_and_figure(tmp_path):
    import shutil

    committed = Path(__file__).resolve().parents[1] / "results" / "predict"
    folder = tmp_path / "results" / "predict"
    folder.mkdir(parents=True)
    for name in ("nb201-cifar10-naswot.csv", "nb201-cifar10-naswot.summary.csv"):
        shutil.copy(committed / name, folder / name)
    page = tmp_path / "results" / "R.md"
    result = CliRunner().invoke(main, ["report", str(tmp_path / "results"), "--out", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "## Accuracy predictors" in text and "| onehot+naswot" in text.replace("  ", " ")
    assert "0.754 [0.750, 0.758]" in text  # tau at 500 nets, from the summary
    assert (tmp_path / "results" / "R-figures" / "predict-nb201-cifar10-naswot.predict.png").is_file()


def test_fifos_among_the_inputs_never_block(results, tmp_path):
    import os

    os.mkfifo(results / "pipe.csv")
    page = tmp_path / "r.md"
    result = CliRunner().invoke(main, ["report", str(results), "--out", str(page), "--no-figures"])
    assert result.exit_code == 0 and "`pipe.csv`: not a regular file" in page.read_text()
    result = CliRunner().invoke(main, ["plot", "heatmap", str(results / "pipe.csv")])
    assert result.exit_code == 1 and "not a regular file" in result.output
