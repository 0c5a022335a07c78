"""Retrieval metrics against hand-computed values, ties and empty relevance included."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ethoscout.core.learn.metrics import (average_metrics, average_precision, hit_at_k, nanmean,
                                          ndcg_at_k, ranking_metrics, uplift)


def test_plain_ranking_by_hand():
    scores, rel = [0.9, 0.8, 0.7, 0.6], [0, 1, 0, 1]
    assert hit_at_k(scores, rel, 1) == 0.0
    assert hit_at_k(scores, rel, 2) == 1.0
    # relevant at ranks 2 and 4: AP = (1/2 + 2/4) / 2
    assert average_precision(scores, rel) == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert ndcg_at_k(scores, rel, 5) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(scores, rel, 1) == 0.0


def test_perfect_and_worst_rankings():
    assert average_precision([3, 2, 1], [1, 1, 0]) == pytest.approx(1.0)
    assert ndcg_at_k([3, 2, 1], [1, 1, 0], 5) == pytest.approx(1.0)
    # relevant last of 3: AP = 1/3, Hit@2 = 0
    assert average_precision([3, 2, 1], [0, 0, 1]) == pytest.approx(1 / 3)
    assert hit_at_k([3, 2, 1], [0, 0, 1], 2) == 0.0


def test_input_order_does_not_matter():
    scores = np.array([0.1, 0.7, 0.3, 0.7, 0.2])
    rel = np.array([0, 1, 1, 0, 0])
    perm = np.array([4, 2, 0, 3, 1])
    for fn in (lambda s, r: average_precision(s, r), lambda s, r: ndcg_at_k(s, r, 3),
               lambda s, r: hit_at_k(s, r, 1)):
        assert fn(scores, rel) == pytest.approx(fn(scores[perm], rel[perm]))


def test_two_way_tie_is_a_coin_flip():
    assert hit_at_k([0.5, 0.5], [1, 0], 1) == pytest.approx(0.5)
    assert average_precision([0.5, 0.5], [1, 0]) == pytest.approx(0.75)  # (1 + 1/2) / 2
    assert ndcg_at_k([0.5, 0.5], [1, 0], 1) == pytest.approx(0.5)


def test_all_tied_four_items_two_relevant():
    s, r = [1.0] * 4, [1, 0, 1, 0]
    assert hit_at_k(s, r, 1) == pytest.approx(0.5)
    assert hit_at_k(s, r, 2) == pytest.approx(1 - 1 / 6)  # both of 2 slots irrelevant: 1 of C(4,2)
    assert hit_at_k(s, r, 3) == pytest.approx(1.0)


def _brute(fn, scores, rel):
    """Mean of a metric over every order of tied items (ranking by score, ties permuted)."""
    scores, rel = np.asarray(scores), np.asarray(rel)
    vals = []
    for perm in itertools.permutations(range(len(scores))):
        p = np.array(perm)
        s, r = scores[p], rel[p]
        # strict ranking by (score desc, position in this permutation)
        order = sorted(range(len(s)), key=lambda i: (-s[i], i))
        ranked = r[order]
        vals.append(fn(np.arange(len(ranked), 0, -1, dtype=float), ranked))
    return float(np.mean(vals))


@pytest.mark.parametrize("scores, rel", [
    ([0.9, 0.5, 0.5, 0.5, 0.1], [0, 1, 0, 1, 1]),
    ([0.4, 0.4, 0.4, 0.2, 0.2], [1, 0, 0, 1, 0]),
    ([1, 1, 1, 1, 1], [0, 0, 1, 0, 0]),
])
def test_ties_equal_the_mean_over_tie_orders(scores, rel):
    assert average_precision(scores, rel) == pytest.approx(_brute(average_precision, scores, rel))
    for k in (1, 2, 3):
        assert hit_at_k(scores, rel, k) == pytest.approx(_brute(lambda s, r: hit_at_k(s, r, k), scores, rel))
        assert ndcg_at_k(scores, rel, k) == pytest.approx(_brute(lambda s, r: ndcg_at_k(s, r, k), scores, rel))


def test_no_relevant_item_is_undefined_and_skipped_in_means():
    assert math.isnan(hit_at_k([0.3, 0.2], [0, 0], 1))
    assert math.isnan(ndcg_at_k([0.3, 0.2], [0, 0], 5))
    assert math.isnan(average_precision([], []))
    per = {"a": ranking_metrics([0.9, 0.1], [1, 0]), "b": ranking_metrics([0.9, 0.1], [0, 0]),
           "c": ranking_metrics([0.9, 0.1], [0, 1])}
    mean = average_metrics(per)
    assert mean["AP"] == pytest.approx((1.0 + 0.5) / 2)  # mAP over behaviours that have positives
    assert mean["Hit@1"] == pytest.approx(0.5)
    assert math.isnan(nanmean([math.nan]))


def test_uplift_percent():
    assert uplift(0.35, 0.75) == pytest.approx(114.2857, rel=1e-4)
    assert math.isnan(uplift(0.0, 0.5))
