"""SQL the services run against the metadata store (SQLAlchemy Core, bound parameters only):
item details, users and ratings.

Every function takes an open ``Session`` and returns plain Python values. Nothing here builds SQL
from strings: ids, groups and thresholds always travel as bound parameters, so a value can never
change the statement (and the agent-side engine is read-only anyway). The item filters live in
``item_filters``, the name vocabularies and matching in ``names``, the user groups in
``user_groups``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from recagents.errors import InvalidArgumentError
from recagents.stores.metadata.models import (
    Credit,
    Genre,
    Item,
    ItemGenre,
    Person,
    Rating,
    Role,
    User,
)
from recagents.stores.metadata.user_groups import group_clause


def rating_counts(session: Session, groups: Sequence[str] = ()) -> dict[int, int]:
    """item_id → number of ratings by users in ``groups`` (all users if empty)."""
    query = select(Rating.item_id, func.count()).group_by(Rating.item_id)
    clause = group_clause(groups)
    if clause is not None:
        query = query.join(User, User.user_id == Rating.user_id).where(clause)
    return {int(i): int(n) for i, n in session.execute(query)}


ITEM_COLUMNS = {c.key: c for c in Item.__table__.columns}
PEOPLE_FIELDS = {"directors": Role.director, "writers": Role.writer, "actors": Role.actor}


def item_details(session: Session, item_ids: Sequence[int], fields: Sequence[str]) -> list[dict]:
    """``fields`` of the given items (Core, no ORM objects), in the order asked; unknown ids are
    skipped. Fields: item columns, ``genres`` (sorted), ``directors``/``writers``/``actors``
    (billing order)."""
    ids = sorted(set(item_ids))
    columns = [ITEM_COLUMNS[f] for f in fields if f in ITEM_COLUMNS and f != "item_id"]
    rows = {
        r.item_id: {"item_id": r.item_id, **{c.key: getattr(r, c.key) for c in columns}}
        for r in session.execute(select(Item.item_id, *columns).where(Item.item_id.in_(ids)))
    }
    if "genres" in fields:
        for row in rows.values():
            row["genres"] = []
        genres_query = (
            select(ItemGenre.item_id, Genre.name)
            .join(Genre, Genre.genre_id == ItemGenre.genre_id)
            .where(ItemGenre.item_id.in_(ids))
            .order_by(ItemGenre.item_id, Genre.name)
        )
        for item_id, name in session.execute(genres_query):
            rows[item_id]["genres"].append(name)
    roles = {PEOPLE_FIELDS[f]: f for f in fields if f in PEOPLE_FIELDS}
    if roles:
        for row in rows.values():
            row.update({f: [] for f in roles.values()})
        people_query = (
            select(Credit.item_id, Credit.role, Person.name)
            .join(Person, Person.person_id == Credit.person_id)
            .where(Credit.item_id.in_(ids), Credit.role.in_(list(roles)))
            .order_by(Credit.item_id, Credit.role, Credit.position)
        )
        for item_id, role, name in session.execute(people_query):
            rows[item_id][roles[Role(role)]].append(name)
    return [rows[i] for i in dict.fromkeys(item_ids) if i in rows]


def users_by_ids(session: Session, user_ids: Sequence[int]) -> dict[int, dict]:
    query = select(User).where(User.user_id.in_(list(user_ids)))
    return {
        u.user_id: {"age": u.age, "gender": u.gender, "occupation": u.occupation}
        for u in session.scalars(query)
    }


def users_who_rated(session: Session, items: Collection[int], min_rating: int | None = None) -> int:
    """Number of distinct users with a rating (≥ ``min_rating`` if given) on any of ``items``."""
    query = select(func.count(distinct(Rating.user_id))).where(
        Rating.item_id.in_(sorted(set(items)))
    )
    if min_rating is not None:
        query = query.where(Rating.rating >= min_rating)
    return int(session.scalar(query) or 0)


def rating_pairs(
    session: Session, items: Collection[int], min_rating: int | None = None
) -> np.ndarray:
    """(user_id, item_id) of the ratings (≥ ``min_rating``) on ``items``, as an (n, 2) array."""
    query = select(Rating.user_id, Rating.item_id).where(Rating.item_id.in_(sorted(set(items))))
    if min_rating is not None:
        query = query.where(Rating.rating >= min_rating)
    rows = session.execute(query).all()
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def users_in_groups(session: Session, groups: Sequence[str]) -> set[int]:
    clause = group_clause(groups)
    query = select(User.user_id)
    if clause is not None:
        query = query.where(clause)
    return set(session.scalars(query))


def user_ratings(session: Session, user_id: int, limit: int | None = None) -> list[dict]:
    """The user's ratings, newest first (ties: higher item id first); all when ``limit`` is None."""
    query = (
        select(Rating.item_id, Item.title, Rating.rating, Rating.timestamp)
        .join(Item, Item.item_id == Rating.item_id)
        .where(Rating.user_id == user_id)
        .order_by(Rating.timestamp.desc(), Rating.item_id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [row._asdict() for row in session.execute(query)]


def all_ratings(session: Session) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every rating as three aligned arrays (user_id, item_id, rating)."""
    rows = session.execute(select(Rating.user_id, Rating.item_id, Rating.rating)).all()
    if not rows:
        raise InvalidArgumentError("the ratings table is empty: run `recagents setup`")
    arr = np.asarray(rows, dtype=np.int64)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def titles(session: Session) -> dict[int, str]:
    return {int(i): t for i, t in session.execute(select(Item.item_id, Item.title))}


def enriched_item_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Item.item_id).where(Item.enriched.is_(True))))
