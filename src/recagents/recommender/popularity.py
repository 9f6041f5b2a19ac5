"""Popularity: the one implementation of "most rated first".

Used by the popular-items service (counts per user group, from the store) and by the
recommender's fallback for users BPR does not know (counts from its interactions). Both count
only the ratings that are history under the active ``HistoryView``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from recagents.recommender.topk import ScoredItem


def count_items(item_ids: Iterable[int]) -> dict[int, int]:
    """item id → number of interactions (one entry per rating)."""
    ids, counts = np.unique(np.fromiter(item_ids, dtype=np.int64), return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def rank_by_count(
    counts: Mapping[int, int],
    pool: Iterable[int],
    k: int,
    *,
    min_quantile: float | None = None,
    keep_unrated: bool = False,
) -> list[ScoredItem]:
    """Top ``k`` items of ``pool`` by count (score = the count), ties by ascending id.

    Items nobody rated are dropped unless ``keep_unrated``. ``min_quantile`` (e.g. 0.75)
    keeps only items whose count is strictly above that quantile (linear interpolation) of
    the pool's counts, zeros included.
    """
    ids = np.fromiter(sorted(set(pool)), dtype=np.int64)
    if ids.size == 0:
        return []
    values = np.fromiter((counts.get(int(i), 0) for i in ids), dtype=np.int64, count=ids.size)
    keep = np.ones(ids.size, dtype=bool) if keep_unrated else values > 0
    if min_quantile is not None:
        keep &= values > np.quantile(values, min_quantile)
    ids, values = ids[keep], values[keep]
    order = np.lexsort((ids, -values))[:k]
    return [ScoredItem(int(ids[j]), float(values[j])) for j in order]
