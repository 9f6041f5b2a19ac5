"""The graph-enhanced text embeddings in Qdrant: one collection per history view.

The embeddings depend on the view (``none | valid | test``: they are propagated over the ratings
that are history under it) while the plot vectors do not, so each view has its own collection
``graph_text_<view>``: point id = item id, cosine, and as payload the item's ``title``, ``year``,
``genres`` plus the fields the SQL item filters test (``MetadataStore.filter_payloads``), so a
hard filter is a payload filter (``engine_vectors.payload_conditions``), in local mode and on a
server alike. The collection's metadata is the build's fingerprint (``stamp``): a build whose
inputs did not change is skipped.

The text vectors are read from the plot collection (``settings.qdrant_collection``, built by
``VectorStore.index_catalog``): the same MiniLM vectors, never embedded again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from recagents.errors import NotBuiltError
from recagents.recommender.split import Holdout, check_holdout
from recagents.recommender.topk import ScoredItem
from recagents.settings import Settings
from recagents.stores.embeddings import EMBEDDING_DIM
from recagents.stores.engine_vectors import nearest, write_collection
from recagents.stores.metadata.item_filters import ItemFilter
from recagents.stores.qdrant_clients import ClientHolder, SharedClient, open_shared

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "graph_text_"
PLOT_FIELDS = ["title", "year", "genres", "text_sha256"]
PAGE = 512
NOT_BUILT = "run `recagents setup` (step graph_text) to build it"


def collection_name(view: str) -> str:
    return f"{COLLECTION_PREFIX}{check_holdout(view)}"


def _dense(vector: Any) -> list[float] | None:
    """The dense text vector of a point: the unnamed vector, or the named one of the embedding's
    size (the plot collection may carry other named vectors, e.g. a sparse keyword one)."""
    if isinstance(vector, list):
        return vector
    if isinstance(vector, dict):
        for value in vector.values():
            if isinstance(value, list) and len(value) == EMBEDDING_DIM:
                return value
    return None


class GraphTextVectors(ClientHolder):
    """Read, write and search ``graph_text_<view>``. Build with :meth:`open`."""

    def __init__(self, shared: SharedClient, settings: Settings, view: Holdout) -> None:
        super().__init__(shared, settings.qdrant_url)
        self.settings = settings
        self.view = view
        self.collection = collection_name(view)

    @classmethod
    def open(cls, settings: Settings, view: Holdout) -> GraphTextVectors:
        return cls(open_shared(settings), settings, check_holdout(view))

    # --- the plot vectors it is built from ----------------------------------------------------
    def plot_vectors(self) -> tuple[np.ndarray, np.ndarray, dict[int, dict]]:
        """(item ids, their text vectors (n, 384), item → title/year/genres/text_sha256) from
        the plot collection; ``NotBuiltError`` when it is missing."""
        plot = self.settings.qdrant_collection
        ids: list[int] = []
        vectors: list[list[float]] = []
        payloads: dict[int, dict] = {}
        with self._client() as client:
            if not client.collection_exists(plot):
                raise NotBuiltError(
                    f"no plot vectors (collection {plot!r}): run `recagents setup` (step vectors)"
                )
            offset = None
            while True:
                points, offset = client.scroll(
                    plot, limit=PAGE, offset=offset, with_payload=PLOT_FIELDS, with_vectors=True
                )
                for p in points:
                    dense = _dense(p.vector)
                    if dense is not None:
                        ids.append(int(p.id))
                        vectors.append(dense)
                        payloads[int(p.id)] = dict(p.payload or {})
                if offset is None:
                    break
        order = np.argsort(ids)
        matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, EMBEDDING_DIM)[order]
        return np.asarray(ids, dtype=np.int64)[order], matrix, payloads

    # --- building -----------------------------------------------------------------------------
    def stamp(self) -> dict | None:
        """The fingerprint the collection was built with (None when it is missing)."""
        with self._client() as client:
            if not client.collection_exists(self.collection):
                return None
            return client.get_collection(self.collection).config.metadata

    def write(
        self, item_ids: np.ndarray, vectors: np.ndarray, payloads: dict[int, dict], stamp: dict
    ) -> None:
        """Replace the collection with these points (one transaction in local mode)."""
        with self._client() as client:
            write_collection(
                client, self.url, self.collection, item_ids, vectors, payloads,
                distance=qm.Distance.COSINE, metadata=stamp,
            )  # fmt: skip
        log.debug("graph text %s: %d points", self.collection, len(item_ids))

    # --- reading and serving ------------------------------------------------------------------
    def _require(self, client: QdrantClient) -> None:
        if not client.collection_exists(self.collection):
            raise NotBuiltError(f"no graph-text embeddings for view {self.view!r}: {NOT_BUILT}")

    def count(self) -> int:
        with self._client() as client:
            self._require(client)
            return client.count(self.collection, exact=True).count

    def vectors_of(self, item_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """item → its graph-enhanced embedding, for the ids that have one."""
        ids = sorted({int(i) for i in item_ids})
        if not ids:
            return {}
        with self._client() as client:
            self._require(client)
            points = client.retrieve(self.collection, ids=ids, with_vectors=True)
        return {int(p.id): np.asarray(_dense(p.vector), dtype=np.float32) for p in points}

    def search(
        self,
        vector: np.ndarray,
        k: int,
        *,
        spec: ItemFilter | None = None,
        candidates: Collection[int] | None = None,
        exclude: Iterable[int] = (),
    ) -> list[ScoredItem]:
        """The ``k`` items nearest ``vector`` (cosine) that pass ``spec`` (payload filter), lie
        in ``candidates`` (when given) and are not in ``exclude``; best first."""
        with self._client() as client:
            self._require(client)
            return nearest(client, self.collection, vector, k, spec, candidates, exclude)
