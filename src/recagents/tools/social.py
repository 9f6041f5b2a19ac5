"""similar_users and similar_users_favourites: the collaborative signal (Swing similarity)."""

from __future__ import annotations

from recagents.recommender.swing import LIKE_THRESHOLD
from recagents.services.requests import FavouritesRequest, SimilarUsersRequest
from recagents.services.social import similar_users as similar_service
from recagents.services.social import similar_users_favourites as favourites_service
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.runtime import ItemsArg, ToolArgs, ToolScope


class SimilarUsersArgs(SimilarUsersRequest, ToolArgs):
    pass


def similar_users(scope: ToolScope, args: SimilarUsersArgs) -> dict:
    users = similar_service(scope.ctx, args)
    return ToolResult.success(
        f"The {len(users)} users most similar to user {args.user_id} by Swing similarity (shared "
        "rated item pairs that few others share), most similar first.",
        [u.model_dump() for u in users],
    )


class SimilarUsersFavouritesArgs(FavouritesRequest, ToolArgs):
    items: ItemsArg = None


def similar_users_favourites(scope: ToolScope, args: SimilarUsersFavouritesArgs) -> dict:
    req = FavouritesRequest.model_validate(args.model_dump(exclude={"items"}))
    favs = favourites_service(scope.ctx, req, scope.resolve(args.items))
    uid = favs.user_id
    handle = scope.register([f.item_id for f in favs.items], f"favourites of users like {uid}")
    return ToolResult.success(
        f"{len(favs.items)} items that the {len(favs.neighbours)} users most similar to user "
        f"{uid} liked (rated >= {LIKE_THRESHOLD}) and user {uid} has not rated, best first "
        f"(score = summed similarity of the users who liked it). Handle {handle} holds them.",
        {"handle": handle, **favs.model_dump(exclude={"user_id"})},
    )


SPECS = (
    ToolSpec(
        name="similar_users",
        description=(
            "Users whose rating history is most similar to a user's (Swing similarity), with "
            "their demographics: who has the same taste."
        ),
        args_schema=SimilarUsersArgs,
        fn=similar_users,
    ),
    ToolSpec(
        name="similar_users_favourites",
        description=(
            "Movies that the users most similar to a user liked and the user has not rated yet, "
            "optionally only within `items` (a handle or ids): a collaborative signal that "
            "complements recommend_items."
        ),
        args_schema=SimilarUsersFavouritesArgs,
        fn=similar_users_favourites,
    ),
)
