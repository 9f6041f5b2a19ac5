"""Everything the tools need, built once: ``ToolContext.from_settings(settings)``.

Holds the read-only metadata store, the recommender, the vector store (opened lazily: it loads
the embedding model), the Swing index (built lazily from the ratings), the candidate bus and
small caches of read-only facts (titles, vocabularies, popularity counts). Tests build it from
their fixtures with the constructor.

``ToolOptions`` switches the few semantics where we deliberately differ from the peer project
(recsys-agent); ``ToolOptions.peer_compatible()`` selects the peer's variant (see
``recagents.eval.tools_replay`` for why each differs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from recagents.errors import InvalidArgumentError, UnknownItemError
from recagents.settings import Settings
from recagents.stores.metadata import MetadataStore
from recagents.stores.metadata import queries as q
from recagents.stores.metadata.models import Role
from recagents.tools.bus import CandidateBus, looks_like_handle


@dataclass(frozen=True)
class ToolOptions:
    # popular_items: keep only items above this quantile of the pool's counts (peer: 0.75).
    # Ours: None, plain top-k (the peer's cut returns 1 of 3 asked when the pool is small).
    popularity_quantile: float | None = None
    # filter_items release year: "year" (IMDb year, else MovieLens year) or the peer's "imdb_year"
    # (items without an IMDb year never match).
    year_field: Literal["year", "imdb_year"] = "year"
    # The item ids the tools treat as the catalog (None: every item in the store).
    universe: frozenset[int] | None = None
    inline_limit: int = 20  # id sets up to this size are returned inline, larger ones as handles
    preview_size: int = 10

    @classmethod
    def peer_compatible(cls, universe: Iterable[int] | None = None) -> ToolOptions:
        return cls(
            popularity_quantile=0.75,
            year_field="imdb_year",
            universe=None if universe is None else frozenset(universe),
        )


@dataclass
class ToolContext:
    settings: Settings
    store: MetadataStore
    recommender: Any = None  # recagents.recommender.service.Recommender (lazy if None)
    vectors: Any = None  # recagents.stores.vectors.VectorStore (lazy if None)
    swing: Any = None  # recagents.recommender.swing.SwingIndex (lazy if None)
    bus: CandidateBus = field(default_factory=CandidateBus)
    options: ToolOptions = field(default_factory=ToolOptions)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _counts: dict[tuple[str, ...], dict[int, int]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, options: ToolOptions | None = None) -> ToolContext:
        """Open the built stores (read-only); the recommender, vectors and Swing load on first use."""
        return cls(
            settings=settings, store=MetadataStore.open(settings), options=options or ToolOptions()
        )

    def close(self) -> None:
        if self.vectors is not None and hasattr(self.vectors, "close"):
            self.vectors.close()
        self.store.close()

    # --- lazily built parts ---------------------------------------------------------------
    def get_recommender(self) -> Any:
        with self._lock:
            if self.recommender is None:
                from recagents.recommender.service import get_recommender

                self.recommender = get_recommender(self.settings)
            return self.recommender

    def get_vectors(self) -> Any:
        with self._lock:
            if self.vectors is None:
                from recagents.stores.vectors import VectorStore

                self.vectors = VectorStore.open(self.settings, read_only=True)
            return self.vectors

    def get_swing(self) -> Any:
        with self._lock:
            if self.swing is None:
                from recagents.recommender.swing import SwingIndex

                self.swing = SwingIndex.from_store(self.store)
            return self.swing

    @property
    def max_k(self) -> int:
        return self.settings.max_k

    # --- cached read-only facts -------------------------------------------------------------
    @cached_property
    def titles(self) -> dict[int, str]:
        with self.store.session() as s:
            return q.titles(s)

    @cached_property
    def genres(self) -> dict[str, tuple[int, str]]:
        with self.store.session() as s:
            return q.genre_index(s)

    @cached_property
    def countries(self) -> list[str]:
        with self.store.session() as s:
            return q.distinct_values(s, "country")

    @cached_property
    def age_ratings(self) -> list[str]:
        with self.store.session() as s:
            return q.distinct_values(s, "age_rating")

    def people(self, role: Role) -> dict[str, tuple[str, tuple[int, ...]]]:
        """fold(name) → (spelling, person ids) for ``role`` (cached)."""
        key = f"_people_{role.value}"
        if key not in self.__dict__:
            with self.store.session() as s:
                self.__dict__[key] = q.people_index(s, role)
        return self.__dict__[key]

    def people_names(self, role: Role) -> list[str]:
        return [spelling for spelling, _ in self.people(role).values()]

    def rating_counts(self, groups: Sequence[str]) -> dict[int, int]:
        """item → ratings by users in ``groups`` (cached: the store is read-only)."""
        key = tuple(sorted(groups))
        counts = self._counts.get(key)
        if counts is None:
            with self.store.session() as s:
                counts = self._counts[key] = q.rating_counts(s, key)
        return counts

    @property
    def catalog_ids(self) -> frozenset[int]:
        return self.options.universe if self.options.universe is not None else self.store.item_ids

    # --- arguments shared by several tools ---------------------------------------------------
    def resolve_items(
        self, thread_id: str, items: str | Sequence[int | str] | None, *, what: str = "items"
    ) -> list[int] | None:
        """A handle or a list of ids → ids (order kept, duplicates dropped), within the universe.

        ``None`` stays ``None`` (no restriction). Unknown ids are an error naming them.
        """
        if items is None:
            return None
        if isinstance(items, str):
            if not looks_like_handle(items):
                parts = [p for p in items.replace(",", " ").split() if p]
                if not parts or not all(p.isdigit() for p in parts):
                    raise InvalidArgumentError(
                        f"{what} must be a candidate handle like 'C1' or a list of item ids, "
                        f"got {items[:60]!r}"
                    )
                ids = [int(p) for p in parts]
            else:
                ids = list(self.bus.get(thread_id, items))
        else:
            ids = []
            for value in items:
                if isinstance(value, bool) or not str(value).strip().isdigit():
                    raise InvalidArgumentError(f"{what} holds {value!r}: item ids are integers")
                ids.append(int(value))
        ids = list(dict.fromkeys(ids))
        unknown = [i for i in ids if i not in self.store.item_ids]
        if unknown:
            raise UnknownItemError(
                f"unknown item id(s) in {what}: {unknown[:10]}{' …' if len(unknown) > 10 else ''}"
                f"; valid ids are 1–{max(self.store.item_ids)}. Drop them or use ids returned "
                "by a tool."
            )
        if self.options.universe is not None:
            ids = [i for i in ids if i in self.options.universe]
        return ids

    def check_k(self, k: int, what: str = "k") -> int:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.max_k:
            raise InvalidArgumentError(
                f"{what} must be an integer from 1 to {self.max_k}, got {k!r}"
            )
        return k

    def id_set(self, thread_id: str, ids: Sequence[int], origin: str) -> dict:
        """An id list for a result: always a handle on the bus; the ids inline when few, else
        a short preview (id + title)."""
        ids = list(ids)
        handle = self.bus.put(thread_id, ids, origin)
        if len(ids) <= self.options.inline_limit:
            return {"handle": handle, "count": len(ids), "item_ids": ids}
        preview = [
            {"item_id": i, "title": self.titles.get(i)} for i in ids[: self.options.preview_size]
        ]
        return {"handle": handle, "count": len(ids), "preview": preview}
