"""Popularity facts from the visible ratings: most popular items, like percentage."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from recagents.errors import EmptyResultError, InvalidArgumentError
from recagents.recommender.popularity import rank_by_count
from recagents.services.context import ServiceContext
from recagents.services.requests import LikePercentageRequest, PopularRequest
from recagents.services.results import LikePercentage, PopularItem, PopularItems
from recagents.stores.metadata.user_groups import normalise_group


def popular_items(
    ctx: ServiceContext, req: PopularRequest, candidates: Sequence[int] | None = None
) -> PopularItems:
    """The ``k`` most rated items (by ``user_group`` when given), most popular first."""
    groups = sorted({normalise_group(g) for g in req.user_group or []})
    checked = ctx.candidate_pool(candidates)
    pool: Collection[int] = ctx.catalog_ids if checked is None else checked
    ranked = rank_by_count(
        ctx.rating_counts(groups), pool, req.k, min_quantile=ctx.options.popularity_quantile
    )
    if not ranked:
        who = f"users in group {groups}" if groups else "any user"
        raise EmptyResultError(
            f"None of the {len(pool)} items was rated by {who}: no popularity signal. Drop the "
            "user group or widen the candidate set.",
            {"count": 0},
        )
    items = [
        PopularItem(item_id=s.item_id, title=ctx.titles.get(s.item_id), ratings=int(s.score))
        for s in ranked
    ]
    return PopularItems(user_group=groups or None, items=items)


def like_percentage(
    ctx: ServiceContext, item_ids: Sequence[int], req: LikePercentageRequest | None = None
) -> LikePercentage:
    """Share of all users who rated (at least ``min_rating``) any of the items; counted in SQL."""
    ids = ctx.check_items(item_ids)
    if not ids:
        raise InvalidArgumentError("items is empty: give a handle or at least one item id")
    min_rating = req.min_rating if req else None
    hit = ctx.count_raters(ids, min_rating)
    total = len(ctx.store.user_ids)
    pct = 100.0 * hit / total if total else 0.0
    return LikePercentage(
        like_percentage=round(pct, 2),
        users=hit,
        total_users=total,
        items=len(ids),
        min_rating=min_rating,
    )
