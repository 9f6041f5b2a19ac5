"""SQL the tools run against the metadata store (SQLAlchemy Core, bound parameters only).

Every function takes an open ``Session`` and returns plain Python values. Nothing here builds SQL
from strings: names, countries and thresholds always travel as bound parameters, so a filter
value can never change the statement (and the agent-side engine is read-only anyway).

User groups (the peer's boundaries): kid ≤ 12, teenager 13–19, young_adult 20–30, adult 31–60,
senior ≥ 61; male / female from ``users.gender``. Groups are derived from ``users`` at query time.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, islice
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, and_, distinct, func, or_, select
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

AGE_GROUPS: dict[str, tuple[int, int]] = {
    "kid": (0, 12),
    "teenager": (13, 19),
    "young_adult": (20, 30),
    "adult": (31, 60),
    "senior": (61, 200),
}
GENDER_GROUPS: dict[str, str] = {"male": "M", "female": "F"}
USER_GROUPS: tuple[str, ...] = (*AGE_GROUPS, *GENDER_GROUPS)
_GROUP_ALIASES = {
    "kids": "kid",
    "child": "kid",
    "children": "kid",
    "teen": "teenager",
    "teens": "teenager",
    "teenagers": "teenager",
    "young_adults": "young_adult",
    "adults": "adult",
    "seniors": "senior",
    "elderly": "senior",
    "men": "male",
    "males": "male",
    "man": "male",
    "women": "female",
    "females": "female",
    "woman": "female",
}

NUMERIC_FIELDS = {
    "year": Item.year,
    "imdb_year": Item.imdb_year,
    "ml_year": Item.ml_year,
    "imdb_rating": Item.imdb_rating,
    "duration_min": Item.duration_min,
    "imdb_num_reviews": Item.imdb_num_reviews,
}
Op = Literal["lt", "le", "gt", "ge", "eq"]
_OPS = {
    "lt": lambda c, v: c < v,
    "le": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "ge": lambda c, v: c >= v,
    "eq": lambda c, v: c == v,
}
# Above this many candidate ids the restriction is applied in Python, not as an SQL IN list.
_SQL_IN_LIMIT = 500


def age_group_of(age: int) -> str:
    for name, (low, high) in AGE_GROUPS.items():
        if low <= age <= high:
            return name
    return "senior"


def normalise_group(name: str) -> str:
    """``"Young adults"`` → ``"young_adult"``; ``InvalidArgumentError`` listing the valid groups."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    key = _GROUP_ALIASES.get(key, key)
    if key not in USER_GROUPS:
        raise InvalidArgumentError(
            f"unknown user group {name!r}: use one or more of {list(USER_GROUPS)}"
        )
    return key


@dataclass(frozen=True)
class NumericCondition:
    field: str
    op: Op
    value: float

    def clause(self) -> ColumnElement[bool]:
        column = NUMERIC_FIELDS[self.field]
        # NULL never satisfies a comparison: an item with an unknown value is not returned.
        return and_(column.is_not(None), _OPS[self.op](column, self.value))


@dataclass(frozen=True)
class ItemFilter:
    """Resolved filter: ids and exact stored spellings (see ``tools.filters`` for the resolving)."""

    genre_ids: tuple[int, ...] = ()  # every genre must be present (AND)
    people: tuple[tuple[Role, tuple[int, ...]], ...] = ()  # per name: any of its person ids
    countries: tuple[str, ...] = ()  # any of (OR)
    age_ratings: tuple[str, ...] = ()  # any of (OR)
    release_months: tuple[int, ...] = ()  # any of (OR)
    numeric: tuple[NumericCondition, ...] = ()  # all of (AND)

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for gid in self.genre_ids:
            out.append(Item.item_id.in_(select(ItemGenre.item_id).where(ItemGenre.genre_id == gid)))
        for role, person_ids in self.people:
            out.append(
                Item.item_id.in_(
                    select(Credit.item_id).where(
                        Credit.role == role, Credit.person_id.in_(list(person_ids))
                    )
                )
            )
        if self.countries:
            out.append(Item.country.in_(list(self.countries)))
        if self.age_ratings:
            out.append(Item.age_rating.in_(list(self.age_ratings)))
        if self.release_months:
            out.append(Item.release_month.in_(list(self.release_months)))
        out.extend(cond.clause() for cond in self.numeric)
        return out

    @property
    def is_empty(self) -> bool:
        return not self.clauses()


