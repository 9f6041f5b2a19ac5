"""Read access to the metadata store: the facade the tools and agents use.

Opened ``read_only=True`` by default: the database session itself refuses writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from recagents.errors import NotBuiltError, UnknownItemError, UnknownUserError
from recagents.settings import Settings
from recagents.stores.metadata.engine import check_connection, make_engine
from recagents.stores.metadata.loader import read_build_info
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

ITEM_FIELDS = tuple(c.key for c in Item.__table__.columns)
USER_FIELDS = tuple(c.key for c in User.__table__.columns)


def item_to_dict(item: Item) -> dict:
    out = {key: getattr(item, key) for key in ITEM_FIELDS}
    out["genres"] = [g.name for g in item.genres]
    for role, key in (
        (Role.director, "directors"),
        (Role.writer, "writers"),
        (Role.actor, "actors"),
    ):
        out[key] = [c.person.name for c in item.credits if c.role == role]
    return out


class MetadataStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = True) -> MetadataStore:
        """Connect to the configured database; ``NotBuiltError`` if setup has not loaded it."""
        engine = make_engine(settings.sqlalchemy_url, read_only=read_only)
        check_connection(engine)
        if not read_build_info(engine).get("fingerprint"):
            engine.dispose()
            raise NotBuiltError(
                "the metadata store is empty: run `recagents setup` "
                f"(database {engine.url.render_as_string(hide_password=True)})"
            )
        return cls(engine)

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

    @cached_property
    def genre_names(self) -> tuple[str, ...]:
        with self.session() as s:
            return tuple(s.scalars(select(Genre.name).order_by(Genre.name)))

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

    def items(self, item_ids: Iterable[int]) -> list[dict]:
        """Full metadata of the given items, in the order asked."""
        ids = self.require_items(item_ids)
        with self.session() as s:
            rows = s.scalars(
                select(Item)
                .where(Item.item_id.in_(ids))
                .options(selectinload(Item.genres), selectinload(Item.credits))
            ).all()
            by_id = {row.item_id: item_to_dict(row) for row in rows}
        return [by_id[i] for i in ids]

    def user(self, user_id: int) -> dict:
        uid = self.require_user(user_id)
        with self.session() as s:
            row = s.get(User, uid)
            return {key: getattr(row, key) for key in USER_FIELDS}

    def recent_ratings(self, user_id: int, limit: int | None = 20) -> list[dict]:
        """A user's ratings, most recent first (ties by item id)."""
        uid = self.require_user(user_id)
        query = (
            select(Rating.item_id, Rating.rating, Rating.timestamp)
            .where(Rating.user_id == uid)
            .order_by(Rating.timestamp.desc(), Rating.item_id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.session() as s:
            return [row._asdict() for row in s.execute(query)]

    def items_with_genre(self, genre: str) -> list[int]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(ItemGenre.item_id)
                    .join(Genre, Genre.genre_id == ItemGenre.genre_id)
                    .where(Genre.name == genre)
                    .order_by(ItemGenre.item_id)
                )
            )
