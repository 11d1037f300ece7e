"""Retrieval and pair-classification metrics against tiny cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dupbench.methods import create_method
from dupbench.methods.base import Method
from experiments.evaluation.metrics import pair_classification, pair_scores, retrieval_metrics


class Dist(Method):
    direction = "distance"


class Sim(Method):
    direction = "similarity"


class OneWay(Method):
    direction = "distance"
    symmetric = False


GROUPS = ["a", "a", "b", "b"]


def test_perfect_ranking():
    matrix = np.array([[0, 1, 5, 6], [1, 0, 5, 6], [5, 6, 0, 1], [5, 6, 1, 0]], dtype=float)
    m = retrieval_metrics(Dist(), matrix, GROUPS, ks=(1, 3))
    assert m == {"p_at_1": 1.0, "p_at_3": pytest.approx(1 / 3), "r_at_1": 1.0, "r_at_3": 1.0, "map": 1.0}


def test_worst_ranking():
    matrix = np.array([[0, 9, 1, 2], [9, 0, 1, 2], [1, 2, 0, 9], [1, 2, 9, 0]], dtype=float)
    m = retrieval_metrics(Dist(), matrix, GROUPS, ks=(1, 3))
    assert m["p_at_1"] == 0.0 and m["r_at_1"] == 0.0 and m["r_at_3"] == 1.0
    assert m["map"] == pytest.approx(1 / 3)  # the one relevant image always at rank 3


def test_map_precision_and_recall_by_hand_with_ties():
    groups = ["a", "a", "a", "b", "c"]  # queries 3 and 4 have no near-duplicate: not counted
    matrix = np.zeros((5, 5))
    matrix[0, [1, 2, 3, 4]] = [0.8, 0.6, 0.9, 0.7]  # ranks 3 1 4 2: relevant at 2 and 4, AP = (1/2 + 2/4) / 2
    matrix[1, [0, 2, 3, 4]] = [0.9, 0.8, 0.1, 0.1]  # ranks 0 2 ...: AP = 1
    matrix[2, [0, 1, 3, 4]] = 0.5  # all tied: data set order 0 1 3 4, AP = 1
    m = retrieval_metrics(Sim(), matrix, groups, ks=(1, 3))
    assert m["map"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert m["p_at_1"] == pytest.approx(2 / 3) and m["r_at_1"] == pytest.approx((0 + 0.5 + 0.5) / 3)
    assert m["p_at_3"] == pytest.approx((1 / 3 + 2 / 3 + 2 / 3) / 3) and m["r_at_3"] == pytest.approx((0.5 + 1 + 1) / 3)


def test_pair_scores_take_each_pair_once_or_both_orders():
    matrix = np.arange(16, dtype=float).reshape(4, 4)
    scores, labels = pair_scores(Dist(), matrix, GROUPS)
    assert list(scores) == [1, 2, 3, 6, 7, 11] and list(labels) == [True, False, False, False, False, True]
    assert len(pair_scores(OneWay(), matrix, GROUPS)[0]) == 12


def test_pair_classification_by_hand():
    # Distances; positives at 1 and 3, negatives at 2 and 4.
    scores, positive = np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, False])
    summary, curve = pair_classification(Dist(), scores, positive)
    assert summary["auc"] == pytest.approx(0.75)  # of 4 (pos, neg) pairs, 3 ordered right
    assert list(curve["threshold"]) == [1, 2, 3, 4]
    assert list(curve["precision"]) == pytest.approx([1, 0.5, 2 / 3, 0.5])
    assert list(curve["recall"]) == pytest.approx([0.5, 0.5, 1, 1])
    assert summary["ap"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert summary["best_f1"] == pytest.approx(0.8) and summary["threshold_at_best_f1"] == 3.0
    assert summary["threshold_at_p99"] == 1.0


def test_ties_count_half_and_cut_together():
    summary, curve = pair_classification(Sim(), np.array([0.5, 0.5]), np.array([True, False]))
    assert summary["auc"] == 0.5
    assert list(curve["threshold"]) == [0.5] and curve["precision"][0] == 0.5
    assert np.isnan(summary["threshold_at_p99"])


def test_perfect_and_worst_separation():
    perfect = pair_classification(Sim(), np.array([0.9, 0.8, 0.1]), np.array([True, True, False]))[0]
    assert perfect["auc"] == 1.0 and perfect["ap"] == 1.0 and perfect["best_f1"] == 1.0
    worst = pair_classification(Sim(), np.array([0.1, 0.2, 0.9]), np.array([True, True, False]))[0]
    assert worst["auc"] == 0.0


# Grouping at a threshold: connected components, scored pairwise against the true groups.
from experiments.evaluation.metrics import groups_at_threshold, pairwise_clustering_scores  # noqa: E402


def test_pairwise_clustering_scores_by_hand():
    # truth {0,1,2} {3,4}: 3 + 1 = 4 true pairs. predicted {0,1} {2,3,4}: 1 + 3 = 4 called pairs;
    # together in both: (0,1) and (3,4) -> precision 2/4, recall 2/4, F1 1/2.
    got = pairwise_clustering_scores([0, 0, 1, 1, 1], ["x", "x", "x", "y", "y"])
    assert got == {
        "pairwise_precision": 0.5,
        "pairwise_recall": 0.5,
        "pairwise_f1": 0.5,
        "n_clusters": 2,
        "n_groups": 2,
    }


def test_pairwise_clustering_perfect_all_in_one_and_all_apart():
    truth = ["a", "a", "b", "b"]
    assert pairwise_clustering_scores([7, 7, 3, 3], truth)["pairwise_f1"] == 1.0  # label names do not matter
    one = pairwise_clustering_scores([0, 0, 0, 0], truth)  # 6 called pairs, 2 right
    assert (one["pairwise_precision"], one["pairwise_recall"]) == (pytest.approx(1 / 3), 1.0)
    apart = pairwise_clustering_scores([0, 1, 2, 3], truth)  # nothing called: precision undefined, F1 0
    assert np.isnan(apart["pairwise_precision"]) and apart["pairwise_recall"] == 0 and apart["pairwise_f1"] == 0


def test_groups_at_threshold_link_transitively_and_respect_the_direction():
    # 0-1 close, 1-2 close, 0-2 far: one chain; 3 alone. At or below 1.0 is a duplicate (ties included).
    d = np.array([[0, 1, 9, 9], [1, 0, 1, 9], [9, 1, 0, 9], [9, 9, 9, 0]], dtype=float)
    labels = groups_at_threshold(Dist(), d, 1.0)
    assert labels[0] == labels[1] == labels[2] != labels[3]
    assert len(set(groups_at_threshold(Dist(), d, 0.5))) == 4
    s = 10 - d  # the same as similarities: at or above 9 links
    assert list(groups_at_threshold(Sim(), s, 9.0)) == list(labels)


def test_one_way_pairs_link_when_either_order_passes():
    d = np.array([[0, 1, 9], [9, 0, 9], [9, 9, 0]], dtype=float)  # only 0 -> 1 passes
    labels = groups_at_threshold(OneWay(), d, 1.0)
    assert labels[0] == labels[1] != labels[2]


def argsort_reference(method, scores, positive):
    """pair_classification as it was: two index sorts (average ranks for AUC, an order for the curve)."""
    goodness = method.goodness(scores)
    order = np.argsort(-goodness, kind="stable")
    values = goodness[np.argsort(goodness, kind="stable")]
    ranks = np.empty(len(goodness))
    sort = np.argsort(goodness, kind="stable")
    starts = np.r_[0, np.flatnonzero(values[1:] != values[:-1]) + 1]
    ends = np.r_[starts[1:], len(values)]
    ranks[sort] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    auc = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    ordered = goodness[order]
    cut = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]
    tp = np.cumsum(positive[order])[cut]
    precision, recall = tp / (cut + 1), tp / n_pos
    return auc, precision, recall, scores[order][cut]


@pytest.mark.parametrize("name", ["ahash", "cosine"])
def test_one_sort_gives_what_two_index_sorts_gave(name):
    """Whole scores (many ties) and float ones: AUC, the curve and its thresholds unchanged."""
    method = create_method(name)
    rng = np.random.default_rng(3)
    n = 20000
    positive = rng.random(n) < 0.05
    scores = rng.integers(0, 40, n).astype(float) - 15 * positive * (method.direction == "distance")
    if method.direction == "similarity":
        scores = np.round(rng.random(n) * 0.5 + 0.5 * positive * rng.random(n), 3)
    summary, curve = pair_classification(method, scores, positive)
    auc, precision, recall, thresholds = argsort_reference(method, scores, positive)
    assert summary["auc"] == pytest.approx(auc, abs=1e-12)
    np.testing.assert_allclose(curve["precision"], precision, rtol=0, atol=1e-12)
    np.testing.assert_allclose(curve["recall"], recall, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(curve["threshold"], thresholds)
    assert 0.5 < summary["auc"] < 1 and len(thresholds) > 10
