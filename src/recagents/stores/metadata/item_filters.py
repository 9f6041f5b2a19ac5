"""Item filters (SQLAlchemy Core, bound parameters only) and the payload that mirrors them.

``ItemFilter`` holds resolved ids and exact stored spellings; ``filter_item_ids`` runs it on the
metadata store, and ``filter_payloads`` gives every item the values it tests, so a Qdrant
payload filter over an engine's vector collection selects the same items.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from recagents.stores.metadata.models import Credit, Item, ItemGenre, Role

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
