"""``ServiceContext``: the opened stores, the recommender and the history view, built once.

The composition root opens it (``recagents.resources.open_services``: the metadata store,
read-only, under a history view); the parts below open here, on first use, each in one getter.

Holds the read-only metadata repository, the recommender, the vector store (opened lazily: it
loads the embedding model) and the Swing index (built lazily from the visible ratings). The
``holdout`` view (none | valid | test) applies to every service: hidden ratings are not history,
not counted and not masked. Tests build the context from their fixtures with the constructor.

``ServiceOptions`` holds the few semantics a caller may switch: a popularity cut, which year the
release-year filter reads, and the item universe the services treat as the catalogue. The
defaults are the product's; an evaluation that compares with another system's recorded results
sets its own values.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np

from recagents.errors import InvalidArgumentError, UnknownItemError
from recagents.recommender.split import HistoryView, Holdout, Split, check_holdout
from recagents.settings import Settings
from recagents.stores.metadata import MetadataStore

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from recagents.recommender.graph_text import GraphTextConfig
    from recagents.recommender.inference import Recommender
    from recagents.recommender.reranker import TwoStage
    from recagents.recommender.swing import SwingIndex
    from recagents.services.grounding import TitleIndex
    from recagents.stores.engine_vectors import EngineVectors
    from recagents.stores.graph_vectors import GraphTextVectors
    from recagents.stores.vectors import VectorStore

    ActiveEngine = Recommender | EngineVectors | TwoStage
    """The active engine as the services rank with it: its score matrix, or its Qdrant collection
    in front of it (``serving=vectors``), with the ranking stage after either where
    ``ranking.yaml`` enables it (the wrappers answer everything else as the engine does)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceOptions:
    # popular_items: keep only items above this quantile of the pool's counts (a cut can return
    # fewer than k when the pool is small). None: plain top-k.
    popularity_quantile: float | None = None
    # filter release year: "year" (IMDb year, else MovieLens year) or "imdb_year" only (items
    # without an IMDb year never match).
    year_field: Literal["year", "imdb_year"] = "year"
    # The item ids the services treat as the catalog (None: every item in the store).
    universe: frozenset[int] | None = None


def open_ahead(parts: Mapping[str, Callable[[], object]]) -> dict[str, float]:
    """Call each part's opener now, in order; seconds per part. Best effort: a part that fails
    is logged and left to fail again, with its own message, where a request needs it."""
    seconds: dict[str, float] = {}
    for name, open_part in parts.items():
        started = time.perf_counter()
        try:
            open_part()
        except Exception as exc:  # noqa: BLE001 - warming is best effort
            log.warning("could not open the %s ahead of the first request: %s", name, exc)
        seconds[name] = round(time.perf_counter() - started, 3)
    return seconds


