"""The article's protocol on tiny score matrices whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dupbench.methods.base import Method
from experiments.evaluation.protocol import all_queries_recall, article_accuracy, article_pairs, top_k


class Dist(Method):
    direction = "distance"


class Sim(Method):
    direction = "similarity"


GROUPS = ["a", "a", "a", "a", "b", "b", "b", "b"]
REFS = [0, 4]


def test_article_pairs_are_every_image_against_every_reference_but_itself():
    pairs = article_pairs(8, REFS)
    assert len(pairs) == 8 * 2 - 2
    assert (0, 0) not in pairs and (4, 4) not in pairs and (1, 0) in pairs and (0, 4) in pairs
    assert len(article_pairs(96, list(range(0, 96, 4)))) == 2280  # the article's "about 2300"


def test_top_k_never_returns_the_query_and_follows_the_direction():
    scores = np.array([0.0, 5.0, 1.0, 3.0])
    assert list(top_k(Dist(), scores, exclude=0, k=2)) == [2, 3]
    assert list(top_k(Sim(), scores, exclude=1, k=2)) == [3, 2]


def test_ties_keep_the_data_set_order():
    assert list(top_k(Dist(), np.array([9.0, 1.0, 1.0, 1.0]), exclude=0, k=2)) == [1, 2]


def test_perfect_ranking_gives_100_and_worst_gives_0():
    same = np.array([[g == GROUPS[r] for r in REFS] for g in GROUPS], dtype=float)
    accuracy, retrieved = article_accuracy(Dist(), 1 - same, GROUPS, REFS, k=3)
    assert accuracy == 100.0
    assert [sorted(r) for r in retrieved] == [[1, 2, 3], [5, 6, 7]]
    assert article_accuracy(Dist(), same, GROUPS, REFS, k=3)[0] == 0.0
    assert article_accuracy(Sim(), same, GROUPS, REFS, k=3)[0] == 100.0


def test_partial_hits_by_hand():
    # Reference 0 retrieves 1, 4, 2 (two hits); reference 4 retrieves 5, 6, 7 (three hits): 5 / 6.
    columns = np.array(
        [
            [0, 9],
            [1, 9],
            [3, 9],
            [9, 9],
            [2, 0],
            [9, 1],
            [9, 2],
            [9, 3],
        ],
        dtype=float,
    )
    accuracy, retrieved = article_accuracy(Dist(), columns, GROUPS, REFS, k=3)
    assert [list(r) for r in retrieved] == [[1, 4, 2], [5, 6, 7]]
    assert accuracy == pytest.approx(100 * 5 / 6)


def test_all_queries_recall_by_hand():
    groups = ["a", "a", "b", "b", "c"]  # "c" has no duplicate: skipped
    # Each query's best other image: 0 -> 2 (miss), 1 -> 0 (hit), 2 -> 3 (hit), 3 -> 2 (hit).
    matrix = np.array(
        [
            [0, 5, 1, 6, 7],
            [1, 0, 6, 6, 7],
            [6, 6, 0, 1, 7],
            [6, 6, 1, 0, 7],
            [7, 7, 7, 7, 0],
        ],
        dtype=float,
    )
    recall, retrieved = all_queries_recall(Dist(), matrix, groups, k=1)
    assert recall == pytest.approx(75.0)
    assert [int(r[0]) for r in retrieved[:4]] == [2, 0, 3, 2]
    # With k = 3 every query with a duplicate finds it: recall is per min(k, duplicates).
    assert all_queries_recall(Dist(), matrix, groups, k=3)[0] == 100.0
