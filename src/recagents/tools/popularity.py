"""popular_items and like_percentage: popularity facts computed from the ratings."""

from __future__ import annotations

from pydantic import Field

from recagents.errors import InvalidArgumentError
from recagents.stores.metadata import queries as q
from recagents.tools.context import ToolContext
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.schemas import ItemsArg, NameList, StrictArgs


class PopularItemsArgs(StrictArgs):
    k: int = Field(20, description="How many items to return.")
    user_group: NameList = Field(
        None,
        description="Count only ratings by this user group: kid (<=12), teenager (13-19), "
        "young_adult (20-30), adult (31-60), senior (61+), male, female. Several age groups "
        "(or both genders) add up; an age group with a gender means both must hold, e.g. "
        "['female', 'teenager']. Omit for everybody.",
    )
    items: ItemsArg = None


def popular_items(ctx: ToolContext, thread_id: str, args: PopularItemsArgs) -> dict:
    k = ctx.check_k(args.k)
    groups = sorted({q.normalise_group(g) for g in args.user_group or []})
    candidates = ctx.resolve_items(thread_id, args.items)
    pool = ctx.catalog_ids if candidates is None else candidates
    if not pool:
        raise InvalidArgumentError("the candidate set is empty: nothing to rank")
    counts = ctx.rating_counts(groups)
    ranked = q.rank_by_count(counts, pool, k, ctx.options.popularity_quantile)
    who = f"users in group {groups}" if groups else "all users"
    if not ranked:
        return ToolResult.failure(
            f"None of the {len(pool)} items was rated by {who}: no popularity signal. Drop the "
            "user group or widen the candidate set.",
            {"count": 0},
        )
    handle = ctx.bus.put(thread_id, [i for i, _ in ranked], f"popular_items {groups or 'all'}")
    data = {
        "handle": handle,
        "user_group": groups or None,
        "items": [{"item_id": i, "title": ctx.titles.get(i), "ratings": n} for i, n in ranked],
    }
    scope = "" if candidates is None else f" among the {len(pool)} given items"
    cut = (
        f" (only items above the {ctx.options.popularity_quantile:.0%} quantile of counts)"
        if ctx.options.popularity_quantile is not None
        else ""
    )
    return ToolResult.success(
        f"The {len(ranked)} most popular items{scope} by number of ratings from {who}{cut}, "
        f"most popular first. Handle {handle} holds them.",
        data,
    )


class LikePercentageArgs(StrictArgs):
    items: ItemsArg = Field(description="The items: a handle like 'C1' or a list of item ids.")
    min_rating: int | None = Field(
        None,
        ge=1,
        le=5,
        description="Count a user only if they rated one of the items at least this much "
        "(e.g. 4). Default: any rating counts (implicit feedback, as the recommender does).",
    )


def like_percentage(ctx: ToolContext, thread_id: str, args: LikePercentageArgs) -> dict:
    ids = ctx.resolve_items(thread_id, args.items)
    if not ids:
        raise InvalidArgumentError("items is empty: give a handle or at least one item id")
    hit = ctx.get_swing().users_who_rated(ids, args.min_rating)  # the ratings matrix, in memory
    total = len(ctx.store.user_ids)
    pct = 100.0 * hit / total if total else 0.0
    how = "rated" if args.min_rating is None else f"rated >= {args.min_rating}"
    return ToolResult.success(
        f"{pct:.2f}% of users ({hit} of {total}) {how} at least one of the {len(ids)} items.",
        {
            "like_percentage": round(pct, 2),
            "users": hit,
            "total_users": total,
            "items": len(ids),
            "min_rating": args.min_rating,
        },
    )


SPECS = (
    ToolSpec(
        name="popular_items",
        description=(
            "The most popular movies by number of ratings, overall or within a user group "
            "(kid, teenager, young_adult, adult, senior, male, female), optionally only among "
            "`items` (a handle like 'C1' or ids). Most popular first."
        ),
        args_schema=PopularItemsArgs,
        fn=popular_items,
    ),
    ToolSpec(
        name="like_percentage",
        description=(
            "What share of all users liked (rated) at least one of the given items: a quick "
            "measure of how broadly a set of movies appeals."
        ),
        args_schema=LikePercentageArgs,
        fn=like_percentage,
    ),
)