@dataclass
class ServiceContext:
    settings: Settings
    store: MetadataStore
    recommender: ActiveEngine | None = None  # the active engine (lazy if None)
    vectors: VectorStore | None = None  # the plot embeddings (lazy if None)
    swing: SwingIndex | None = None  # over the visible ratings (lazy if None)
    options: ServiceOptions = field(default_factory=ServiceOptions)
    holdout: Holdout = "none"
    agent_store: BaseStore | None = None  # the agents' memory (lazy if None)
    graph_text: GraphTextVectors | None = None  # this view's graph-text collection (lazy)
    _exit: ExitStack = field(default_factory=ExitStack, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _counts: dict[tuple[str, ...], dict[int, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_holdout(self.holdout)

    def close(self) -> None:
        self._exit.close()
        if self.vectors is not None and hasattr(self.vectors, "close"):
            self.vectors.close()
        self.store.close()

    # --- lazily built parts ---------------------------------------------------------------
    def warm(self) -> dict[str, float]:
        """Open the lazily built parts a recommendation reads (the engine, the plot vectors and
        their embedding model, Swing, the agents' store, the title index) now, so the first
        request does not pay for them; seconds per part (``open_ahead``)."""
        return open_ahead(
            {
                "engine": self.get_recommender,
                "plot vectors": lambda: self.get_vectors().embedder.load(),
                "swing": self.get_swing,
                "agents' store": self.get_agent_store,
                "title index": lambda: self.title_index,
            }
        )

    @cached_property
    def view(self) -> HistoryView:
        """Which ratings are history (the split is read only for an evaluation view)."""
        if self.holdout == "none":
            return HistoryView.none()
        from recagents.recommender.train import split_path

        return HistoryView.from_split(Split.load(split_path(self.settings)), self.holdout)

    def get_recommender(self) -> ActiveEngine:
        with self._lock:
            if self.recommender is None:
                from recagents.recommender.inference import get_recommender

                rec: ActiveEngine = get_recommender(self.settings)
                if self.settings.serving == "vectors":
                    from recagents.stores.engine_vectors import EngineVectors

                    rec = EngineVectors.open(self.settings, rec, self.store.filter_payloads)
                    self._exit.callback(rec.close)
                from recagents.recommender.reranker import Reranker, TwoStage, ranking_config

                ranking = ranking_config(self.settings)
                if ranking.enabled:  # retrieval → ranking
                    rec = TwoStage(rec, Reranker.load_or_fit(self.settings, rec, ranking))
                self.recommender = rec
            return self.recommender

    def get_vectors(self) -> VectorStore:
        with self._lock:
            if self.vectors is None:
                from recagents.stores.vectors import VectorStore

                self.vectors = VectorStore.open(self.settings, read_only=True)
            return self.vectors

    def get_graph_text(self) -> GraphTextVectors:
        """The graph-enhanced text embeddings of this view (``graph_text_<holdout>``)."""
        with self._lock:
            if self.graph_text is None:
                from recagents.stores.graph_vectors import GraphTextVectors

                self.graph_text = GraphTextVectors.open(self.settings, self.holdout)
                self._exit.callback(self.graph_text.close)
            return self.graph_text

    @cached_property
    def graph_text_config(self) -> GraphTextConfig:
        """``configs/graph_text.yaml`` (``recommender.graph_text.GraphTextConfig``)."""
        from recagents.recommender.graph_text import GraphTextConfig

        return GraphTextConfig.load(self.settings)

    def get_agent_store(self) -> BaseStore:
        """The agents' LangGraph Store in the configured database (read-write URL: it caches
        User Understanding's profiles); an in-memory store, with a warning, where that
        database cannot be opened."""
        with self._lock:
            if self.agent_store is None:
                from recagents.stores.checkpoints import open_store

                try:
                    self.agent_store = self._exit.enter_context(
                        open_store(self.settings.sqlalchemy_url)
                    )
                except Exception as exc:  # noqa: BLE001 - a cache must not stop a recommendation
                    from langgraph.store.memory import InMemoryStore

                    log.warning("agents' store unavailable (%s): profiles kept in memory", exc)
                    self.agent_store = InMemoryStore()
            return self.agent_store

    def get_swing(self) -> SwingIndex:
        """The Swing index over the ratings that are history under the view."""
        with self._lock:
            if self.swing is None:
                from recagents.recommender.swing import SwingIndex

                users, items, ratings = self.visible_ratings()
                self.swing = SwingIndex(users, items, ratings)
            return self.swing

    # --- the history view applied to the ratings -----------------------------------------
    def visible_ratings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        users, items, ratings = self.store.all_ratings()
        keep = self.view.visible_mask(users, items)
        return users[keep], items[keep], ratings[keep]

    def rating_counts(self, groups: Sequence[str]) -> dict[int, int]:
        """item → visible ratings by users in ``groups`` (cached: the store is read-only)."""
        key = tuple(sorted(groups))
        with self._lock:
            counts = self._counts.get(key)
            if counts is None:
                counts = dict(self.store.rating_counts(key))
                if self.view.hides_anything:
                    members = self.store.users_in_groups(key)
                    for user, item in self.view.hidden_pairs.tolist():
                        if user in members and counts.get(item, 0) > 0:
                            counts[item] -= 1
                self._counts[key] = counts
            return counts

    def history(self, user_id: int, limit: int | None = None) -> list[dict]:
        """The user's visible ratings, newest first (``item_id``, ``title``, ``rating``,
        ``timestamp``): the one history every layer reads."""
        if not self.view.hides_anything:
            return self.store.user_ratings(user_id, limit)
        hidden = self.view.hidden_items(user_id)
        rows = [r for r in self.store.user_ratings(user_id) if r["item_id"] not in hidden]
        return rows if limit is None else rows[:limit]

    def count_raters(self, items: Sequence[int], min_rating: int | None = None) -> int:
        """Distinct users with a visible rating (≥ ``min_rating``) on any of ``items``."""
        if not self.view.hides_anything:
            return self.store.count_raters(items, min_rating)
        pairs = self.store.rater_pairs(items, min_rating)
        keep = self.view.visible_mask(pairs[:, 0], pairs[:, 1])
        return int(np.unique(pairs[keep, 0]).size)

    # --- catalog ----------------------------------------------------------------------------
    @property
    def catalog_ids(self) -> frozenset[int]:
        return self.options.universe if self.options.universe is not None else self.store.item_ids

    @property
    def titles(self) -> dict[int, str]:
        return self.store.titles

    @cached_property
    def title_index(self) -> TitleIndex:
        """The catalogue's titles in the forms people write them (``services.grounding``),
        built once: what grounds answers and checks explanations."""
        from recagents.services.grounding import TitleIndex

        return TitleIndex(self.titles)

    def check_items(self, ids: Iterable[int], *, what: str = "items") -> list[int]:
        """Known item ids (order kept, duplicates dropped), restricted to the universe."""
        ids = list(dict.fromkeys(int(i) for i in ids))
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

    def candidate_pool(self, candidates: Sequence[int] | None) -> list[int] | None:
        """``candidates`` checked, or the universe when one is set, or None (everything)."""
        if candidates is None:
            return None if self.options.universe is None else sorted(self.options.universe)
        ids = self.check_items(candidates, what="candidates")
        if not ids:
            raise InvalidArgumentError(
                "the candidate set is empty: nothing to rank. Relax the filter."
            )
        return ids
