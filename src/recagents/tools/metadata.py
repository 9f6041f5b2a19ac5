"""item_metadata, user_metadata and recent_interactions: facts from the metadata store."""

from __future__ import annotations

from recagents.errors import InvalidArgumentError
from recagents.services.catalog import item_metadata as item_service
from recagents.services.requests import (
    MAX_METADATA_ITEMS,
    HistoryRequest,
    ItemMetadataRequest,
    UserMetadataRequest,
)
from recagents.services.users import recent_interactions as history_service
from recagents.services.users import user_profile
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.runtime import RequiredItemsArg, ToolArgs, ToolScope


class ItemMetadataArgs(ItemMetadataRequest, ToolArgs):
    items: RequiredItemsArg


def item_metadata(scope: ToolScope, args: ItemMetadataArgs) -> dict:
    ids = scope.resolve(args.items)
    if not ids:
        raise InvalidArgumentError("items is empty: give a handle or at least one item id")
    data = item_service(scope.ctx, ids, ItemMetadataRequest(fields=args.fields))
    fields = [f for f in data[0] if f != "item_id"] if data else []
    return ToolResult.success(
        f"Metadata ({', '.join(fields)}) of {len(data)} items, in the order given; null means "
        "unknown.",
        data,
    )


class UserMetadataArgs(UserMetadataRequest, ToolArgs):
    pass


def user_metadata(scope: ToolScope, args: UserMetadataArgs) -> dict:
    profile = user_profile(scope.ctx, args)
    data = profile.model_dump(include=profile.model_fields_set)
    shown = [f for f in data if f != "user_id"]
    return ToolResult.success(f"Metadata of user {profile.user_id}: {', '.join(shown)}.", data)


class RecentInteractionsArgs(HistoryRequest, ToolArgs):
    pass


def recent_interactions(scope: ToolScope, args: RecentInteractionsArgs) -> dict:
    history = history_service(scope.ctx, args)
    if not history.items:
        return ToolResult.failure(
            f"user {history.user_id} has no ratings.", {"user_id": history.user_id, "total": 0}
        )
    handle = scope.register(
        [i.item_id for i in history.items], f"recent_interactions {history.user_id}"
    )
    items = [i.model_dump(exclude={"timestamp"}) for i in history.items]
    return ToolResult.success(
        f"The {len(items)} most recent of user {history.user_id}'s {history.total} ratings "
        f"(1-5 stars), newest first. Handle {handle} holds these items.",
        {"user_id": history.user_id, "total": history.total, "handle": handle, "items": items},
    )


SPECS = (
    ToolSpec(
        name="item_metadata",
        description=(
            "Details of movies: title, year, genres, directors, writers, actors, country, "
            "duration, age rating, IMDb rating and review count, short description, storyline. "
            f"Ask only the fields you need; at most {MAX_METADATA_ITEMS} items per call."
        ),
        args_schema=ItemMetadataArgs,
        fn=item_metadata,
    ),
    ToolSpec(
        name="user_metadata",
        description=(
            "Demographics of a user: age, age group, gender, occupation, zip code and number of "
            "ratings."
        ),
        args_schema=UserMetadataArgs,
        fn=user_metadata,
    ),
    ToolSpec(
        name="recent_interactions",
        description=(
            "A user's most recent ratings (default 20), newest first, with titles and stars: "
            "what the user watched lately."
        ),
        args_schema=RecentInteractionsArgs,
        fn=recent_interactions,
    ),
)
