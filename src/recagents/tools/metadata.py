"""item_metadata, user_metadata and recent_interactions: facts from the metadata store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from recagents.errors import InvalidArgumentError
from recagents.stores.metadata import queries as q
from recagents.tools.context import ToolContext
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.schemas import ItemsArg, StrictArgs

ItemField = Literal[
    "title",
    "year",
    "genres",
    "directors",
    "writers",
    "actors",
    "release_month",
    "country",
    "duration_min",
    "age_rating",
    "imdb_rating",
    "imdb_num_reviews",
    "description",
    "storyline",
    "imdb_year",
    "ml_year",
]
UserField = Literal["age", "age_group", "gender", "occupation", "zip_code", "n_ratings"]
DEFAULT_ITEM_FIELDS: tuple[str, ...] = ("title", "year", "genres", "description")
MAX_METADATA_ITEMS = 50
MAX_INTERACTIONS = 200


class ItemMetadataArgs(StrictArgs):
    items: ItemsArg = Field(description="The items: a handle like 'C1' or a list of item ids.")
    fields: list[ItemField] | None = Field(
        None, description=f"Which fields to return (default {list(DEFAULT_ITEM_FIELDS)})."
    )


def item_metadata(ctx: ToolContext, thread_id: str, args: ItemMetadataArgs) -> dict:
    asked = ctx.resolve_items(thread_id, args.items)
    if asked is None or (not asked and ctx.options.universe is None):
        raise InvalidArgumentError("items is empty: give a handle or at least one item id")
    if len(asked) > MAX_METADATA_ITEMS:
        raise InvalidArgumentError(
            f"{len(asked)} items asked: item_metadata returns at most {MAX_METADATA_ITEMS} per "
            "call. Narrow the set first (recommend_items, popular_items or search_plots with k)."
        )
    fields = list(dict.fromkeys(args.fields or DEFAULT_ITEM_FIELDS))
    with ctx.store.session() as s:
        data = q.item_details(s, asked, fields) if asked else []
    if not data:
        return ToolResult.failure("None of the given items is in the catalog.", [])
    return ToolResult.success(
        f"Metadata ({', '.join(fields)}) of {len(data)} items, in the order given; null means "
        "unknown.",
        data,
    )


class UserMetadataArgs(StrictArgs):
    user_id: int = Field(description="MovieLens user id (1-943).")
    fields: list[UserField] | None = Field(None, description="Which fields (default all).")


def user_metadata(ctx: ToolContext, thread_id: str, args: UserMetadataArgs) -> dict:
    user = ctx.store.user(args.user_id)
    user["gender"] = {"M": "male", "F": "female"}.get(user["gender"], user["gender"])
    user["age_group"] = q.age_group_of(user["age"])
    fields = list(
        dict.fromkeys(
            args.fields or ("age", "age_group", "gender", "occupation", "zip_code", "n_ratings")
        )
    )
    if "n_ratings" in fields:
        with ctx.store.session() as s:
            user["n_ratings"] = q.interaction_count(s, user["user_id"])
    data = {"user_id": user["user_id"], **{f: user[f] for f in fields}}
    return ToolResult.success(f"Metadata of user {user['user_id']}: {', '.join(fields)}.", data)


class RecentInteractionsArgs(StrictArgs):
    user_id: int = Field(description="MovieLens user id (1-943).")
    n: int = Field(20, description=f"How many of the most recent ratings (1-{MAX_INTERACTIONS}).")


def recent_interactions(ctx: ToolContext, thread_id: str, args: RecentInteractionsArgs) -> dict:
    uid = ctx.store.require_user(args.user_id)
    if not 1 <= args.n <= MAX_INTERACTIONS:
        raise InvalidArgumentError(f"n must be from 1 to {MAX_INTERACTIONS}, got {args.n}")
    with ctx.store.session() as s:
        rows = q.recent_interactions(s, uid, args.n)
        total = q.interaction_count(s, uid)
    if not rows:
        return ToolResult.failure(f"user {uid} has no ratings.", {"user_id": uid, "total": 0})
    handle = ctx.bus.put(thread_id, [r["item_id"] for r in rows], f"recent_interactions {uid}")
    items = [
        {
            "item_id": r["item_id"],
            "title": r["title"],
            "rating": r["rating"],
            "date": datetime.fromtimestamp(r["timestamp"], UTC).date().isoformat(),
        }
        for r in rows
    ]
    return ToolResult.success(
        f"The {len(rows)} most recent of user {uid}'s {total} ratings (1-5 stars), newest "
        f"first. Handle {handle} holds these items.",
        {"user_id": uid, "total": total, "handle": handle, "items": items},
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
