"""Top-of-ranking metrics (analysis/top_ranking.py): hand-computed precision at the top, nDCG,
top-1 accuracy and regret; ties, NaN and infinities; and their place in correlate's outputs."""

import math

import numpy as np
import pytest

from nasbench_cli.analysis.top_ranking import TOP_KEYS, ndcg, score_order, top_ranking_metrics


def test_keys_are_the_documented_ones():
    metrics = top_ranking_metrics(np.arange(10.0), np.arange(10.0))
    assert tuple(metrics) == TOP_KEYS == ("p@1%", "p@5%", "p@10%", "ndcg", "top1_acc", "regret")


def test_precision_top1_and_regret_by_hand():
    # network i has accuracy 90 - 10 i; the score ranks network 1 first, then 0, 2, 3, ...
    accuracy = np.array([90.0, 80, 70, 60, 50, 40, 30, 20, 10, 0])
    scores = np.array([9.0, 10, 8, 7, 6, 5, 4, 3, 2, 1])
    m = top_ranking_metrics(scores, accuracy, fractions=(0.1, 0.2, 0.25))
    assert m["p@10%"] == 0.0  # k = 1: the score's best (80) is not the best (90)
    assert m["p@20%"] == 1.0  # k = 2: {80, 90} are the two best
    assert m["p@25%"] == 1.0  # k = ceil(2.5) = 3: {80, 90, 70}
    assert m["top1_acc"] == 80.0 and m["regret"] == 10.0


def test_precision_counts_ties_with_the_kth_best_accuracy():
    accuracy = np.array([90.0, 90, 80, 70])
    scores = np.array([2.0, 4, 3, 1])  # order: 90 (row 1), 80, 90 (row 0), 70
    m = top_ranking_metrics(scores, accuracy, fractions=(0.5,))
    assert m["p@50%"] == 0.5  # k = 2; truly best: accuracy >= 90 (two rows); the score's top 2 hold one


def test_k_is_at_least_one_and_rounds_up():
    accuracy = np.array([5.0, 4, 3])
    m = top_ranking_metrics(np.array([1.0, 2, 3]), accuracy)  # the score ranks worst first
    # k = ceil(0.01 * 3) = 1 for every default fraction: its best (3) is not the best (5)
    assert m["p@1%"] == m["p@5%"] == m["p@10%"] == 0.0
    assert m["top1_acc"] == 3.0 and m["regret"] == 2.0


def test_ndcg_by_hand():
    # accuracies 2, 1, 0 -> gains 2^a - 1 = 3, 1, 0; the score puts 1 first, then 2, then 0
    accuracy = np.array([2.0, 1.0, 0.0])
    order = score_order(np.array([2.0, 3.0, 1.0]), accuracy)
    assert list(order) == [1, 0, 2]
    dcg = 1 / 1 + 3 / math.log2(3) + 0 / 2
    ideal = 3 / 1 + 1 / math.log2(3) + 0 / 2
    assert ndcg(order, accuracy) == pytest.approx(dcg / ideal, rel=1e-12)
    assert ndcg(order, accuracy, top=1) == pytest.approx(1 / 3, rel=1e-12)  # cut-off P = 1
    assert ndcg(np.array([0, 1, 2]), accuracy) == pytest.approx(1.0)  # the ideal order


def test_ndcg_with_percent_accuracies_does_not_overflow_and_matches_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(10, 94, size=300)
    scores = accuracy + rng.normal(0, 10, size=300)  # no ties
    ours = top_ranking_metrics(scores, accuracy, ndcg_top=300)["ndcg"]
    # scikit-learn's ndcg takes the gain itself as relevance; it is linear in 2^a - 1, so scaling
    # by 2^-94 (to stay in range) leaves the ratio unchanged
    gains = np.exp2(accuracy - 94.0) - np.exp2(-94.0)
    theirs = sklearn_metrics.ndcg_score(gains[None, :], scores[None, :], k=300)
    assert 0.0 < ours < 1.0 and ours == pytest.approx(theirs, rel=1e-9)


