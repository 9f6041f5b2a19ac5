"""Popularity ranking from interaction counts: the fallback for users BPR does not know.

Works on internal item columns (column 0 is padding); ``Recommender`` validates external ids
and maps them before calling in, so the masking rules are the same as for BPR.
"""

from __future__ import annotations

import numpy as np

from recagents.recommender.ranking import ScoredItem, top_k_columns


class PopularityRanker:
    """Ranks items by how many users rated them (ties: lower item id first)."""

    def __init__(self, item_ids: np.ndarray, counts: np.ndarray) -> None:
        if len(item_ids) != len(counts):
            raise ValueError("item_ids and counts must have one entry per item column")
        self.item_ids = np.asarray(item_ids, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64)
        scores = self.counts.astype(np.float64)
        scores[self.item_ids < 0] = -np.inf  # padding column
        self._scores = scores

    @classmethod
    def from_interactions(cls, item_ids: np.ndarray, item_columns: np.ndarray) -> PopularityRanker:
        """Counts from the item column of every interaction (one row per rating)."""
        counts = np.bincount(np.asarray(item_columns, dtype=np.int64), minlength=len(item_ids))
        return cls(item_ids, counts)

    def scores(self) -> np.ndarray:
        """A fresh copy of the score row (interaction counts, padding = -inf)."""
        return self._scores.copy()

    def rank(
        self,
        k: int,
        *,
        allowed_columns: np.ndarray | None = None,
        excluded: np.ndarray | None = None,
    ) -> list[ScoredItem]:
        """The k most popular items, optionally only among ``allowed_columns`` and never an
        ``excluded`` one (a boolean mask over columns)."""
        scores = self.scores()
        if excluded is not None:
            scores[excluded] = -np.inf
        if allowed_columns is not None:
            keep = np.full(len(scores), -np.inf)
            keep[allowed_columns] = scores[allowed_columns]
            scores = keep
        return top_k_columns(scores, k, self.item_ids)
