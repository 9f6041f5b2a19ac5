"""Plot search modes (dense / keyword / hybrid) and the schema upgrade, on real Qdrant local mode.

The searches use the session's ``tool_vectors`` (items 1..160 of the real or synthetic catalogue,
real MiniLM embeddings); the upgrade test writes an old-schema collection (one unnamed dense
vector) into a temporary folder from those same vectors, then indexes it with today's code.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from recagents.errors import InvalidArgumentError, NotBuiltError
from recagents.settings import MAX_K, Settings
from recagents.stores.embeddings import EMBEDDING_DIM
from recagents.stores.keywords import keyword_document, terms
from recagents.stores.text_search import SEARCH_MODES, schema_is_current
from recagents.stores.vectors import VectorStore

_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


@pytest.fixture(scope="module")
def items(catalog, vector_items) -> list[dict]:
    return [item for item in catalog if item["item_id"] in vector_items]


def _rare_title_words(items: list[dict]) -> dict[str, int]:
    """word → item, for title words whose term occurs in ONE keyword document only."""
    frequency = Counter(t for item in items for t in set(terms(keyword_document(item))))
    out = {}
    for item in items:
        for word in re.findall(r"[A-Za-z]{4,}", _YEAR.sub("", item["title"])):
            stems = terms(word)
            if len(stems) == 1 and frequency[stems[0]] == 1:
                out[word] = item["item_id"]
    return out


def test_keyword_finds_a_rare_title_word_that_dense_does_not_rank_first(tool_vectors, items):
    rare = _rare_title_words(items)
    assert len(rare) >= 5, rare
    dense_misses = []
    for word, item_id in rare.items():
        hits = tool_vectors.search(word, k=5, mode="keyword")
        assert [h.item_id for h in hits] == [item_id], (word, hits)  # the only document with it
        assert tool_vectors.search(word, k=5, mode="hybrid")[0].item_id == item_id
        if tool_vectors.search(word, k=1, mode="dense")[0].item_id != item_id:
            dense_misses.append(word)
    assert dense_misses, "dense ranked every rare title word's item first: nothing to show"


def test_keyword_scores_are_bm25_and_ordered(tool_vectors):
    hits = tool_vectors.search("love story", k=MAX_K, mode="keyword")
    assert hits and all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hybrid_ids_are_catalogue_items_and_fused(tool_vectors, vector_items):
    query = "a detective hunts a killer in the city"
    hybrid = tool_vectors.search(query, k=MAX_K, mode="hybrid")
    assert {h.item_id for h in hybrid} <= vector_items
    assert len({h.item_id for h in hybrid}) == len(hybrid) == min(MAX_K, len(vector_items))
    dense = [h.item_id for h in tool_vectors.search(query, k=20, mode="dense")]
    keyword = [h.item_id for h in tool_vectors.search(query, k=20, mode="keyword")]
    # RRF: an item first in both lists is first; a score is a sum of 1 / (60 + 0-based rank)
    if dense[0] == keyword[0]:
        assert hybrid[0].item_id == dense[0]
    assert all(0 < h.score <= 2 / 60 + 1e-9 for h in hybrid)


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_filters_and_exclusions_hold_in_every_mode(tool_vectors, items, mode):
    query = "war and love"
    exclude = [h.item_id for h in tool_vectors.search(query, k=3, mode=mode)]
    hits = tool_vectors.search(
        query, k=MAX_K, genres=["drama"], year_range=(1990, 1996), exclude=exclude, mode=mode
    )
    by_id = {item["item_id"]: item for item in items}
    assert hits, "some 1990-1996 drama should match"
    for hit in hits:
        assert "Drama" in hit.genres and 1990 <= hit.year <= 1996
        assert hit.item_id not in exclude and hit.item_id in by_id
    candidates = [h.item_id for h in hits][:4]
    within = tool_vectors.search(query, k=10, candidates=candidates, mode=mode)
    assert {h.item_id for h in within} <= set(candidates)


def test_unknown_mode_and_wordless_keyword_query_are_clear_errors(tool_vectors):
    with pytest.raises(InvalidArgumentError, match="dense, keyword, hybrid"):
        tool_vectors.search("a heist", mode="bm25")
    with pytest.raises(InvalidArgumentError, match="no word to look for"):
        tool_vectors.search("the, and to!", mode="keyword")
    assert tool_vectors.search("the, and to!", k=3, mode="hybrid")  # the dense side answers
    with pytest.raises(InvalidArgumentError, match="empty"):
        tool_vectors.search("  ", mode="hybrid")
    with pytest.raises(InvalidArgumentError, match="excluded item ids"):
        tool_vectors.search("a heist", exclude=[0], mode="hybrid")


def _write_old_schema(path, store: VectorStore, items: list[dict]) -> dict[int, list[float]]:
    """The collection as the code before named vectors wrote it: one unnamed dense vector."""
    vectors = store.dense_vectors([item["item_id"] for item in items])
    with store._client() as client:
        payloads = store._payloads(client)
    client = QdrantClient(path=str(path))
    client.create_collection(
        "ml100k_items",
        vectors_config=qm.VectorParams(size=EMBEDDING_DIM, distance=qm.Distance.COSINE),
    )
    old_fields = ("item_id", "title", "year", "genres", "text_sha256", "embedding_model")
    client.upsert(
        "ml100k_items",
        points=[
            qm.PointStruct(id=i, vector=v, payload={f: payloads[i][f] for f in old_fields})
            for i, v in vectors.items()
        ],
    )
    client.close()
    return vectors


def test_old_schema_is_rebuilt_once_reusing_its_embeddings(tool_vectors, items, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    old = _write_old_schema(settings.qdrant_path, tool_vectors, items)
    changed = dict(items[5], storyline="A lighthouse keeper befriends a whale named Ostrowski.")
    wanted = [changed if item["item_id"] == changed["item_id"] else item for item in items]
    with VectorStore.open(settings) as store:
        report = store.index_catalog(wanted, show_progress=False)
        assert report.recreated and report.upgraded
        assert (report.embedded, report.reused) == (1, len(items) - 1)
        assert report.upserted == len(items) and store.count() == len(items)
        with store._client() as client:
            assert schema_is_current(client.get_collection(store.collection).config.params)
        now = store.dense_vectors()
        same = [i for i in old if i != changed["item_id"]]
        assert all(now[i] == pytest.approx(old[i], abs=1e-6) for i in same)
        hits = store.search("Ostrowski", k=3, mode="keyword")
        assert [h.item_id for h in hits] == [changed["item_id"]]
        again = store.index_catalog(wanted, show_progress=False)
        assert not again.recreated and not again.upgraded
        assert (again.embedded, again.upserted, again.keyword_updated) == (0, 0, 0)


def test_a_keyword_document_change_rewrites_only_the_keyword_side(tool_vectors, items, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    _write_old_schema(settings.qdrant_path, tool_vectors, items)
    with VectorStore.open(settings) as store:
        store.index_catalog(items, show_progress=False)
        target = items[7]
        credited = dict(target, actors=[*(target.get("actors") or []), "Zebulon Quirkworth"])
        wanted = [credited if item is target else item for item in items]
        report = store.index_catalog(wanted, show_progress=False)
        assert (report.embedded, report.keyword_updated, report.upserted) == (0, 1, 1)
        hits = store.search("Quirkworth", k=3, mode="keyword")
        assert [h.item_id for h in hits] == [target["item_id"]]


def test_before_the_upgrade_dense_search_works_and_keyword_asks_for_setup(
    tool_vectors, items, tmp_path
):
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    _write_old_schema(settings.qdrant_path, tool_vectors, items)
    with VectorStore.open(settings, read_only=True) as store:
        query = "a detective hunts a killer in the city"
        old = [h.item_id for h in store.search(query, k=5, genres=["Crime"])]
        assert old == [h.item_id for h in tool_vectors.search(query, k=5, genres=["Crime"])]
        for mode in ("keyword", "hybrid"):
            with pytest.raises(NotBuiltError, match="recagents setup"):
                store.search(query, mode=mode)
