"""The names filters are resolved against: the genre, people, country and age-rating
vocabularies (cached by the caller), the folding that matches names, and "did you mean"."""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate, islice
from typing import Literal

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from recagents.stores.metadata.models import Credit, Genre, Item, Person, Role


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
