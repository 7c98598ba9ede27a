"""The proxy leaderboard (`make table-proxies`): metrics, the ensemble selection, the paired
bootstrap, checked inputs, and byte-identical regeneration of the committed table."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench_cli.analysis import leaderboard as lb
from nasbench_cli.errors import DataCorruptError
from nasbench_cli.workflows import leaderboard as wf

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "results" / "proxies"


def test_paired_difference_of_a_score_with_itself_is_zero():
    rng = np.random.default_rng(0)
    acc = rng.normal(size=200)
    score = acc + rng.normal(size=200)
    diff, lo, hi, share = lb.paired_tau_difference(score, score, acc, resamples=50)
    assert (diff, lo, hi, share) == (0.0, 0.0, 0.0, 0.0)


def test_paired_difference_favours_the_better_score():
    rng = np.random.default_rng(1)
    acc = rng.normal(size=300)
    good, bad = acc + 0.3 * rng.normal(size=300), acc + 3.0 * rng.normal(size=300)
    diff, lo, hi, share = lb.paired_tau_difference(good, bad, acc, resamples=100)
    assert lo > 0 and diff > 0.2 and share == 1.0


def test_ensemble_selection_is_deterministic_and_skips_noise():
    rng = np.random.default_rng(2)
    acc = rng.normal(size=400)
    cols = {"a": acc + rng.normal(size=400), "b": acc + rng.normal(size=400), "noise": rng.normal(size=400),
            "c": -(acc + rng.normal(size=400))}
    dirs = {"a": "max", "b": "max", "noise": "max", "c": "min"}
    first = lb.select_ensemble(cols, dirs, acc, seed=0)
    again = lb.select_ensemble(dict(reversed(list(cols.items()))), dirs, acc, seed=0)
    assert first.members == again.members and first.rule == again.rule
    assert "noise" not in first.members and len(first.members) >= 2
    assert first.selection_rows.sum() == 200  # the held-out half is never seen by the selection


def test_published_lookup_names_its_source():
    value, source = lb.published_for("naswot", "cifar10", "tau")
    assert value == pytest.approx(0.571) and "VKDNW" in source
    assert lb.published_for("naswot", "cifar10", "rho")[0] == pytest.approx(0.762)
    assert np.isnan(lb.published_for("params", "cifar10", "tau")[0])


def test_published_entries_are_well_formed():
    """Every published value is a correlation of a known metric, on one of the three NB201
    datasets, and names where it was read (a paper with its year, or a repository file)."""
    datasets = {"cifar10", "cifar100", "ImageNet16-120"}
    for name, entries in lb.PUBLISHED.items():
        assert entries, name
        for entry in entries:
            assert entry.metric in {"tau", "rho", "ndcg"}, (name, entry.metric)
            assert entry.values and set(entry.values) <= datasets, (name, set(entry.values))
            for value in entry.values.values():
                assert np.isfinite(value) and -1.0 <= value <= 1.0, (name, value)
            assert re.search(r"\b20\d\d\b|\.ipynb|README", entry.source), (name, entry.source)
            if entry.metric == "ndcg":
                assert all(v >= 0 for v in entry.values.values()), name  # nDCG is never negative


def test_published_from_an_abstract_says_so_and_its_protocol():
    """swap_reg's only published number is the SWAP-NAS abstract's rho on CIFAR-100 validation
    accuracy: the lookup returns it with a source that names the abstract and the split, and
    nothing for the metrics and datasets the abstract does not give."""
    value, source = lb.published_for("swap_reg", "cifar100", "rho")
    assert value == pytest.approx(0.90)
    assert "abstract" in source and "validation" in source and "2024" in source
    assert np.isnan(lb.published_for("swap_reg", "cifar100", "tau")[0])
    assert np.isnan(lb.published_for("swap_reg", "cifar10", "rho")[0])
    assert np.isnan(lb.published_for("swap", "cifar100", "rho")[0])  # the unregularised score: none read


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_bad_score_csvs_are_one_line(tmp_path):
    sample = wf.sample_indices(50)
    good = _write(tmp_path / "a.csv", pd.DataFrame({"index": sample, "a": np.arange(50.0)}))
    twice = _write(tmp_path / "b.csv", pd.DataFrame({"index": [sample[0]] * 2, "b": [1.0, 2.0]}))
    text = _write(tmp_path / "c.csv", pd.DataFrame({"index": sample[:2], "c": ["x", "y"]}))
    other = _write(tmp_path / "d.csv", pd.DataFrame({"index": [i for i in range(15625) if i not in sample][:3],
                                                     "d": [1.0, 2.0, 3.0]}))
    negative = _write(tmp_path / "e.csv", pd.DataFrame({"index": [-1], "e": [1.0]}))
    for bad, words in ((twice, "appears twice"), (text, "holds text"), (other, "none of its networks"),
                       (negative, "no NB201 index")):
        with pytest.raises(DataCorruptError, match=words):
            wf.load_scores([good, bad], sample)
    with pytest.raises(DataCorruptError, match="also in another"):
        wf.load_scores([good, good], sample)


def _toy_inputs(tmp_path: Path) -> list:
    """Two 'built-in' CSVs on the first 120 nets of the sample, scores made from the accuracy."""
    sample = wf.sample_indices()[:120]
    acc = wf.accuracies(np.array(sample))["cifar10/ori-test@200"].to_numpy()
    rng = np.random.default_rng(3)
    a = _write(tmp_path / "naswot.csv", pd.DataFrame({"index": sample, "naswot": acc + rng.normal(size=120)}))
    b = _write(tmp_path / "params.csv", pd.DataFrame({"index": sample, "params": acc + 5 * rng.normal(size=120),
                                                      "params:seconds": np.full(120, 0.25)}))
    return [a, b]


def test_table_is_byte_identical_on_rerun_and_ranks_your_proxy(tmp_path):
    inputs = _toy_inputs(tmp_path)
    sample = wf.sample_indices()[:120]
    acc = wf.accuracies(np.array(sample))["cifar10/ori-test@200"].to_numpy()
    mine = _write(tmp_path / "mine.csv", pd.DataFrame({"index": sample, "mine": acc}))
    outs = []
    for name in ("one", "two"):
        wf.write_leaderboard(inputs, tmp_path / name, extra=[mine], resamples=30)
        outs.append(tmp_path / name)
    for file in ("leaderboard.csv", "aggregate.csv", "README.md", "leaderboard.png", "leaderboard.csv.provenance.json"):
        assert filecmp.cmp(outs[0] / file, outs[1] / file, shallow=False), file
    table = pd.read_csv(outs[0] / "leaderboard.csv")
    top = table[table.target == "cifar10/ori-test@200"].sort_values("rank").iloc[0]
    assert top.proxy == "mine" and top.kind == "yours" and top.tau == pytest.approx(1.0)
    assert set(table[table.proxy == "naswot"].published_tau.dropna()) >= {0.571}
    readme = (outs[0] / "README.md").read_text()
    assert "against the best built-in" in readme and "| mine" in readme
    assert (table[table.proxy == "params"].seconds == 0.25).all()


@pytest.mark.skipif(not (COMMITTED / "leaderboard.csv").is_file(), reason="no committed leaderboard yet")
def test_committed_leaderboard_regenerates_byte_identically(tmp_path):
    inputs = sorted((COMMITTED / "scores").glob("*.csv")) + [
        ROOT / "results/kendall/nb201-cifar10-scores.csv", ROOT / "results/zerocost/nb201-cifar10-scores.csv"]
    timing = COMMITTED / "timing.csv"
    args = [sys.executable, str(ROOT / "scripts/proxy_leaderboard.py"), "table", str(tmp_path),
            *[str(p.relative_to(ROOT)) for p in sorted(inputs)]]
    if timing.is_file():
        args += ["--timing", str(timing.relative_to(ROOT))]
    args += ["--seeds", *[str(p.relative_to(ROOT)) for p in sorted((COMMITTED / "seeds").glob("*.csv"))]]
    structural = COMMITTED / "all-networks" / "structural.csv"
    if structural.is_file():
        args += ["--structural", str(structural.relative_to(ROOT))]
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    for file in ("leaderboard.csv", "aggregate.csv", "README.md", "leaderboard.csv.provenance.json", "seeds.csv",
                 "dedup.csv"):
        if (COMMITTED / file).exists() or (tmp_path / file).exists():
            assert filecmp.cmp(tmp_path / file, COMMITTED / file, shallow=False), f"{file} differs from the committed one"


def test_seed_spread_rows(tmp_path):
    sample = wf.sample_indices()[:60]
    acc = wf.accuracies(np.array(sample))["cifar10/ori-test@200"].to_numpy()
    rng = np.random.default_rng(4)
    path = _write(tmp_path / "naswot.csv", pd.DataFrame({"index": sample, "naswot@seed0": acc,
                                                         "naswot@seed1": rng.normal(size=60)}))
    rows = [r for r in wf.seed_rows([path]) if r["target"] == "cifar10/ori-test@200"]
    assert len(rows) == 1 and rows[0]["seeds"] == "0,1" and rows[0]["networks"] == 60
    taus = [float(t) for t in rows[0]["seed_taus"].split(",")]
    assert taus[0] == pytest.approx(1.0) and rows[0]["seed_tau_range"] > 0.5
    bad = _write(tmp_path / "bad.csv", pd.DataFrame({"index": sample, "naswot": acc}))
    with pytest.raises(DataCorruptError, match="no <proxy>@seed<k>"):
        wf.seed_rows([bad])


def test_seed_extract_of_a_run_of_several_proxies_keeps_the_named_ones(tmp_path):
    """One `score --seeds` run of several proxies (each network built once) gives one seeds CSV
    per proxy; the table's seed rows read each proxy's file."""
    run = _write(tmp_path / "run.csv", pd.DataFrame({
        "index": [3, 5], "arch": ["a", "b"], "zico": [1.0, 2.0], "zico:seconds": [0.1, 0.1],
        "zico@seed0": [1.0, 2.0], "zico@seed1": [1.5, 2.5], "plain@seed0": [4.0, 3.0], "plain@seed1": [4.5, 3.5]}))
    wf.extract_scores(run, tmp_path / "zico.csv", ["zico"], seeds=True)
    assert list(pd.read_csv(tmp_path / "zico.csv").columns) == ["index", "zico@seed0", "zico@seed1"]
    wf.extract_scores(run, tmp_path / "both.csv", seeds=True)
    assert list(pd.read_csv(tmp_path / "both.csv").columns) == ["index", "zico@seed0", "zico@seed1",
                                                                 "plain@seed0", "plain@seed1"]
    with pytest.raises(DataCorruptError, match="no <proxy>@seed<k> column of swap"):
        wf.extract_scores(run, tmp_path / "swap.csv", ["swap"], seeds=True)


def test_store_export_of_a_stopped_run_keeps_its_scores(tmp_path):
    export = _write(tmp_path / "export.csv", pd.DataFrame({
        "space": "nb201", "dataset": "cifar10", "seed": 0, "code": "abc", "data": "def", "index": [7, 3, 5],
        "arch": ["a", "b", "c"], "zen": [1.5, 2.5, 0.0], "seconds": [0.1, 0.2, 0.3], "error": ["", "", "boom"]}))
    out = tmp_path / "scores" / "zen.csv"
    wf.extract_store_export(export, out, "zen", "stopped for time")
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["index", "zen", "zen:seconds"] and list(frame["index"]) == [3, 5, 7]
    assert frame["zen"].isna().tolist() == [False, True, False]  # a failed score is no score
    record = json.loads(out.with_name("zen.scoring-run.provenance.json").read_text())
    assert record["networks"] == 3 and record["note"] == "stopped for time" and record["store_key"]["code"] == "abc"
    mixed = _write(tmp_path / "mixed.csv", pd.read_csv(export).assign(code=["abc", "xyz", "abc"]))
    with pytest.raises(DataCorruptError, match="store keys mixed"):
        wf.extract_store_export(mixed, tmp_path / "m.csv", "zen", "")


def test_a_proxy_scored_on_the_subset_only_gets_its_own_aggregate_search(tmp_path):
    """A costly proxy scored on the first SUBSET_N nets cannot join the whole-sample ensemble; a
    second selection on those nets lets it, measured on its held-out half against the reference."""
    sample = wf.sample_indices()[:300]
    acc = wf.accuracies(np.array(sample))["cifar10/ori-test@200"].to_numpy()
    rng = np.random.default_rng(5)
    whole = _write(tmp_path / "naswot.csv", pd.DataFrame({"index": sample, "naswot": acc + 3 * rng.normal(size=300)}))
    subset = wf.SUBSET_N
    costly = _write(tmp_path / "ntk.csv", pd.DataFrame({"index": sample[:subset],
                                                        "ntk": -(acc[:subset] + 0.5 * rng.normal(size=subset))}))
    wf.write_leaderboard([whole, costly], tmp_path / "out", resamples=30)
    aggregate = pd.read_csv(tmp_path / "out" / "aggregate.csv")
    labels = list(dict.fromkeys(aggregate.networks))
    assert labels[0] == "the 1,000-net sample" and labels[2] == f"first {subset} of the sample"
    # the whole sample's ensemble again, on the sample's deduplicated networks (VKDNW's set)
    assert re.fullmatch(r"the sample's [0-9,]+ deduplicated networks \(VKDNW's set\)", labels[1])
    first, dedup, second = (aggregate[aggregate.networks == label].iloc[0] for label in labels)
    assert dedup.ensemble == first.ensemble and 0 < dedup.n < first.n
    assert "ntk" not in first.ensemble and "ntk" in second.ensemble  # ntk is the better score on its nets
    assert second.n == subset and second.held_out_tau > first.held_out_tau
    readme = (tmp_path / "out" / "README.md").read_text()
    assert f"### On first {subset} of the sample" in readme and "held-out half" in readme


def test_figure_labels_say_n_where_a_row_has_fewer_networks():
    from nasbench_cli.analysis.leaderboard_figure import leaderboard_figure

    rows = [{"proxy": name, "target": "t", "kind": "proxy", "n": n, "tau": tau, "tau_lo": tau - 0.1,
             "tau_hi": tau + 0.1, "published_tau": float("nan"), "p@10%": 0.5}
            for name, n, tau in (("cheap", 1000, 0.6), ("costly", 200, 0.7))]
    fig = leaderboard_figure(rows, ["t"], "t")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["cheap", "costly (n=200)"]
    assert "1,000 networks unless n says otherwise" in fig._suptitle.get_text()


def test_selection_goes_through_a_losing_step_to_a_better_ensemble():
    """One strong proxy with any single weak one ranks worse than the strong one alone, with all
    four weak ones better: a selection that stops at the first losing step keeps the strong alone."""
    rng = np.random.default_rng(7)
    acc = rng.normal(size=2000)
    cols = {"strong": acc + 0.5 * rng.normal(size=2000), **{f"weak{k}": acc + rng.normal(size=2000) for k in range(4)}}
    dirs = {name: "max" for name in cols}
    mask = lb.selection_mask(2000, 0)
    alone = lb._pair_tau(cols["strong"][mask], acc[mask])
    pair = lb._pair_tau(lb.ensemble_score({n: cols[n][mask] for n in ("strong", "weak0")}, dirs, "mean-rank"), acc[mask])
    assert pair < alone  # the losing first step
    chosen = lb.select_ensemble(cols, dirs, acc, seed=0)
    assert len(chosen.members) == 5 and chosen.selection_tau > alone + 0.03


def test_cost_section_counts_subset_rows_at_the_subset_and_gives_the_verdict():
    from nasbench_cli.workflows.leaderboard_readme import COST_GOAL_HOURS, SUBSET_N, cost_section

    def row(proxy, n, seconds, kind="proxy", target="cifar10/ori-test@200"):
        return {"proxy": proxy, "n": n, "seconds": seconds, "kind": kind, "target": target}

    rows = [row("cheap", 1000, 0.36), row("costly", 170, 90.0), row("stopped", 648, 3.6),
            row("untimed", 1000, float("nan")), row("az_nas", 1000, 5.0, kind="group"),
            row("cheap", 1000, 99.0, target="cifar100/x-test@200")]
    text = "\n".join(cost_section(rows, 1000))
    cells = {parts[0]: parts[1:] for parts in ([c.strip() for c in line.strip("|").split("|")]
                                                for line in text.splitlines() if line.startswith("|"))}
    # costly: 90 s x 200 (a partial subset row, planned at the subset) = 5 h; stopped: 3.6 s x 1000 = 1 h
    assert cells["costly"] == [str(SUBSET_N), "90.00", "5.00", "82.0"]
    assert cells["stopped"] == ["1,000", "3.60", "1.00", "16.4"] and cells["cheap"][2] == "0.10"
    assert list(cells)[2:5] == ["costly", "stopped", "cheap"]  # after header and rule: costliest first
    assert "Total 6.1 core-hours: about 3.0 h on 2 cores" in text and "**not met**" in text
    assert "untimed" not in text and "az_nas" not in text
    fast = "\n".join(cost_section([row("cheap", 1000, 0.36)], 1000))
    assert "**met**" in fast and COST_GOAL_HOURS == 2.0
    assert cost_section([row("untimed", 1000, float("nan"))], 1000) == []


def test_seed_note_names_proxies_without_seeds_or_on_part_of_the_subset():
    from nasbench_cli.workflows.leaderboard_readme import SUBSET_N, seed_note

    rows = [{"proxy": name, "kind": kind} for name, kind in
            (("full", "proxy"), ("ntk", "proxy"), ("none", "proxy"), ("az_nas", "group"), ("mine", "yours"))]
    spread = [{"proxy": "full", "networks": SUBSET_N}, {"proxy": "ntk", "networks": 100},
              {"proxy": "az_nas", "networks": 50}]
    note = seed_note(rows, spread)
    assert note.startswith(f"ntk has seeds on the first 100 of the {SUBSET_N} networks only: its seeds 1 and 2")
    assert note.endswith("; none has no seeds.")
    assert "full" not in note and "az_nas" not in note and "mine" not in note  # built-ins only
    assert seed_note(rows[:1], spread) == f"Every seed run is on the {SUBSET_N} networks."


def test_speed_section_sets_idle_seconds_beside_the_issues_before():
    from nasbench_cli.workflows.leaderboard_readme import BEFORE_SECONDS, cost_section, speed_section

    def row(proxy, seconds, source, target="cifar10/ori-test@200"):
        return {"proxy": proxy, "n": 1000, "seconds": seconds, "kind": "proxy", "target": target,
                "seconds_source": source}

    rows = [row("swap", 1.95, "idle"), row("grasp", 9.0, "run"), row("ntk", 54.5, "idle"),
            row("swap", 7.0, "idle", target="cifar100/x-test@200")]
    text = "\n".join(speed_section(rows))
    cells = {parts[0]: parts[1:] for parts in ([c.strip() for c in line.strip("|").split("|")]
                                                for line in text.splitlines() if line.startswith("|"))}
    assert cells["swap"] == [f"{BEFORE_SECONDS['swap']:.2f}", "1.95", f"{1.95 / BEFORE_SECONDS['swap']:.2f}x"]
    assert cells["ntk"][2] == "0.50x" and "grasp" not in cells  # a contended run's median is no "after"
    assert list(cells)[2:] == ["ntk", "swap"]  # costliest before first
    assert speed_section([row("grasp", 9.0, "run")]) == []
    assert "2 of the 3 s/net were measured on one core with no other work" in "\n".join(cost_section(rows, 1000))


def test_a_lower_is_better_proxy_reads_higher_is_better_with_its_published_value():
    from nasbench_cli.analysis import leaderboard as lb
    from nasbench_cli.workflows.leaderboard_readme import target_table

    rng = np.random.default_rng(0)
    accuracy = rng.uniform(80, 94, 60)
    kappa = -accuracy + rng.normal(0, 2, 60)  # lower kappa, better net: a good "min" proxy
    kappa[:3] = np.inf  # a Theta that is not positive definite: the worst trainability
    row = lb.metric_row("ntk", kappa, "min", "cifar10/ori-test@200", accuracy, resamples=20, seed=0)
    assert row["tau"] > 0.5 and row["rho"] > 0.6 and row["direction"] == "min"
    assert row["published_tau"] == pytest.approx(0.42) and row["tau_minus_published"] == pytest.approx(row["tau"] - 0.42)
    flipped = lb.metric_row("ntk", -kappa, "max", "cifar10/ori-test@200", accuracy, resamples=20, seed=0)
    assert flipped["tau"] == pytest.approx(row["tau"]) and flipped["p@10%"] == row["p@10%"]
    table = target_table([{**row, "rank": 1, "kind": "proxy", "seconds": 90.0}], "cifar10/ori-test@200")
    assert "ntk (negated)" in table


def test_a_groups_seed_spread_combines_its_members_scores_of_each_seed(tmp_path):
    from nasbench_cli.proxies import PROXY_GROUPS

    group = PROXY_GROUPS.get("az_nas")
    sample = wf.sample_indices()[:80]
    acc = wf.accuracies(np.array(sample))["cifar10/ori-test@200"].to_numpy()
    rng = np.random.default_rng(6)
    columns = {f"{m}@seed{k}": acc * (1 if wf.registered_direction(m) == "max" else -1) + rng.normal(size=80) * (k + 1)
               for m in group.members for k in (0, 1)}
    # the members in two files, one of them in another row order: networks are matched by index
    first = list(group.members[:2])
    a = pd.DataFrame({"index": sample, **{c: v for c, v in columns.items() if c.split("@")[0] in first}})
    b = pd.DataFrame({"index": sample, **{c: v for c, v in columns.items() if c.split("@")[0] not in first}})
    paths = [_write(tmp_path / "a.csv", a), _write(tmp_path / "b.csv", b.iloc[::-1])]
    rows = [r for r in wf.seed_rows(paths) if r["proxy"] == "az_nas" and r["target"] == "cifar10/ori-test@200"]
    assert len(rows) == 1 and rows[0]["seeds"] == "0,1" and rows[0]["networks"] == 80
    dirs = {m: wf.registered_direction(m) for m in group.members}
    for k, tau in zip((0, 1), rows[0]["seed_taus"].split(",")):
        expected = wf._on_all_members({m: columns[f"{m}@seed{k}"] for m in group.members}, dirs, group.aggregate)
        assert float(tau) == pytest.approx(lb.kendall(expected, acc), abs=1e-4)
    # a member without seeds: no group row
    assert not [r for r in wf.seed_rows(paths[:1]) if r["proxy"] == "az_nas"]


@pytest.mark.parametrize("n", ["0", "1001", "-3"])
def test_sample_refuses_a_size_outside_the_leaderboards_sample(tmp_path, n):
    out = tmp_path / "archs.txt"
    done = subprocess.run([sys.executable, str(ROOT / "scripts/proxy_leaderboard.py"), "sample", str(out), "--n", n],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and not out.exists()
    assert done.stderr.strip().splitlines() == [f"Error: --n {n}: the leaderboard's sample has 1,000 networks; "
                                                f"give 1 to 1,000"]


def test_pruned_cell_drops_none_and_dead_edges_and_nb201_has_9445_classes():
    from nasbench_cli.spaces.nb201 import embedded_order, first_of_class, pruned_cell

    # node 1 is fed by `none` only, so its conv into node 2 carries zeros; node 2 -> 3 is `none`,
    # so node 2 reaches the output only through ... nothing: both edges at node 2 drop out
    arch = "|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|none~2|"
    assert pruned_cell(arch) == ((0, 3, "skip_connect"),)
    same = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|"
    assert pruned_cell(same) == pruned_cell(arch) and first_of_class([arch, same]) == [True, False]
    assert pruned_cell("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|") == ()
    full = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert len(pruned_cell(full)) == 6
    assert sum(first_of_class(embedded_order())) == 9445


def test_vkdnw_values_are_compared_on_the_deduplicated_networks_others_on_all():
    rng = np.random.default_rng(3)
    acc = rng.normal(size=300)
    score = acc + rng.normal(size=300)
    unique = np.zeros(300, dtype=bool)
    unique[::2] = True
    row = lb.metric_row("naswot", score, "max", "cifar10/ori-test@200", acc, 50, 0, (score[unique], acc[unique]))
    on_unique = lb.point_metrics(score[unique], acc[unique])
    assert row["n_unique"] == 150 and row["tau_unique"] == on_unique["tau"] != row["tau"]
    # naswot's first tau is VKDNW's (deduplicated networks): compared with the unique-network tau
    assert row["tau_minus_published"] == pytest.approx(on_unique["tau"] - 0.571)
    assert row["tau_published_on"] == "unique" and row["published_networks"] == "unique"
    # fisher's only rho is the zero-cost paper's, over all of NB201: compared with the whole sample's
    grasp = lb.metric_row("fisher", score, "max", "cifar10/ori-test@200", acc, 50, 0, (score[unique], acc[unique]))
    assert grasp["rho_published_on"] == "all" and grasp["rho_minus_published"] == pytest.approx(grasp["rho"] - 0.36)
    # without the deduplicated networks every difference is on all of them
    plain = lb.metric_row("naswot", score, "max", "cifar10/ori-test@200", acc, 50, 0)
    assert plain["tau_minus_published"] == pytest.approx(plain["tau"] - 0.571) and "tau_unique" not in plain


def test_dedup_check_reproduces_vkdnw_structural_rows():
    path = COMMITTED / "all-networks" / "structural.csv"
    if not path.is_file():
        pytest.skip("no committed all-networks/structural.csv")
    rows = wf.dedup_check(path)
    assert {r["proxy"] for r in rows} == set(wf.STRUCTURAL) and len(rows) == 9
    published = [r for r in rows if not np.isnan(r["published_tau"])]
    assert len(published) == 6 and all(r["n_all"] == 15625 and r["n_unique"] == 9445 for r in rows)
    for r in published:  # the deduplicated networks give VKDNW's values; all of NB201 does not
        assert abs(r["tau_unique"] - r["published_tau"]) < 0.004 and abs(r["rho_unique"] - r["published_rho"]) < 0.004
        assert r["published_tau"] - r["tau_all"] > 0.02


def test_dedup_check_refuses_a_partial_csv(tmp_path):
    part = tmp_path / "structural.csv"
    part.write_text("index,flops,params,trainable_layers\n0,1.0,1.0,1.0\n1,2.0,2.0,2.0\n")
    with pytest.raises(DataCorruptError, match="all 15,625 NB201"):
        wf.dedup_check(part)
    # as many rows as NB201 has networks, but one index beyond it: refused, not an IndexError
    shifted = tmp_path / "shifted.csv"
    shifted.write_text("index,flops,params,trainable_layers\n" + "".join(f"{i},1.0,1.0,1.0\n" for i in range(1, 15626)))
    with pytest.raises(DataCorruptError, match="all 15,625 NB201"):
        wf.dedup_check(shifted)


def test_a_seed_cell_on_fewer_networks_than_the_subset_says_on_how_many():
    from nasbench_cli.workflows.leaderboard_readme import SUBSET_N, _seeds

    row = {"seed_tau_mean": 0.5, "seed_tau_range": 0.03, "seed_networks": 50}
    assert _seeds(row) == "0.500 (0.030) ** on 50"
    assert _seeds({**row, "seed_networks": SUBSET_N, "seed_tau_range": 0.01}) == "0.500 (0.010)"
    assert _seeds({"seed_tau_mean": float("nan"), "seed_tau_range": float("nan")}) == "-"
