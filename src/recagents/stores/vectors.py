"""Plot vectors in Qdrant: one point per item (id = item_id), with two named vectors: ``dense``
(all-MiniLM-L6-v2) and ``keyword`` (BM25 weights, sparse): ``stores/text_search.py`` says how a
search in the modes dense / keyword / hybrid is asked, ``stores/keywords.py`` how terms are made.

Payload: ``item_id, title, year, genres`` plus ``text_sha256`` (of the embedded document),
``embedding_model`` and ``keyword_sha256`` (of the keyword document and encoder), so re-indexing
embeds only texts that changed and rewrites a keyword vector only when its input changed. A
collection of an older schema (one unnamed dense vector) is rebuilt once on the next index, its
stored embeddings reused where the document is unchanged.

Embedded local mode (``settings.qdrant_path``) by default, a server when ``settings.qdrant_url``
is set. Local mode allows one client per folder and process: every ``VectorStore`` opened on the
same folder in one process shares one client (module-level registry), and local writes are
grouped into one SQLite transaction (qdrant-client commits each point on its own otherwise).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from qdrant_client import QdrantClient
from qdrant_client import models as qm
from tqdm import tqdm

from recagents.errors import (
    DataError,
    InvalidArgumentError,
    NotBuiltError,
)
from recagents.settings import MAX_K, Settings
from recagents.stores.embeddings import Embedder
from recagents.stores.keywords import encode_documents, encode_query
from recagents.stores.plot_index import (
    IndexReport,
    Plan,
    Wanted,
    plan_rebuild,
    plan_update,
    wanted_points,
)
from recagents.stores.qdrant_clients import (
    ClientHolder,
    SharedClient,
    one_local_transaction,
    open_shared,
)
from recagents.stores.text_search import (
    DEFAULT_MODE,
    DENSE,
    KEYWORD,
    before_upgrade,
    check_ids,
    check_k,
    check_mode,
    create_plot_collection,
    query_arguments,
    schema_is_current,
    stored_dense,
    year_condition,
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

    def dense_vectors(self, ids: Collection[int] | None = None) -> dict[int, list[float]]:
        """item id → its stored dense (MiniLM) vector; every item when ``ids`` is None."""
        with self._client() as client:
            self._require_collection(client)
            if ids is None:
                return {i: vector for i, (_, vector) in self._stored_points(client).items()}
            return self._stored_dense(client, check_ids(ids), require=False)

    def genres(self) -> list[str]:
        """The genre names stored in the payloads."""
        with self._client() as client:
            return sorted(self._genre_names(client, refresh=False).values())

    def _genre_names(self, client: QdrantClient, *, refresh: bool) -> dict[str, str]:
        shared = self._held()
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
        *,
        exclude: Collection[int] | None = None,
        mode: str = DEFAULT_MODE,
    ) -> list[VectorHit]:
        """Items that match ``query`` best first, at most ``k``.

        ``mode``: ``dense`` (nearest plots by meaning, score = cosine), ``keyword`` (BM25 over
        title, genres, plot and names, score = BM25; only items holding a query term) or
        ``hybrid`` (both fused by RRF). ``candidates``: only these item ids (empty → no hits).
        ``exclude``: never these ids. ``genres``: any of these (case insensitive; empty/None →
        any). ``year_range``: inclusive (from, to), either end None.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidArgumentError("the query text is empty: give a few words to search for")
        mode = check_mode(mode)
        k = check_k(k, MAX_K)
        must: list[qm.Condition] = []
        must_not: list[qm.Condition] = []
        if candidates is not None:
            ids = check_ids(candidates)
            if not ids:
                return []
            must.append(qm.HasIdCondition(has_id=ids))  # point id = item_id; 4x faster locally
        if exclude:
            must_not.append(qm.HasIdCondition(has_id=check_ids(exclude, "excluded")))
        if year_range is not None and (condition := year_condition(year_range)) is not None:
            must.append(condition)
        keyword = None if mode == "dense" else encode_query(query)
        if mode == "keyword" and keyword is not None and not keyword.indices:
            raise InvalidArgumentError(
                f"the query {query!r} has no word to look for (only stop words or signs): "
                "search with mode dense or hybrid, or give a word"
            )
        dense = None if mode == "keyword" else self.embedder.embed_query(query).tolist()
        with self._client() as client:
            self._require_collection(client)
            if genres:
                names = self._resolve_genres(client, genres)
                must.append(qm.FieldCondition(key="genres", match=qm.MatchAny(any=names)))
            where = qm.Filter(must=must or None, must_not=must_not or None)
            arguments = query_arguments(
                mode, dense, keyword, k, where if must or must_not else None
            )
            if not self._schema_is_current(client):
                arguments = before_upgrade(mode, arguments, self.collection)
            points = client.query_points(
                self.collection, **arguments, limit=k, with_payload=HIT_FIELDS
            ).points
        return [_hit(p) for p in points]

    def _schema_is_current(self, client: QdrantClient) -> bool:
        shared = self._held()
        if shared.current_schema is None:
            params = client.get_collection(self.collection).config.params
            shared.current_schema = schema_is_current(params)
        return shared.current_schema

    # --- writing ----------------------------------------------------------------------
    def index_catalog(
        self, items: Sequence[dict], *, force: bool = False, show_progress: bool = True
    ) -> IndexReport:
        """Make the collection hold exactly ``items``: embed new/changed documents only, update
        changed payloads, delete items that are gone. ``force`` re-creates and re-embeds all;
        a collection of an older schema is re-created once, reusing its stored embeddings."""
        if self.read_only:
            raise InvalidArgumentError(
                "this VectorStore was opened read-only: open it with read_only=False to index"
            )
        if not items:
            raise DataError("index_catalog got no items: build the catalog first (build_catalog)")
        start = time.perf_counter()
        report = IndexReport(total=len(items))
        wanted = wanted_points(items)

        with self._client() as client:
            plan = self._plan(client, wanted, force)
            if plan.rekey:  # their dense vectors, read back as they are
                plan.dense.update(self._stored_dense(client, plan.rekey))
        report.reused = len(wanted) - len(plan.embed)

        t = time.perf_counter()
        vectors = self.embedder.embed(
            [wanted[i].document for i in plan.embed],
            batch_size=self.settings.embedding_batch_size,
            show_progress=show_progress and bool(plan.embed),
        )
        plan.dense.update({i: vectors[n].tolist() for n, i in enumerate(plan.embed)})
        report.embedded, report.embed_seconds = len(plan.embed), time.perf_counter() - t

        t = time.perf_counter()
        ids = sorted(plan.dense)
        sparse = encode_documents([wanted[i].keywords for i in ids])
        points = [
            qm.PointStruct(
                id=i, vector={DENSE: plan.dense[i], KEYWORD: sparse[n]}, payload=wanted[i].payload
            )
            for n, i in enumerate(ids)
        ]
        with self._client() as client:
            if plan.recreate:
                self._create_collection(client)
            payloads = {i: wanted[i].payload for i in plan.update}
            self._write(client, points, payloads, plan.stale, show_progress)
            shared = self._held()
            shared.genres = shared.current_schema = None
        report.recreated, report.upgraded = plan.recreate, plan.upgraded
        report.upserted, report.payload_updated = len(points), len(plan.update)
        report.keyword_updated, report.deleted = len(plan.rekey), len(plan.stale)
        report.write_seconds = time.perf_counter() - t
        report.seconds = time.perf_counter() - start
        log.debug("vector index %s: %s", self.location, report.as_dict())
        return report

    def _plan(self, client: QdrantClient, wanted: dict[int, Wanted], force: bool) -> Plan:
        """Against today's schema, an update; else a new collection. An older schema is read
        whole (payloads and dense vectors) before anything is deleted, so its unchanged
        embeddings are reused."""
        exists = client.collection_exists(self.collection)
        params = client.get_collection(self.collection).config.params if exists else None
        if params is not None and schema_is_current(params) and not force:
            return plan_update(self._payloads(client), wanted)
        plan = plan_rebuild({} if force or not exists else self._stored_points(client), wanted)
        if plan.upgraded:
            log.info(
                "the plot collection %r has an older schema: rebuilding it with named dense and "
                "keyword vectors (%d stored embeddings reused)",
                self.collection,
                len(plan.dense),
            )
        return plan

    def _stored_points(self, client: QdrantClient) -> dict[int, tuple[dict, list[float]]]:
        out, offset = {}, None
        while True:
            points, offset = client.scroll(
                self.collection, limit=SCROLL_PAGE, offset=offset, with_payload=True,
                with_vectors=True,
            )  # fmt: skip
            for p in points:
                if (vector := stored_dense(p.vector)) is not None:
                    out[int(p.id)] = (p.payload or {}, vector)
            if offset is None:
                return out

    def _stored_dense(
        self, client: QdrantClient, ids: list[int], *, require: bool = True
    ) -> dict[int, list[float]]:
        records = client.retrieve(self.collection, ids=ids, with_vectors=[DENSE])
        out = {int(r.id): v for r in records if (v := stored_dense(r.vector)) is not None}
        if require and (missing := sorted(set(ids) - set(out))):
            raise DataError(f"points without a dense vector in {self.collection!r}: {missing[:5]}")
        return out

    def _create_collection(self, client: QdrantClient) -> None:
        if client.collection_exists(self.collection):
            client.delete_collection(self.collection)
        create_plot_collection(client, self.collection)
        if self.url:  # payload indexes only matter on a server
            for field, schema in (
                ("genres", qm.PayloadSchemaType.KEYWORD),
                ("year", qm.PayloadSchemaType.INTEGER),
            ):
                client.create_payload_index(self.collection, field, field_schema=schema)

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
                self._held().reload()  # memory may be ahead of the rolled-back folder
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


def _hit(point: qm.ScoredPoint) -> VectorHit:
    payload = point.payload or {}  # always there: the query asks for HIT_FIELDS
    return VectorHit(
        item_id=int(point.id),
        score=float(point.score),
        title=payload["title"],
        year=payload.get("year"),
        genres=list(payload.get("genres") or []),
    )
