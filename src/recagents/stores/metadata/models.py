"""SQLAlchemy 2 models of the metadata store (MySQL/MariaDB and SQLite from the same code).

Indexes follow the filters the tools run: genre, year, IMDb rating, duration, review count,
country, age rating, person name + role, user age/gender, ratings by item and by user/time.
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class Role(enum.StrEnum):
    director = "director"
    writer = "writer"
    actor = "actor"


class Item(Base):
    __tablename__ = "items"

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(255), index=True)
    year: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    ml_year: Mapped[int | None] = mapped_column(SmallInteger)
    imdb_year: Mapped[int | None] = mapped_column(SmallInteger)
    release_month: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    country: Mapped[str | None] = mapped_column(String(64), index=True)
    duration_min: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    age_rating: Mapped[str | None] = mapped_column(String(32), index=True)
    imdb_rating: Mapped[float | None] = mapped_column(Float, index=True)
    imdb_num_reviews: Mapped[int | None] = mapped_column(Integer, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    storyline: Mapped[str | None] = mapped_column(Text)
    enriched: Mapped[bool] = mapped_column(Boolean, default=False)

    genres: Mapped[list[Genre]] = relationship(secondary="item_genres", order_by="Genre.name")
    credits: Mapped[list[Credit]] = relationship(order_by="Credit.position")


class Genre(Base):
    __tablename__ = "genres"

    genre_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(32), unique=True)


class ItemGenre(Base):
    __tablename__ = "item_genres"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.item_id"), primary_key=True)
    genre_id: Mapped[int] = mapped_column(ForeignKey("genres.genre_id"), primary_key=True)

    __table_args__ = (Index("ix_item_genres_genre", "genre_id", "item_id"),)


class Person(Base):
    __tablename__ = "people"

    person_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Not unique on purpose: MySQL's default collation folds case and accents.
    name: Mapped[str] = mapped_column(String(255), index=True)


class Credit(Base):
    """A person's role in an item; ``position`` keeps the billing order of the source."""

    __tablename__ = "credits"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.item_id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.person_id"), primary_key=True)
    role: Mapped[Role] = mapped_column(Enum(Role, name="credit_role"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)

    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (Index("ix_credits_person_role", "person_id", "role", "item_id"),)


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    age: Mapped[int] = mapped_column(SmallInteger, index=True)
    gender: Mapped[str] = mapped_column(String(1), index=True)
    occupation: Mapped[str] = mapped_column(String(32))
    zip_code: Mapped[str] = mapped_column(String(16))


class Rating(Base):
    __tablename__ = "ratings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.item_id"), primary_key=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_ratings_item", "item_id", "rating"),
        Index("ix_ratings_user_time", "user_id", "timestamp"),
    )


class BuildInfo(Base):
    """Key/value facts about the last completed load (fingerprint, enrichment source, …)."""

    __tablename__ = "build_info"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


TABLES_IN_LOAD_ORDER = (Genre, Person, Item, ItemGenre, Credit, User, Rating)
