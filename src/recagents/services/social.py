"""The collaborative signal: Swing-similar users and what they liked (visible ratings only)."""

from __future__ import annotations

from collections.abc import Sequence

from recagents.errors import EmptyResultError
from recagents.services.context import ServiceContext
from recagents.services.requests import FavouritesRequest, SimilarUsersRequest
from recagents.services.results import FavouriteItem, Favourites, SimilarUser
from recagents.services.users import GENDERS
from recagents.stores.metadata.user_groups import age_group_of


def similar_users(ctx: ServiceContext, req: SimilarUsersRequest) -> list[SimilarUser]:
    """The ``n`` users most Swing-similar to the user, with their demographics."""
    uid = ctx.store.require_user(req.user_id)
    neighbours = ctx.get_swing().similar_users(uid, req.n)
    if not neighbours:
        raise EmptyResultError(f"no user shares rated items with user {uid}.", [])
    users = ctx.store.users([nb.user_id for nb in neighbours])
    return [
        SimilarUser(
            user_id=nb.user_id,
            similarity=float(f"{nb.similarity:.4g}"),
            common_items=nb.common_items,
            age_group=age_group_of(users[nb.user_id]["age"]),
            gender=GENDERS.get(users[nb.user_id]["gender"], users[nb.user_id]["gender"]),
            occupation=users[nb.user_id]["occupation"],
        )
        for nb in neighbours
    ]


def similar_users_favourites(
    ctx: ServiceContext, req: FavouritesRequest, candidates: Sequence[int] | None = None
) -> Favourites:
    """Items the most similar users liked (rated >= 4) and the user has not rated, best first
    (score = summed similarity of the neighbours who liked it)."""
    uid = ctx.store.require_user(req.user_id)
    swing = ctx.get_swing()
    neighbours = swing.similar_users(uid, req.n_users)
    pool = ctx.candidate_pool(candidates)
    favs = swing.favourite_items(
        {nb.user_id: nb.similarity for nb in neighbours},
        req.k,
        exclude_seen_by=uid,
        candidates=pool,
    )
    if not favs:
        raise EmptyResultError(
            f"the {len(neighbours)} users most similar to user {uid} liked no item that user "
            f"{uid} has not rated{' within the candidates' if pool is not None else ''}.",
            {"count": 0},
        )
    return Favourites(
        user_id=uid,
        neighbours=[nb.user_id for nb in neighbours],
        items=[
            FavouriteItem(
                item_id=f.item_id,
                title=ctx.titles.get(f.item_id),
                score=float(f"{f.score:.4g}"),
                liked_by=f.liked_by,
            )
            for f in favs
        ],
    )
