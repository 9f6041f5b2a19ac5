"""Popularity ranking on a tiny hand-made catalogue."""

from __future__ import annotations

from recagents.recommender.popularity import count_items, rank_by_count

INTERACTIONS = [10, 20, 20, 30, 30, 30, 40, 40]  # counts: 10->1, 20->2, 30->3, 40->2
COUNTS = count_items(INTERACTIONS)
POOL = [10, 20, 30, 40, 50]  # 50 was never rated


def test_counts():
    assert COUNTS == {10: 1, 20: 2, 30: 3, 40: 2}


def test_ranks_by_count_then_lower_id():
    ranked = rank_by_count(COUNTS, POOL, 10)
    assert [i.item_id for i in ranked] == [30, 20, 40, 10]
    assert [i.score for i in ranked] == [3.0, 2.0, 2.0, 1.0]


def test_k_cuts_the_list():
    assert [i.item_id for i in rank_by_count(COUNTS, POOL, 2)] == [30, 20]


def test_pool_restricts_and_unrated_items_only_on_request():
    assert [i.item_id for i in rank_by_count(COUNTS, [10, 50], 5)] == [10]
    assert [i.item_id for i in rank_by_count(COUNTS, [10, 50], 5, keep_unrated=True)] == [10, 50]


def test_quantile_cut_keeps_only_items_above_it():
    # counts over the pool: [1, 2, 3, 2, 0]; the 75th percentile is 2 -> only 30 (3) stays
    assert [i.item_id for i in rank_by_count(COUNTS, POOL, 5, min_quantile=0.75)] == [30]
