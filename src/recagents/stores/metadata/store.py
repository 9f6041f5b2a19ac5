"""The metadata repository: every read the services make goes through ``MetadataStore``.

Opened ``read_only=True`` by default: the database session itself refuses writes. The SQL lives
in ``queries``, ``item_filters`` and ``names`` (bound parameters only); this class opens the
sessions, validates ids and caches the read-only vocabularies (titles, genres, people, countries)
and, read-only, the rows a request reads again and again (item pages, users, rating histories;
``cache_rows``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, cached_property
from typing import Literal

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from recagents.errors import NotBuiltError, UnknownItemError, UnknownUserError
from recagents.settings import Settings
from recagents.stores.metadata import item_filters, names
from recagents.stores.metadata import queries as q
from recagents.stores.metadata.database import check_connection, engine_for
from recagents.stores.metadata.loader import read_build_info
from recagents.stores.metadata.models import Credit, Genre, Item, Person, Rating, Role, User

ITEM_FIELDS = tuple(c.key for c in Item.__table__.columns)
USER_FIELDS = tuple(c.key for c in User.__table__.columns)
ALL_ITEM_FIELDS = (*ITEM_FIELDS, "genres", "directors", "writers", "actors")


def _copy(value):
    return list(value) if isinstance(value, list) else value


class MetadataStore:
    def __init__(self, engine: Engine, *, cache_rows: bool = False):
        """``cache_rows``: keep item pages, users and rating histories in memory once read (a
        read-only store: what the API and the agents read many times per request; bounded by
        the catalogue: 1,682 items, 943 users, 100,000 ratings)."""
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.cache_rows = cache_rows
        self._users: dict[int, dict] = {}
        self._ratings: dict[int, list[dict]] = {}

    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = True) -> MetadataStore:
        """Connect to the configured database; ``NotBuiltError`` if setup has not loaded it."""
        engine = engine_for(settings, read_only=read_only)
        check_connection(engine)
        if not read_build_info(engine).get("fingerprint"):
            engine.dispose()
            raise NotBuiltError(
                "the metadata store is empty: run `recagents setup` "
                f"(database {engine.url.render_as_string(hide_password=True)})"
            )
        return cls(engine, cache_rows=read_only)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    @property
    def build_info(self) -> dict[str, str]:
        return read_build_info(self.engine)

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables."""
        with self.session() as s:
            return {
                name: s.scalar(select(func.count()).select_from(model)) or 0
                for name, model in (
                    ("items", Item),
                    ("users", User),
                    ("ratings", Rating),
                    ("genres", Genre),
                    ("people", Person),
                    ("credits", Credit),
                )
            }

    @cached_property
    def item_ids(self) -> frozenset[int]:
        with self.session() as s:
            return frozenset(s.scalars(select(Item.item_id)))

    @cached_property
    def user_ids(self) -> frozenset[int]:
        with self.session() as s:
            return frozenset(s.scalars(select(User.user_id)))

    def require_items(self, item_ids: Iterable[int]) -> list[int]:
        ids = [int(i) for i in item_ids]
        unknown = sorted(set(ids) - self.item_ids)
        if unknown:
            raise UnknownItemError(
                f"unknown item id(s) {unknown[:10]}{' …' if len(unknown) > 10 else ''}: "
                f"valid ids are 1–{max(self.item_ids)}"
            )
        return ids

    def require_user(self, user_id: int) -> int:
        if int(user_id) not in self.user_ids:
            raise UnknownUserError(
                f"unknown user id {user_id}: valid ids are 1–{max(self.user_ids)}"
            )
        return int(user_id)

    # --- vocabularies (cached: the agent-side store is read-only) ----------------------------
    @cached_property
    def titles(self) -> dict[int, str]:
        with self.session() as s:
            return q.titles(s)

    @cached_property
    def genre_index(self) -> dict[str, tuple[int, str]]:
        """lower-case genre name → (genre_id, stored name)."""
        with self.session() as s:
            return names.genre_index(s)

    @cache  # noqa: B019 - one store per process, lives as long as it
    def people_index(self, role: Role) -> dict[str, tuple[str, tuple[int, ...]]]:
        """fold(name) → (a stored spelling, person ids) for everyone credited in ``role``."""
        with self.session() as s:
            return names.people_index(s, role)

    @cache  # noqa: B019
    def name_index(self, role: Role) -> names.NameIndex:
        """Everyone credited in ``role``, indexed for "closest names" suggestions."""
        return names.NameIndex(spelling for spelling, _ in self.people_index(role).values())

    @cache  # noqa: B019
    def distinct_values(self, column: Literal["country", "age_rating"]) -> list[str]:
        with self.session() as s:
            return names.distinct_values(s, column)

    # --- items -------------------------------------------------------------------------------
    def filter_item_ids(
        self, spec: item_filters.ItemFilter, candidates: Collection[int] | None = None
    ) -> list[int]:
        with self.session() as s:
            return item_filters.filter_item_ids(s, spec, candidates)

    def filter_payloads(self) -> dict[int, dict]:
        """item id → the fields item filters test (the payload of engine vector collections)."""
        with self.session() as s:
            return item_filters.filter_payloads(s)

    def item_details(
        self, item_ids: Sequence[int], fields: Sequence[str] = ALL_ITEM_FIELDS
    ) -> list[dict]:
        """``fields`` of the given items in the order asked (unknown ids are an error)."""
        ids = self.require_items(item_ids)
        if not self.cache_rows or not set(fields) <= set(ALL_ITEM_FIELDS):
            with self.session() as s:
                return q.item_details(s, ids, fields)
        pages, keys = self._item_pages, ("item_id", *fields)
        return [{k: _copy(pages[i][k]) for k in keys if k in pages[i]} for i in dict.fromkeys(ids)]

    @cached_property
    def _item_pages(self) -> dict[int, dict]:
        """Every item with every field, read in one go (a few hundred ms, once)."""
        with self.session() as s:
            rows = q.item_details(s, sorted(self.item_ids), ALL_ITEM_FIELDS)
        return {row["item_id"]: row for row in rows}

    def enriched_item_ids(self) -> set[int]:
        with self.session() as s:
            return q.enriched_item_ids(s)

    # --- users and ratings -------------------------------------------------------------------
    def user(self, user_id: int) -> dict:
        uid = self.require_user(user_id)
        if (cached := self._users.get(uid)) is not None:
            return dict(cached)
        with self.session() as s:
            row = s.get(User, uid)
            user = {key: getattr(row, key) for key in USER_FIELDS}
        if self.cache_rows:
            self._users[uid] = user
        return dict(user)

    def users(self, user_ids: Sequence[int]) -> dict[int, dict]:
        with self.session() as s:
            return q.users_by_ids(s, user_ids)

    def users_in_groups(self, groups: Sequence[str]) -> set[int]:
        with self.session() as s:
            return q.users_in_groups(s, groups)

    def user_ratings(self, user_id: int, limit: int | None = None) -> list[dict]:
        """The user's ratings, newest first (ties: higher item id first): the one query for
        a user's history (``item_id``, ``title``, ``rating``, ``timestamp``)."""
        uid = self.require_user(user_id)
        if not self.cache_rows:
            with self.session() as s:
                return q.user_ratings(s, uid, limit)
        rows = self._ratings.get(uid)
        if rows is None:
            with self.session() as s:
                rows = self._ratings[uid] = q.user_ratings(s, uid)
        return [dict(r) for r in (rows if limit is None else rows[:limit])]

    def rating_counts(self, groups: Sequence[str] = ()) -> dict[int, int]:
        """item → ratings by users in ``groups`` (all users if empty)."""
        with self.session() as s:
            return q.rating_counts(s, groups)

    def count_raters(self, items: Collection[int], min_rating: int | None = None) -> int:
        with self.session() as s:
            return q.users_who_rated(s, items, min_rating)

    def rater_pairs(self, items: Collection[int], min_rating: int | None = None) -> np.ndarray:
        """(user_id, item_id) of every rating (≥ ``min_rating``) on ``items``."""
        with self.session() as s:
            return q.rating_pairs(s, items, min_rating)

    def all_ratings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with self.session() as s:
            return q.all_ratings(s)
