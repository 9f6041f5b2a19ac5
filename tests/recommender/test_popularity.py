"""PopularityRanker on a tiny hand-made catalogue."""

from __future__ import annotations

import numpy as np

from recagents.recommender.popularity import PopularityRanker

# column 0 is padding; external ids 10, 20, 30, 40 sit in columns 1..4
ITEM_IDS = np.array([-1, 10, 20, 30, 40])
INTERACTIONS = np.array([1, 2, 2, 3, 3, 3, 4, 4])  # counts: 10->1, 20->2, 30->3, 40->2


def ranker() -> PopularityRanker:
    return PopularityRanker.from_interactions(ITEM_IDS, INTERACTIONS)


def test_ranks_by_count_then_lower_id():
    ranked = ranker().rank(10)
    assert [i.item_id for i in ranked] == [30, 20, 40, 10]
    assert [i.score for i in ranked] == [3.0, 2.0, 2.0, 1.0]


def test_k_cuts_the_list():
    assert [i.item_id for i in ranker().rank(2)] == [30, 20]


def test_excluded_and_allowed_columns_are_respected():
    excluded = np.zeros(5, dtype=bool)
    excluded[3] = True  # item 30
    ranked = ranker().rank(10, allowed_columns=np.array([1, 3]), excluded=excluded)
    assert [i.item_id for i in ranked] == [10]


def test_padding_is_never_ranked():
    ranked = PopularityRanker(ITEM_IDS, np.array([99, 0, 0, 0, 0])).rank(5)
    assert -1 not in [i.item_id for i in ranked]
    assert len(ranked) == 4
