"""popular_items and like_percentage: popularity facts from the visible ratings."""

from __future__ import annotations

from recagents.services.popularity import like_percentage as like_service
from recagents.services.popularity import popular_items as popular_service
from recagents.services.requests import LikePercentageRequest, PopularRequest
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.runtime import ItemsArg, RequiredItemsArg, ToolArgs, ToolScope


class PopularItemsArgs(PopularRequest, ToolArgs):
    items: ItemsArg = None


def popular_items(scope: ToolScope, args: PopularItemsArgs) -> dict:
    candidates = scope.resolve(args.items)
    req = PopularRequest.model_validate(args.model_dump(exclude={"items"}))
    popular = popular_service(scope.ctx, req, candidates)
    groups = popular.user_group
    handle = scope.register([i.item_id for i in popular.items], f"popular_items {groups or 'all'}")
    who = f"users in group {groups}" if groups else "all users"
    where = "" if candidates is None else f" among the {len(candidates)} given items"
    quantile = scope.ctx.options.popularity_quantile
    cut = f" (only items above the {quantile:.0%} quantile of counts)" if quantile else ""
    return ToolResult.success(
        f"The {len(popular.items)} most popular items{where} by number of ratings from {who}"
        f"{cut}, most popular first. Handle {handle} holds them.",
        {"handle": handle, **popular.model_dump()},
    )


class LikePercentageArgs(LikePercentageRequest, ToolArgs):
    items: RequiredItemsArg


def like_percentage(scope: ToolScope, args: LikePercentageArgs) -> dict:
    req = LikePercentageRequest.model_validate(args.model_dump(exclude={"items"}))
    share = like_service(scope.ctx, scope.resolve(args.items) or [], req)
    how = "rated" if share.min_rating is None else f"rated >= {share.min_rating}"
    return ToolResult.success(
        f"{share.like_percentage:.2f}% of users ({share.users} of {share.total_users}) {how} at "
        f"least one of the {share.items} items.",
        share.model_dump(),
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