def _restrict(ids: Iterable[int], candidates: Collection[int] | None) -> list[int]:
    if candidates is None:
        return list(ids)
    allowed = set(candidates)
    return [i for i in ids if i in allowed]


def filter_item_ids(
    session: Session, spec: ItemFilter, candidates: Collection[int] | None = None
) -> list[int]:
    """Ids of the items satisfying every condition, ascending; within ``candidates`` if given."""
    query = select(Item.item_id).where(*spec.clauses()).order_by(Item.item_id)
    if candidates is not None and len(candidates) <= _SQL_IN_LIMIT:
        query = query.where(Item.item_id.in_(sorted(set(candidates))))
    return _restrict(session.scalars(query), candidates)


# The payload of an item in an engine's vector collection (``stores.engine_vectors``): every
# field ``ItemFilter`` tests, so a Qdrant payload filter selects what ``filter_item_ids`` does.
PAYLOAD_NUMERIC = tuple(NUMERIC_FIELDS)
PAYLOAD_KEYWORDS = ("country", "age_rating", "release_month")


def people_key(role: Role | str) -> str:
    """The payload key of a role's person ids (``people_actor``, …)."""
    return f"people_{Role(role).value}"


def filter_payloads(session: Session) -> dict[int, dict]:
    """item id → the values ``ItemFilter`` tests: ``genre_ids``, ``people_<role>`` (person ids),
    ``country``, ``age_rating``, ``release_month`` and the numeric fields. A NULL column is left
    out of the payload (no condition matches it, as in SQL)."""
    columns = [Item.item_id, *(getattr(Item, f) for f in PAYLOAD_KEYWORDS + PAYLOAD_NUMERIC)]
    out: dict[int, dict] = {}
    for row in session.execute(select(*columns)):
        values = dict(zip(("item_id", *PAYLOAD_KEYWORDS, *PAYLOAD_NUMERIC), row, strict=True))
        payload = {k: v for k, v in values.items() if v is not None}
        payload["genre_ids"] = []
        out[int(values["item_id"])] = payload
    for item_id, genre_id in session.execute(
        select(ItemGenre.item_id, ItemGenre.genre_id).order_by(ItemGenre.item_id)
    ):
        out[int(item_id)]["genre_ids"].append(int(genre_id))
    for item_id, person_id, role in session.execute(
        select(Credit.item_id, Credit.person_id, Credit.role).order_by(Credit.item_id)
    ):
        out[int(item_id)].setdefault(people_key(role), []).append(int(person_id))
    return out


# --- vocabularies (cached by the caller) ------------------------------------------------------


def genre_index(session: Session) -> dict[str, tuple[int, str]]:
    """lower-case genre name → (genre_id, stored name)."""
    return {
        name.lower(): (gid, name)
        for gid, name in session.execute(select(Genre.genre_id, Genre.name))
    }


