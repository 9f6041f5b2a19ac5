"""Personalised top-k from the recommender: never an item that is history under the view."""

from __future__ import annotations

from collections.abc import Sequence

from recagents.errors import EmptyResultError
from recagents.services.context import ServiceContext
from recagents.services.requests import RecommendRequest
from recagents.services.results import Recommendation, ScoredItem


def recommend(
    ctx: ServiceContext, req: RecommendRequest, candidates: Sequence[int] | None = None
) -> Recommendation:
    """The user's ``k`` best unseen items (within ``candidates`` when given), best first."""
    uid = ctx.store.require_user(req.user_id)
    pool = ctx.candidate_pool(candidates)
    top = ctx.get_recommender().top_k(uid, k=req.k, candidates=pool, view=ctx.view)
    if not top.items:
        raise EmptyResultError(
            f"user {uid} has already rated every candidate item: nothing left to recommend. "
            "Widen the candidate set.",
            {"user_id": uid, "count": 0},
        )
    items = [
        ScoredItem(item_id=s.item_id, title=ctx.titles.get(s.item_id), score=s.score)
        for s in top.items
    ]
    return Recommendation(
        user_id=uid, items=items, fallback=top.fallback, reason=top.reason, model=top.model
    )