def test_ndcg_cut_off_is_1000_networks():
    n = 1500
    accuracy = np.linspace(0, 50, n)
    scores = accuracy.copy()
    scores[-1] = -1.0  # the best network ranked last: outside the first 1000, it earns nothing
    order = score_order(scores, accuracy)
    gains = np.exp2(accuracy - 50) - np.exp2(-50.0)
    discount = 1 / np.log2(np.arange(2, 1002))
    expected = gains[order[:1000]] @ discount / (np.sort(gains)[::-1][:1000] @ discount)
    assert top_ranking_metrics(scores, accuracy, ndcg_top=1000)["ndcg"] == pytest.approx(expected, rel=1e-12)


def test_ndcg_default_cut_off_is_vkdnws_share_of_the_ranking():
    """P = 1000 on the 15,625 NB201 nets; the same share (ceil(n * 0.064)) of a smaller sample."""
    rng = np.random.default_rng(5)
    for n, cut in ((15625, 1000), (1000, 64), (10, 1)):
        accuracy = rng.uniform(10, 94, size=n)
        scores = accuracy + rng.normal(0, 5, size=n)
        assert top_ranking_metrics(scores, accuracy)["ndcg"] == pytest.approx(
            top_ranking_metrics(scores, accuracy, ndcg_top=cut)["ndcg"], rel=1e-12)


def test_ties_rank_the_lower_accuracy_first_whatever_the_row_order():
    scores, accuracy = np.array([1.0, 1.0, 0.0]), np.array([90.0, 80.0, 70.0])
    forward = top_ranking_metrics(scores, accuracy)
    backward = top_ranking_metrics(scores[::-1], accuracy[::-1])
    assert forward == backward
    assert forward["top1_acc"] == 80.0 and forward["regret"] == 10.0
    constant = top_ranking_metrics(np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0]))
    assert constant["top1_acc"] == 1.0 and constant["p@10%"] == 0.0  # a constant score earns nothing


def test_nan_rows_are_dropped_and_infinities_rank_last_or_first():
    m = top_ranking_metrics(np.array([np.nan, 1.0, 2.0]), np.array([100.0, 50.0, 60.0]))
    assert m["top1_acc"] == 60.0 and m["regret"] == 0.0  # the NaN-score network (100) is left out
    m = top_ranking_metrics(np.array([-np.inf, 0.0]), np.array([90.0, 10.0]))
    assert m["top1_acc"] == 10.0 and m["regret"] == 80.0
    m = top_ranking_metrics(np.array([np.inf, 0.0]), np.array([10.0, 90.0]))
    assert m["top1_acc"] == 10.0
    m = top_ranking_metrics(np.array([1.0, 2.0]), np.array([np.nan, 5.0]))
    assert m["top1_acc"] == 5.0 and m["p@1%"] == 1.0
    empty = top_ranking_metrics(np.array([np.nan]), np.array([1.0]))
    assert all(math.isnan(v) for v in empty.values())


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="one length"):
        top_ranking_metrics(np.zeros(3), np.zeros(4))


def test_precision_interval_is_the_percentile_interval_of_the_same_draws_scored_one_by_one():
    from nasbench_cli.analysis.top_ranking import precision_at, precision_interval, score_order

    rng = np.random.default_rng(3)
    accuracy = rng.normal(90.0, 3.0, 300)
    scores = np.round(accuracy + rng.normal(0.0, 3.0, 300))  # rounding makes ties in the score
    low, high = precision_interval(scores, accuracy, 0.10, 200, seed=7)
    draws = np.random.default_rng(7).integers(0, 300, size=(200, 300))
    one_by_one = [precision_at(score_order(scores[d], accuracy[d]), accuracy[d], 30) for d in draws]
    assert (low, high) == tuple(np.percentile(one_by_one, [2.5, 97.5]))
    assert low < high
    assert precision_interval(accuracy, accuracy, 0.10, 50, seed=0) == (1.0, 1.0)  # a perfect score
    with_nan = np.append(scores, np.nan)
    assert precision_interval(with_nan, np.append(accuracy, 80.0), 0.10, 200, seed=7) == (low, high)
    assert all(np.isnan(v) for v in precision_interval(scores[:2], accuracy[:2], 0.10, 200, seed=7))
