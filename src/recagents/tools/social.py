"""similar_users and similar_users_favourites: the collaborative signal (Swing similarity)."""

from __future__ import annotations

from pydantic import Field

from recagents.errors import InvalidArgumentError
from recagents.recommender.swing import LIKE_THRESHOLD
from recagents.stores.metadata import queries as q
from recagents.tools.context import ToolContext
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.schemas import ItemsArg, StrictArgs

MAX_NEIGHBOURS = 100


class SimilarUsersArgs(StrictArgs):
    user_id: int = Field(description="MovieLens user id (1-943).")
    n: int = Field(10, description=f"How many similar users (1-{MAX_NEIGHBOURS}).")


def _check_n(n: int, what: str) -> int:
    if not 1 <= n <= MAX_NEIGHBOURS:
        raise InvalidArgumentError(f"{what} must be from 1 to {MAX_NEIGHBOURS}, got {n}")
    return n


def similar_users(ctx: ToolContext, thread_id: str, args: SimilarUsersArgs) -> dict:
    uid = ctx.store.require_user(args.user_id)
    neighbours = ctx.get_swing().similar_users(uid, _check_n(args.n, "n"))
    if not neighbours:
        return ToolResult.failure(f"no user shares rated items with user {uid}.", [])
    with ctx.store.session() as s:
        users = q.users_by_ids(s, [nb.user_id for nb in neighbours])
    data = []
    for nb in neighbours:
        user = users[nb.user_id]
        data.append(
            {
                "user_id": nb.user_id,
                "similarity": float(f"{nb.similarity:.4g}"),
                "common_items": nb.common_items,
                "age_group": q.age_group_of(user["age"]),
                "gender": {"M": "male", "F": "female"}.get(user["gender"], user["gender"]),
                "occupation": user["occupation"],
            }
        )
    return ToolResult.success(
        f"The {len(data)} users most similar to user {uid} by Swing similarity (shared rated "
        "item pairs that few others share), most similar first.",
        data,
    )


class SimilarUsersFavouritesArgs(StrictArgs):
    user_id: int = Field(description="MovieLens user id (1-943).")
    k: int = Field(10, description="How many items to return.")
    n_users: int = Field(20, description=f"How many similar users to pool (1-{MAX_NEIGHBOURS}).")
    items: ItemsArg = None


def similar_users_favourites(
    ctx: ToolContext, thread_id: str, args: SimilarUsersFavouritesArgs
) -> dict:
    uid = ctx.store.require_user(args.user_id)
    k = ctx.check_k(args.k)
    swing = ctx.get_swing()
    neighbours = swing.similar_users(uid, _check_n(args.n_users, "n_users"))
    candidates = ctx.resolve_items(thread_id, args.items)
    if candidates is None and ctx.options.universe is not None:
        candidates = ctx.options.universe
    favs = swing.favourite_items(
        {nb.user_id: nb.similarity for nb in neighbours},
        k,
        exclude_seen_by=uid,
        candidates=candidates,
    )
    if not favs:
        return ToolResult.failure(
            f"the {len(neighbours)} users most similar to user {uid} liked no item that user "
            f"{uid} has not rated{' within the candidates' if candidates is not None else ''}.",
            {"count": 0},
        )
    handle = ctx.bus.put(thread_id, [f.item_id for f in favs], f"favourites of users like {uid}")
    data = {
        "handle": handle,
        "neighbours": [nb.user_id for nb in neighbours],
        "items": [
            {
                "item_id": f.item_id,
                "title": ctx.titles.get(f.item_id),
                "score": float(f"{f.score:.4g}"),
                "liked_by": f.liked_by,
            }
            for f in favs
        ],
    }
    return ToolResult.success(
        f"{len(favs)} items that the {len(neighbours)} users most similar to user {uid} liked "
        f"(rated >= {LIKE_THRESHOLD}) and user {uid} has not rated, best first (score = summed "
        f"similarity of the users who liked it). Handle {handle} holds them.",
        data,
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