def fold(name: str) -> str:
    """Matching key for names: case- and accent-insensitive, inner spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def people_index(session: Session, role: Role) -> dict[str, tuple[str, tuple[int, ...]]]:
    """fold(name) → (a stored spelling, person ids) for everyone credited in ``role``."""
    query = (
        select(Person.person_id, Person.name)
        .join(Credit, Credit.person_id == Person.person_id)
        .where(Credit.role == role)
        .distinct()
        .order_by(Person.person_id)
    )
    index: dict[str, tuple[str, tuple[int, ...]]] = {}
    for pid, name in session.execute(query):
        key = fold(name)
        spelling, ids = index.get(key, (name, ()))
        index[key] = (spelling, (*ids, int(pid)))
    return index


def distinct_values(session: Session, column: Literal["country", "age_rating"]) -> list[str]:
    col = getattr(Item, column)
    return sorted(session.scalars(select(col).where(col.is_not(None)).distinct()))


class NameIndex:
    """Known names, folded once, for "did you mean" suggestions: rapidfuzz's ratio (the
    normalised InDel similarity, difflib's ratio computed in C) over the folded names, plus
    names that contain the query ("Cruise" → "Tom Cruise"). About a millisecond per query over
    the ~20,000 people of the enriched catalogue (difflib over a list rebuilt per call: ~70 ms)."""

    CUTOFF = 55  # percent similarity, as difflib's cutoff of 0.55 was

    def __init__(self, names: Iterable[str]) -> None:
        by_key: dict[str, str] = {}
        for name in names:
            by_key.setdefault(fold(name), name)
        self._keys = list(by_key)
        self._names = list(by_key.values())
        # every key on one line of a blob: substring hits are str.find calls in C
        self._blob = "\n".join(self._keys)
        self._starts = list(accumulate((len(k) + 1 for k in self._keys[:-1]), initial=0))

    def __len__(self) -> int:
        return len(self._keys)

    def closest(self, name: str, n: int = 5) -> list[str]:
        """Up to ``n`` known names closest to ``name``, best first."""
        needle = fold(name)
        if not needle:
            return []
        hits = process.extract(
            needle,
            self._keys,
            scorer=fuzz.ratio,
            processor=None,
            limit=n,
            score_cutoff=self.CUTOFF,
        )
        found = [index for _key, _score, index in hits]
        if len(found) < n:  # also offer names that contain the query, e.g. "Cruise"
            found += islice(self._containing(needle, set(found)), n - len(found))
        return [self._names[i] for i in found]

    def _containing(self, needle: str, skip: set[int]) -> Iterator[int]:
        if "\n" in needle:
            return
        at = self._blob.find(needle)
        while at != -1:
            i = bisect_right(self._starts, at) - 1
            if i not in skip:
                yield i
            at = self._blob.find(needle, self._starts[i] + len(self._keys[i]) + 1)


def closest_names(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """Up to ``n`` candidates closest to ``name`` (a one-off ``NameIndex``; keep an index for
    repeated queries over the same names)."""
    return NameIndex(candidates).closest(name, n)


# --- users, ratings ---------------------------------------------------------------------------


def group_clause(groups: Sequence[str]) -> ColumnElement[bool] | None:
    """Users in ANY listed age group AND (if genders are listed) of ANY listed gender."""
    ages = [AGE_GROUPS[g] for g in groups if g in AGE_GROUPS]
    genders = [GENDER_GROUPS[g] for g in groups if g in GENDER_GROUPS]
    parts: list[ColumnElement[bool]] = []
    if ages:
        parts.append(or_(*(User.age.between(low, high) for low, high in ages)))
    if genders:
        parts.append(User.gender.in_(genders))
    return and_(*parts) if parts else None


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
        query = (
            select(ItemGenre.item_id, Genre.name)
            .join(Genre, Genre.genre_id == ItemGenre.genre_id)
            .where(ItemGenre.item_id.in_(ids))
            .order_by(ItemGenre.item_id, Genre.name)
        )
        for item_id, name in session.execute(query):
            rows[item_id]["genres"].append(name)
    roles = {PEOPLE_FIELDS[f]: f for f in fields if f in PEOPLE_FIELDS}
    if roles:
        for row in rows.values():
            row.update({f: [] for f in roles.values()})
        query = (
            select(Credit.item_id, Credit.role, Person.name)
            .join(Person, Person.person_id == Credit.person_id)
            .where(Credit.item_id.in_(ids), Credit.role.in_(list(roles)))
            .order_by(Credit.item_id, Credit.role, Credit.position)
        )
        for item_id, role, name in session.execute(query):
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


def items_with_text_line_breaks(session: Session) -> set[int]:
    """Enriched items with a line break in any text field before ``storyline``.

    The peer's loader split the enrichment file on physical lines and skipped records whose
    quoted text spans several lines; this is exactly that set (used by the peer replay only).
    """
    columns = (Item.title, Item.country, Item.age_rating, Item.description)
    people = select(Credit.item_id).join(Person).where(Person.name.contains("\n"))
    query = select(Item.item_id).where(
        or_(*(c.contains("\n") for c in columns), Item.item_id.in_(people))
    )
    return set(session.scalars(query))


def enriched_item_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Item.item_id).where(Item.enriched.is_(True))))
