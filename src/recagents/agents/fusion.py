"""Weighted reciprocal-rank fusion of the LLM's order and BPR's (retrieval) order."""

from __future__ import annotations

from collections.abc import Sequence


def fuse(
    llm_order: Sequence[int], base_order: Sequence[int], weight: float, k: int = 60
) -> list[tuple[int, float]]:
    """score(i) = weight / (k + rank_llm(i)) + (1 - weight) / (k + rank_base(i)), ranks from 1;
    an item missing from a list gets nothing from it. Best first, ties by the base order."""
    llm_rank = {i: r for r, i in enumerate(llm_order, start=1)}
    base_rank = {i: r for r, i in enumerate(base_order, start=1)}
    items = list(dict.fromkeys([*base_order, *llm_order]))
    scores = {
        i: (weight / (k + llm_rank[i]) if i in llm_rank else 0.0)
        + ((1.0 - weight) / (k + base_rank[i]) if i in base_rank else 0.0)
        for i in items
    }
    order = sorted(items, key=lambda i: (-scores[i], base_rank.get(i, len(base_rank) + 1)))
    return [(i, scores[i]) for i in order]
