"""Personalised top-k from the recommender: never an item that is history under the view."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from recagents.errors import EmptyResultError
from recagents.services.catalog import build_filter, filter_items
from recagents.services.context import ServiceContext
from recagents.services.requests import FilterRequest, RecommendRequest
from recagents.services.results import Recommendation, ScoredItem

if TYPE_CHECKING:
    from recagents.recommender.topk import TopK
    from recagents.stores.metadata.item_filters import ItemFilter


class FilteredTopK(Protocol):
    """An engine whose top-k takes the hard filter itself (its Qdrant collection, as a
    payload filter; also behind the ranking stage, which forwards it)."""

    def top_k(
        self,
        user_id: Any,
        k: int = 10,
        candidates: Collection[Any] | None = None,
        exclude_seen: bool = True,
        view: Any = None,
        *,
        spec: ItemFilter | None = None,
    ) -> TopK: ...


def _filters_in_top_k(rec: object) -> TypeGuard[FilteredTopK]:
    return hasattr(rec, "search")  # served from vectors (``RECAGENTS_SERVING=vectors``)


def recommend(
    ctx: ServiceContext, req: RecommendRequest, candidates: Sequence[int] | None = None
) -> Recommendation:
    """The user's ``k`` best unseen items (within ``candidates`` when given), best first."""
    uid = ctx.store.require_user(req.user_id)
    pool = ctx.candidate_pool(candidates)
    top = ctx.get_recommender().top_k(uid, k=req.k, candidates=pool, view=ctx.view)
    return _result(ctx, uid, top)


def recommend_filtered(
    ctx: ServiceContext,
    req: RecommendRequest,
    conditions: FilterRequest,
    candidates: Sequence[int] | None = None,
) -> Recommendation:
    """The user's ``k`` best unseen items among those satisfying ``conditions`` (a hard filter).

    Served from vectors (``RECAGENTS_SERVING=vectors``): ONE Qdrant query, the filter a payload
    filter. Dense: the SQL filter's ids, then the score matrix. Both give the same items. A
    filter that matches nothing gets ``filter_items``' message (with the relaxations)."""
    uid = ctx.store.require_user(req.user_id)
    rec = ctx.get_recommender()
    if not _filters_in_top_k(rec):  # the dense path
        return recommend(ctx, req, filter_items(ctx, conditions, candidates).item_ids)
    spec, _ = build_filter(ctx, conditions)
    pool = ctx.candidate_pool(candidates)
    top = rec.top_k(uid, k=req.k, candidates=pool, view=ctx.view, spec=spec)
    if not top.items:
        filter_items(ctx, conditions, candidates)  # raises when the filter itself is empty
    return _result(ctx, uid, top)


def _result(ctx: ServiceContext, uid: int, top) -> Recommendation:
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
