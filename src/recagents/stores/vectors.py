"""Plot vectors in Qdrant: one point per item (id = item_id), embedded with all-MiniLM-L6-v2.

Payload: ``item_id, title, year, genres`` plus ``text_sha256`` (of the embedded document) and
``embedding_model``, so re-indexing embeds only texts that changed.

Embedded local mode (``settings.qdrant_path``) by default, a server when ``settings.qdrant_url``
is set. Local mode allows one client per folder and process: every ``VectorStore`` opened on the
same folder in one process shares one client (module-level registry), and local writes are
grouped into one SQLite transaction (qdrant-client commits each point on its own otherwise).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as qm
from tqdm import tqdm

from recagents.data.documents import item_document
from recagents.errors import (
    DataError,
    InvalidArgumentError,
    NotBuiltError,
)
from recagents.settings import MAX_K, Settings
from recagents.stores.embeddings import EMBEDDING_DIM, MODEL_NAME, Embedder
from recagents.stores.qdrant_clients import (
    ClientHolder,
    SharedClient,
    one_local_transaction,
    open_shared,
)

log = logging.getLogger(__name__)

HIT_FIELDS = ["item_id", "title", "year", "genres"]
SCROLL_PAGE = 512
SERVER_UPSERT_BATCH = 256
NOT_BUILT = "run `recagents setup` to build the vector store"


@dataclass(frozen=True)
class VectorHit:
    item_id: int
    score: float
    title: str
    year: int | None
    genres: list[str]


@dataclass
class IndexReport:
    total: int = 0
    embedded: int = 0
    reused: int = 0
    upserted: int = 0
    payload_updated: int = 0
    deleted: int = 0
    recreated: bool = False
    embed_seconds: float = 0.0
    write_seconds: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def document_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_k(k: object, max_k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= k <= max_k:
        raise InvalidArgumentError(f"k must be an integer from 1 to {max_k}, got {k!r}")
    return int(k)


def _check_ids(candidates: Collection[int]) -> list[int]:
    ids = []
    for value in candidates:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise InvalidArgumentError(f"candidate item ids are positive integers, got {value!r}")
        ids.append(int(value))
    return sorted(set(ids))


def _year_condition(year_range: Sequence) -> qm.FieldCondition | None:
    if len(year_range) != 2:
        raise InvalidArgumentError(f"year_range is (from, to), got {year_range!r}")
    low, high = year_range
    for bound in (low, high):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, Integral)):
            raise InvalidArgumentError(f"year_range bounds are years or None, got {bound!r}")
    if low is not None and high is not None and low > high:
        raise InvalidArgumentError(f"year_range from {low} is after to {high}")
    if low is None and high is None:
        return None
    return qm.FieldCondition(key="year", range=qm.Range(gte=low, lte=high))


def _payload(item: dict, text_sha256: str) -> dict[str, Any]:
    year = item.get("year")
    return {
        "item_id": int(item["item_id"]),
        "title": str(item["title"]),
        "year": None if year is None else int(year),
        "genres": list(item.get("genres") or []),
        "text_sha256": text_sha256,
        "embedding_model": MODEL_NAME,
    }


class VectorStore(ClientHolder):
    """Search (and, unless opened read-only, build) the item vectors."""

    def __init__(self, shared: SharedClient, settings: Settings, *, read_only: bool):
        super().__init__(shared, settings.qdrant_url)
        self.settings = settings
        self.read_only = read_only
        self.collection = settings.qdrant_collection
        self.location = self.url or f"local folder {settings.qdrant_path}"
        self.embedder = Embedder(threads=settings.torch_threads)

    # --- opening / closing ------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = False) -> VectorStore:
        """Connect to the server (``qdrant_url``) or the local folder (``qdrant_path``).

        ``read_only=True`` (the agents' path) needs a built collection (``NotBuiltError``
        otherwise) and refuses writes.
        """
        path = Path(settings.qdrant_path).resolve()
        if not settings.qdrant_url and read_only and not (path / "meta.json").is_file():
            raise NotBuiltError(f"no vector store in {path}: {NOT_BUILT}")
        shared = open_shared(settings)
        store = cls(shared, settings, read_only=read_only)
        try:
            exists = store.exists()  # also reaches a server now rather than at first use
            if read_only and not exists:
                raise NotBuiltError(
                    f"collection {store.collection!r} is missing at {store.location}: {NOT_BUILT}"
                )
        except BaseException:
            store.close()
            raise
        return store

    # --- reading ----------------------------------------------------------------------
    def exists(self) -> bool:
        with self._client() as client:
            return client.collection_exists(self.collection)

    def _require_collection(self, client: QdrantClient) -> None:
        if not client.collection_exists(self.collection):
            raise NotBuiltError(
                f"collection {self.collection!r} is missing at {self.location}: {NOT_BUILT}"
            )

    def count(self) -> int:
        with self._client() as client:
            self._require_collection(client)
            return client.count(self.collection, exact=True).count

    def _payloads(self, client: QdrantClient, fields: list[str] | bool = True) -> dict[int, dict]:
        out, offset = {}, None
        while True:
            points, offset = client.scroll(
                self.collection, limit=SCROLL_PAGE, offset=offset, with_payload=fields
            )
            out.update({int(p.id): p.payload or {} for p in points})
            if offset is None:
                return out

    def genres(self) -> list[str]:
        """The genre names stored in the payloads."""
        with self._client() as client:
            return sorted(self._genre_names(client, refresh=False).values())

    def _genre_names(self, client: QdrantClient, *, refresh: bool) -> dict[str, str]:
        shared = self._shared
        if shared.genres is None or refresh:
            self._require_collection(client)
            names = {g for p in self._payloads(client, ["genres"]).values() for g in p["genres"]}
            shared.genres = {name.lower(): name for name in names}
        return shared.genres

    def _resolve_genres(self, client: QdrantClient, genres: Sequence[str]) -> list[str]:
        if isinstance(genres, str):
            genres = [genres]
        for name in genres:
            if not isinstance(name, str) or not name.strip():
                raise InvalidArgumentError(f"genre names are non-empty strings, got {name!r}")
        wanted = [g.strip().lower() for g in genres]
        known = self._genre_names(client, refresh=False)
        if any(g not in known for g in wanted):
            known = self._genre_names(client, refresh=True)
        missing = [g for g, w in zip(genres, wanted, strict=True) if w not in known]
        if missing:
            raise InvalidArgumentError(
                f"unknown genre(s) {missing}: choose from {sorted(known.values())}"
            )
        return [known[w] for w in wanted]

    def search(
        self,
        query: str,
        k: int = 10,
        candidates: Collection[int] | None = None,
        genres: Sequence[str] | None = None,
        year_range: tuple[int | None, int | None] | None = None,
    ) -> list[VectorHit]:
        """Items whose plot is nearest to ``query`` (cosine), best first, at most ``k``.

        ``candidates``: only these item ids (empty → no hits). ``genres``: any of these (case
        insensitive; empty/None → any). ``year_range``: inclusive (from, to), either end None.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidArgumentError("the query text is empty: give a few words to search for")
        k = _check_k(k, MAX_K)
        must: list[qm.Condition] = []
        if candidates is not None:
            ids = _check_ids(candidates)
            if not ids:
                return []
            must.append(qm.HasIdCondition(has_id=ids))  # point id = item_id; 4x faster locally
        if year_range is not None and (condition := _year_condition(year_range)) is not None:
            must.append(condition)
        vector = self.embedder.embed_query(query).tolist()
        with self._client() as client:
            self._require_collection(client)
            if genres:
                names = self._resolve_genres(client, genres)
                must.append(qm.FieldCondition(key="genres", match=qm.MatchAny(any=names)))
            points = client.query_points(
                self.collection,
                query=vector,
                query_filter=qm.Filter(must=must) if must else None,
                limit=k,
                with_payload=HIT_FIELDS,
            ).points
        return [
            VectorHit(
                item_id=int(p.id),
                score=float(p.score),
                title=p.payload["title"],
                year=p.payload.get("year"),
                genres=list(p.payload.get("genres") or []),
            )
            for p in points
        ]

    # --- writing ----------------------------------------------------------------------
    def index_catalog(
        self, items: Sequence[dict], *, force: bool = False, show_progress: bool = True
    ) -> IndexReport:
        """Make the collection hold exactly ``items``: embed new/changed documents only, update
        changed payloads, delete items that are gone. ``force`` re-creates and re-embeds all."""
        if self.read_only:
            raise InvalidArgumentError(
                "this VectorStore was opened read-only: open it with read_only=False to index"
            )
        if not items:
            raise DataError("index_catalog got no items: build the catalog first (build_catalog)")
        start = time.perf_counter()
        report = IndexReport(total=len(items))
        wanted: dict[int, tuple[dict, str]] = {}
        for item in items:
            item_id = item.get("item_id")
            if isinstance(item_id, bool) or not isinstance(item_id, Integral) or item_id < 1:
                raise DataError(f"catalog row without a positive integer item_id: {item_id!r}")
            if item_id in wanted:
                raise DataError(f"item_id {item_id} appears twice in the catalog")
            document = item_document(item)
            wanted[int(item_id)] = (_payload(item, document_sha256(document)), document)

        with self._client() as client:
            report.recreated = self._ensure_collection(client, force)
            existing = self._payloads(client)
        to_embed = [i for i, (p, _) in wanted.items() if self._needs_embedding(existing.get(i), p)]
        embed_set = set(to_embed)
        to_update = [i for i, (p, _) in wanted.items() if i not in embed_set and existing[i] != p]
        stale = sorted(set(existing) - set(wanted))
        report.reused = len(wanted) - len(to_embed)

        t = time.perf_counter()
        vectors = self.embedder.embed(
            [wanted[i][1] for i in to_embed],
            batch_size=self.settings.embedding_batch_size,
            show_progress=show_progress and bool(to_embed),
        )
        report.embedded, report.embed_seconds = len(to_embed), time.perf_counter() - t

        t = time.perf_counter()
        points = [
            qm.PointStruct(id=i, vector=vectors[n].tolist(), payload=wanted[i][0])
            for n, i in enumerate(to_embed)
        ]
        with self._client() as client:
            self._write(client, points, {i: wanted[i][0] for i in to_update}, stale, show_progress)
            self._shared.genres = None
        report.upserted, report.payload_updated, report.deleted = (
            len(points),
            len(to_update),
            len(stale),
        )
        report.write_seconds = time.perf_counter() - t
        report.seconds = time.perf_counter() - start
        log.debug("vector index %s: %s", self.location, report.as_dict())
        return report

    @staticmethod
    def _needs_embedding(old: dict | None, new: dict) -> bool:
        return (
            old is None
            or old.get("text_sha256") != new["text_sha256"]
            or old.get("embedding_model") != new["embedding_model"]
        )

    def _ensure_collection(self, client: QdrantClient, force: bool) -> bool:
        """Create the collection if missing; re-create it on ``force`` or another vector size."""
        if client.collection_exists(self.collection):
            params = client.get_collection(self.collection).config.params.vectors
            if not force and getattr(params, "size", None) == EMBEDDING_DIM:
                return False
            client.delete_collection(self.collection)
        client.create_collection(
            self.collection,
            vectors_config=qm.VectorParams(size=EMBEDDING_DIM, distance=qm.Distance.COSINE),
        )
        if self.url:  # payload indexes only matter on a server
            for field, schema in (
                ("genres", qm.PayloadSchemaType.KEYWORD),
                ("year", qm.PayloadSchemaType.INTEGER),
            ):
                client.create_payload_index(self.collection, field, field_schema=schema)
        return True

    def _write(
        self,
        client: QdrantClient,
        points: list[qm.PointStruct],
        payloads: dict[int, dict],
        stale: list[int],
        show_progress: bool,
    ) -> None:
        if self.url is None:
            try:
                with one_local_transaction(client, self.collection):
                    self._apply(client, points, payloads, stale, batch=len(points) or 1)
            except BaseException:
                self._shared.reload()  # memory may be ahead of the rolled-back folder
                raise
            return
        with tqdm(
            total=len(points), desc="upsert vectors", unit="pt", disable=not show_progress
        ) as bar:
            self._apply(client, points, payloads, stale, SERVER_UPSERT_BATCH, bar.update)

    def _apply(self, client, points, payloads, stale, batch: int, progress=None) -> None:
        if stale:
            client.delete(self.collection, points_selector=qm.PointIdsList(points=stale))
        for start in range(0, len(points), batch):
            chunk = points[start : start + batch]
            client.upsert(self.collection, points=chunk, wait=True)
            if progress is not None:
                progress(len(chunk))
        for item_id, payload in payloads.items():
            client.overwrite_payload(self.collection, payload=payload, points=[item_id])
