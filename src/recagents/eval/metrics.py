"""Ranking metrics with RecBole's definitions (per user, then averaged over users).

- Hit@k: 1 if any relevant item is in the top k.
- Recall@k: relevant items in the top k / all relevant items.
- MRR@k: 1 / rank of the first relevant item in the top k (0 if none).
- NDCG@k: DCG of the top k (binary gains, log2 discount) / the ideal DCG for
  min(|relevant|, k) relevant items.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence


def _hits(ranked: Sequence[int], relevant: Collection[int], k: int) -> list[bool]:
    return [item in relevant for item in ranked[:k]]


def hit_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    return float(any(_hits(ranked, relevant, k)))


def recall_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    if not relevant:
        return 0.0
    return sum(_hits(ranked, relevant, k)) / len(relevant)


def mrr_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    for rank, hit in enumerate(_hits(ranked, relevant, k), start=1):
        if hit:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, hit in enumerate(_hits(ranked, relevant, k)) if hit)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


METRICS = {"ndcg": ndcg_at_k, "recall": recall_at_k, "hit": hit_at_k, "mrr": mrr_at_k}


def mean_metrics(
    rankings: Mapping[int, Sequence[int]],
    relevant: Mapping[int, Collection[int]],
    ks: Iterable[int] = (10,),
    names: Iterable[str] = ("ndcg", "recall", "hit", "mrr"),
) -> dict[str, float]:
    """``{"ndcg@10": …}`` averaged over the users of ``rankings`` (each must have targets)."""
    users = list(rankings)
    out: dict[str, float] = {}
    for k in ks:
        for name in names:
            fn = METRICS[name]
            values = [fn(rankings[u], relevant[u], k) for u in users]
            out[f"{name}@{k}"] = sum(values) / len(values) if values else 0.0
    return out
