"""A factorised engine served from Qdrant: its item vectors in a collection, top-k a search.

An engine whose scores are ``user · item`` (BPR, LightGCN, the two-tower engine: the checkpoint
holds ``user_vectors``) puts its item vectors into the collection ``engine_<name>`` (point id =
item id, dot product) with the fields item filters test as payload (``item_filters.filter_payloads``:
genre ids, person ids per role, country, age rating, release month, years, IMDb rating, duration,
review count). Top-k for a user, or for any query vector (a folded-in history, a cold user's
tower), is one Qdrant query: the hard filter is a payload filter, the user's history a
``must_not`` on ids, so a constrained recommendation never scores the whole catalogue in Python.
Qdrant's exact search returns what the dense score matrix ranks (tested on ML-100k).

The collection is (re)built on open when it is missing or was built from another checkpoint
(the checkpoint's ``trained_at`` and a digest of the payloads are the collection's metadata):
1,682 points take well under a second in local mode (one transaction) or on a server.

Engines without a factorised form (EASE, ItemKNN, MultiVAE) have no user vectors: asking for this
path raises ``NoVectorsError``; they keep the dense path (``recommender.inference``), whose
checkpoint is the users x items score matrix (4 bytes per pair: ML-100k 6 MB, 100k users x
1M items 400 GB).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from recagents.errors import InvalidArgumentError
from recagents.recommender.topk import ScoredItem, TopK, check_id, check_k
from recagents.settings import MAX_K, Settings
from recagents.stores.metadata.item_filters import ItemFilter, people_key
from recagents.stores.qdrant_clients import (
    ClientHolder,
    SharedClient,
    one_local_transaction,
    open_shared,
)

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "engine_"
UPSERT_BATCH = 512
_RANGE_OPS = {"lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}


class NoVectorsError(InvalidArgumentError):
    """The engine has no user/item vectors to serve from (not a factorised engine)."""


def collection_name(engine: str) -> str:
    return f"{COLLECTION_PREFIX}{engine.lower()}"


def payload_conditions(spec: ItemFilter | None) -> list[qm.Condition]:
    """The ``must`` conditions selecting what ``spec.clauses()`` selects in SQL."""
    if spec is None:
        return []
    must: list[qm.Condition] = [
        qm.FieldCondition(key="genre_ids", match=qm.MatchValue(value=int(gid)))
        for gid in spec.genre_ids
    ]
    for role, person_ids in spec.people:
        ids = [int(p) for p in person_ids]
        must.append(qm.FieldCondition(key=people_key(role), match=qm.MatchAny(any=ids)))
    for key, values in (
        ("country", [str(v) for v in spec.countries]),
        ("age_rating", [str(v) for v in spec.age_ratings]),
        ("release_month", [int(v) for v in spec.release_months]),
    ):
        if values:
            must.append(qm.FieldCondition(key=key, match=qm.MatchAny(any=values)))
    for cond in spec.numeric:
        value = float(cond.value)
        bounds = {"gte": value, "lte": value} if cond.op == "eq" else {_RANGE_OPS[cond.op]: value}
        must.append(qm.FieldCondition(key=cond.field, range=qm.Range(**bounds)))
    return must


def search_filter(
    spec: ItemFilter | None, candidates: Collection[int] | None = None, exclude: Iterable[int] = ()
) -> qm.Filter | None:
    """The Qdrant filter of a search: ``spec`` as payload conditions, only ``candidates`` (when
    given), never ``exclude``; None when nothing restricts."""
    must = payload_conditions(spec)
    if candidates is not None:
        must.append(qm.HasIdCondition(has_id=sorted({int(c) for c in candidates})))
    excluded = sorted({int(i) for i in exclude})
    must_not: list[qm.Condition] = [qm.HasIdCondition(has_id=excluded)] if excluded else []
    if not (must or must_not):
        return None
    return qm.Filter(must=must or None, must_not=must_not or None)


def nearest(
    client: QdrantClient,
    collection: str,
    vector: np.ndarray,
    k: int,
    spec: ItemFilter | None,
    candidates: Collection[Any] | None,
    exclude: Iterable[int],
) -> list[ScoredItem]:
    """The ``k`` points of ``collection`` nearest ``vector`` (by its distance) that pass the
    payload filter of ``spec``, lie in ``candidates`` (when given) and are not excluded."""
    points = client.query_points(
        collection,
        query=np.asarray(vector, dtype=np.float32).tolist(),
        query_filter=search_filter(spec, candidates, exclude),
        limit=k,
        with_payload=False,
    ).points
    return [ScoredItem(int(p.id), float(p.score)) for p in points]


def write_collection(
    client: QdrantClient,
    url: str | None,
    collection: str,
    items: Sequence[int] | np.ndarray,
    vectors: np.ndarray,
    payloads: dict[int, dict],
    *,
    distance: qm.Distance,
    metadata: dict,
) -> None:
    """(Re)create ``collection`` holding item ``items[n]`` → ``vectors[n]`` with its payload
    (plus ``item_id``); one transaction in local mode, batches on a server (``url``)."""
    if client.collection_exists(collection):
        client.delete_collection(collection)
    client.create_collection(
        collection,
        vectors_config=qm.VectorParams(size=vectors.shape[1], distance=distance),
        metadata=metadata,
    )
    if url:  # payload indexes only matter on a server
        for field, schema in (
            ("genre_ids", qm.PayloadSchemaType.INTEGER),
            ("year", qm.PayloadSchemaType.INTEGER),
        ):
            client.create_payload_index(collection, field, field_schema=schema)
    points = [
        qm.PointStruct(
            id=int(item),
            vector=np.asarray(vectors[n], dtype=np.float32).tolist(),
            payload={**payloads.get(int(item), {}), "item_id": int(item)},
        )
        for n, item in enumerate(items)
    ]
    if url is None:
        with one_local_transaction(client, collection):
            client.upsert(collection, points=points, wait=True)
        return
    for start in range(0, len(points), UPSERT_BATCH):
        client.upsert(collection, points=points[start : start + UPSERT_BATCH], wait=True)


def _digest(payloads: dict[int, dict]) -> str:
    text = json.dumps(sorted(payloads.items()), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class EngineVectors(ClientHolder):
    """Top-k of a factorised engine from its Qdrant collection. Build with :meth:`open`."""

    def __init__(self, shared: SharedClient, settings: Settings, rec: Any, collection: str):
        super().__init__(shared, settings.qdrant_url)
        self.rec = rec
        self.collection = collection
        self.built = False  # whether open() (re)built the collection

    @classmethod
    def open(
        cls,
        settings: Settings,
        rec: Any,
        payloads: dict[int, dict] | Callable[[], dict[int, dict]],
    ) -> EngineVectors:
        """The collection of ``rec``'s engine (a ``Recommender``), built when missing or stale.

        ``payloads``: item id → filter fields (``MetadataStore.filter_payloads``), or a callable
        returning them. ``NoVectorsError`` when the engine has no user vectors.
        """
        if getattr(rec, "user_vectors", None) is None:
            raise NoVectorsError(
                f"engine {rec.model} has no user/item vectors to serve from Qdrant (only "
                "factorised engines do: BPR, LightGCN, TwoTower; a checkpoint from before "
                "vector export needs `recagents train --model "
                f"{rec.model}`); serve it from its score matrix (RECAGENTS_SERVING=dense)."
            )
        index = cls(open_shared(settings), settings, rec, collection_name(rec.model))
        try:
            index.built = index._ensure(payloads() if callable(payloads) else payloads)
        except BaseException:
            index.close()
            raise
        return index

    # --- building ---------------------------------------------------------------------------
    def _ensure(self, payloads: dict[int, dict]) -> bool:
        rec = self.rec
        items = rec.item_ext[1:]
        vectors = np.asarray(rec.item_vectors[1:], dtype=np.float32)
        stamp = {
            "model": rec.model,
            "trained_at": rec.trained_at,
            "points": len(items),
            "payloads": _digest(payloads),
        }
        with self._client() as client:
            current = client.collection_exists(self.collection) and (
                client.get_collection(self.collection).config.metadata == stamp
            )
            if current:
                return False
            write_collection(
                client, self.url, self.collection, items, vectors, payloads,
                distance=qm.Distance.DOT, metadata=stamp,
            )  # fmt: skip
        log.info("engine vectors %s: %d points built", self.collection, len(items))
        return True

    def count(self) -> int:
        with self._client() as client:
            return client.count(self.collection, exact=True).count

    # --- serving ----------------------------------------------------------------------------
    def search(
        self,
        vector: np.ndarray,
        k: int,
        *,
        spec: ItemFilter | None = None,
        candidates: Collection[int] | None = None,
        exclude: Iterable[int] = (),
    ) -> list[ScoredItem]:
        """The ``k`` items of largest ``vector · item`` that pass ``spec`` (payload filter),
        lie in ``candidates`` (when given) and are not in ``exclude``; best first."""
        with self._client() as client:
            return nearest(client, self.collection, vector, k, spec, candidates, exclude)

    def top_k(
        self,
        user_id: Any,
        k: int = 10,
        candidates: Collection[Any] | None = None,
        exclude_seen: bool = True,
        view: Any = None,
        *,
        spec: ItemFilter | None = None,
    ) -> TopK:
        """The user's k best items from Qdrant, as ``Recommender.top_k`` ranks them from the
        score matrix (same masks: history under ``view``, ``candidates``), plus ``spec`` as a
        payload filter. A user the engine does not know gets its popularity fallback."""
        k = check_k(k, MAX_K)
        uid = check_id(user_id, "user_id")
        rec = self.rec
        if not rec.known_user(uid):
            allowed = self._allowed(spec, candidates)
            if allowed is not None and not allowed:
                return TopK(uid, [], fallback=True, reason="no item passes the filter")
            return rec.top_k(uid, k, candidates=allowed, view=view)
        exclude = rec.seen_items(uid, view) if exclude_seen else ()
        vector = rec.user_vector(uid)
        items = self.search(vector, k, spec=spec, candidates=candidates, exclude=exclude)
        return TopK(uid, items, model=rec.model)

    def __getattr__(self, name: str) -> Any:
        """Everything else (scores, fold-in, seen items, facts) is the engine's own."""
        if name in ("rec", "_shared"):
            raise AttributeError(name)
        return getattr(self.rec, name)

    def _allowed(self, spec: ItemFilter | None, candidates: Collection[Any] | None):
        """The ids passing ``spec`` and ``candidates`` (a scroll: only the cold-user path)."""
        if spec is None or spec.is_empty:
            return candidates
        must = payload_conditions(spec)
        if candidates is not None:
            must.append(qm.HasIdCondition(has_id=sorted({int(c) for c in candidates})))
        ids: list[int] = []
        offset: qm.ExtendedPointId | None = None
        with self._client() as client:
            while True:
                points, offset = client.scroll(
                    self.collection,
                    scroll_filter=qm.Filter(must=must),
                    limit=1024,
                    offset=offset,
                    with_payload=False,
                )
                ids.extend(int(p.id) for p in points)
                if offset is None:
                    break
        return ids
