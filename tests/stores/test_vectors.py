"""The vector store on real Qdrant local mode with the real all-MiniLM-L6-v2 embeddings.

One small store (100 items, some without enrichment) is embedded once per module; tests that
write work on copies of its folder, so only the texts they change get embedded again.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from recagents.data.documents import item_document
from recagents.errors import (
    BackendUnavailableError,
    DataError,
    InvalidArgumentError,
    NotBuiltError,
)
from recagents.settings import MAX_K, Settings
from recagents.stores.qdrant_clients import local_folders_open
from recagents.stores.vectors import VectorStore

COUNT_IN_SUBPROCESS = (
    "import sys\n"
    "from qdrant_client import QdrantClient\n"
    "client = QdrantClient(path=sys.argv[1])\n"
    "print(client.count(sys.argv[2]).count, flush=True)\n"
    "client.close()\n"
)
HOLD_IN_SUBPROCESS = (
    "import sys\n"
    "from qdrant_client import QdrantClient\n"
    "client = QdrantClient(path=sys.argv[1])\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
    "client.close()\n"
)


@dataclass
class Built:
    settings: Settings
    items: list[dict]
    store: VectorStore
    report: object
    full: dict[str, list]  # query -> unfiltered ranking of every item


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None)


def _subset(catalog: list[dict]) -> list[dict]:
    enriched = [item for item in catalog if item["enriched"]]
    # real or synthetic: 80 enriched + 20 plain items, so a top-MAX_K search ranks every item
    enriched = enriched[:: max(1, len(enriched) // 80)][:80]
    plain = [item for item in catalog if not item["enriched"]][:20]
    return sorted(enriched + plain, key=lambda item: item["item_id"])


@pytest.fixture(scope="module")
def built(tmp_path_factory, catalog) -> Built:
    settings = _settings(tmp_path_factory.mktemp("vectors") / "data")
    items = _subset(catalog)
    store = VectorStore.open(settings)
    report = store.index_catalog(items, show_progress=False)
    queries = ("a detective hunts a killer in the city", "friends fall in love", "war")
    full = {q: store.search(q, k=MAX_K) for q in queries}
    yield Built(settings, items, store, report, full)
    store.close()


@pytest.fixture
def copied(built, tmp_path) -> Settings:
    """Settings over a copy of the built folder (free to write to)."""
    settings = _settings(tmp_path / "data")
    shutil.copytree(built.settings.qdrant_path, settings.qdrant_path)
    return settings


def _count_in_another_process(settings: Settings) -> int:
    out = subprocess.run(
        [sys.executable, "-c", COUNT_IN_SUBPROCESS, str(settings.qdrant_path), "ml100k_items"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


# --- building --------------------------------------------------------------------------
def test_index_report_and_count(built):
    n = len(built.items)
    assert sum(not item["enriched"] for item in built.items) == 20
    report = built.report
    assert (report.total, report.embedded, report.upserted) == (n, n, n)
    assert (report.reused, report.deleted, report.payload_updated) == (0, 0, 0)
    assert report.recreated
    assert built.store.count() == n
    assert set(built.store.genres()) == {g for item in built.items for g in item["genres"]}


def test_own_storyline_ranks_first(built):
    with_story = [item for item in built.items if item["storyline"]]
    for item in random.Random(3).sample(with_story, 4):
        hits = built.store.search(item["storyline"], k=3)
        assert hits[0].item_id == item["item_id"], (item["title"], hits)


def test_stored_vector_is_the_document_embedding(built):
    plain = [item for item in built.items if not item["enriched"]][:3]
    for item in plain:
        hit = built.store.search(item_document(item), k=1)[0]
        assert hit.item_id == item["item_id"]
        assert hit.score > 0.99
        assert (hit.title, hit.year, hit.genres) == (item["title"], item["year"], item["genres"])


def test_unfiltered_ranking_is_complete_and_sorted(built):
    for hits in built.full.values():
        assert sorted(h.item_id for h in hits) == sorted(i["item_id"] for i in built.items)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)


# --- payload filters: the filtered top-k is the unfiltered ranking restricted to the filter ---
def _expect(built, query: str, keep, k: int) -> list[int]:
    return [h.item_id for h in built.full[query] if keep(h)][:k]


def test_candidate_filter(built):
    ids = [item["item_id"] for item in built.items]
    candidates = set(random.Random(7).sample(ids, 25)) | {99_999}
    for query in built.full:
        hits = built.store.search(query, k=10, candidates=candidates)
        assert {h.item_id for h in hits} <= candidates
        assert [h.item_id for h in hits] == _expect(
            built, query, lambda h: h.item_id in candidates, 10
        )
    assert built.store.search("war", k=5, candidates=[]) == []
    assert built.store.search("war", k=5, candidates=[99_999]) == []


@pytest.mark.parametrize("genres", [["Comedy"], ["comedy"], ["Horror", "Sci-Fi"]])
def test_genre_filter(built, genres):
    wanted = {g.lower() for g in genres}
    query = "friends fall in love"
    hits = built.store.search(query, k=8, genres=genres)
    assert hits
    for hit in hits:
        assert wanted & {g.lower() for g in hit.genres}
    keep = lambda h: wanted & {g.lower() for g in h.genres}  # noqa: E731
    assert [h.item_id for h in hits] == _expect(built, query, keep, 8)


@pytest.mark.parametrize("year_range", [(1990, 1995), (None, 1960), (1997, None), (1996, 1996)])
def test_year_range(built, year_range):
    low, high = year_range

    def keep(hit) -> bool:
        return (
            hit.year is not None
            and (low is None or hit.year >= low)
            and (high is None or hit.year <= high)
        )

    query = "a detective hunts a killer in the city"
    hits = built.store.search(query, k=6, year_range=year_range)
    assert hits and all(keep(h) for h in hits)
    assert [h.item_id for h in hits] == _expect(built, query, keep, 6)


def test_filters_combine(built):
    ids = [item["item_id"] for item in built.items]
    candidates = set(random.Random(11).sample(ids, 60))

    def keep(hit) -> bool:
        return hit.item_id in candidates and "Drama" in hit.genres and (hit.year or 0) >= 1990

    hits = built.store.search(
        "war", k=5, candidates=candidates, genres=["drama"], year_range=(1990, None)
    )
    assert [h.item_id for h in hits] == _expect(built, "war", keep, 5)


# --- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("k", [0, -1, MAX_K + 1, 2.5, True, "3"])
def test_bad_k(built, k):
    with pytest.raises(InvalidArgumentError, match=f"from 1 to {MAX_K}"):
        built.store.search("war", k=k)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"query": ""}, "query text is empty"),
        ({"query": "   "}, "query text is empty"),
        ({"query": "war", "year_range": (2000, 1990)}, "after"),
        ({"query": "war", "year_range": (1990,)}, "from, to"),
        ({"query": "war", "candidates": [1, 0]}, "positive integers"),
        ({"query": "war", "candidates": ["1"]}, "positive integers"),
        ({"query": "war", "genres": ["Space Opera"]}, "unknown genre.*Comedy"),
    ],
)
def test_bad_arguments(built, kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        built.store.search(**kwargs)


def test_bad_catalog_rows(tmp_settings, built):
    with VectorStore.open(tmp_settings) as store:
        with pytest.raises(DataError, match="appears twice"):
            store.index_catalog([built.items[0], built.items[0]], show_progress=False)
        with pytest.raises(DataError, match="no items"):
            store.index_catalog([], show_progress=False)
        with pytest.raises(DataError, match="item_id"):
            store.index_catalog([{"title": "x"}], show_progress=False)


# --- re-indexing -----------------------------------------------------------------------
def test_reindex_unchanged_embeds_nothing(copied, built):
    with VectorStore.open(copied) as store:
        report = store.index_catalog(built.items, show_progress=False)
        assert (report.embedded, report.upserted, report.deleted) == (0, 0, 0)
        assert report.reused == len(built.items) and not report.recreated
        assert store.count() == len(built.items)


def test_reindex_changes_persist(copied, built):
    items = [dict(item) for item in built.items]
    changed, removed, moved = items[5], items[10], items[15]
    new_story = "A lighthouse keeper on a remote island teaches a flock of parrots to sing opera."
    changed.update(description=None, storyline=new_story)  # the new plot is the whole plot
    moved["year"] = 1901  # payload only: the document does not contain this field
    items.remove(removed)
    with VectorStore.open(copied) as store:
        report = store.index_catalog(items, show_progress=False)
        assert (report.embedded, report.upserted, report.deleted) == (1, 1, 1)
        assert report.payload_updated == 1 and report.reused == len(items) - 1
        assert store.count() == len(items)
        assert store.search(new_story, k=1)[0].item_id == changed["item_id"]
        assert store.search("war", k=5, candidates=[removed["item_id"]]) == []
        assert [h.item_id for h in store.search("war", k=5, year_range=(1901, 1901))] == [
            moved["item_id"]
        ]
    # closed for good: the folder is released and holds the changes on disk
    assert copied.qdrant_path.resolve() not in local_folders_open()
    assert _count_in_another_process(copied) == len(items)
    with VectorStore.open(copied, read_only=True) as store:
        assert store.count() == len(items)
        assert store.search(new_story, k=1)[0].item_id == changed["item_id"]
        assert store.search("war", k=3, year_range=(1901, 1901))[0].item_id == moved["item_id"]


def test_failed_local_write_leaves_the_folder_as_it_was(copied, built, monkeypatch):
    """The local write is one transaction: a failure after the upsert rolls all of it back."""
    items = [dict(item) for item in built.items]
    new_story = "An astronaut opens a bakery on the moon and bakes bread in low gravity."
    items[3].update(description=None, storyline=new_story)
    removed = items.pop(7)
    apply = VectorStore._apply

    def apply_then_fail(self, *args, **kwargs):
        apply(self, *args, **kwargs)
        raise OSError("disk full (injected)")

    monkeypatch.setattr(VectorStore, "_apply", apply_then_fail)
    with VectorStore.open(copied) as store:
        with pytest.raises(OSError, match="injected"):
            store.index_catalog(items, show_progress=False)
        monkeypatch.setattr(VectorStore, "_apply", apply)
        assert store.count() == len(built.items)  # the store reloaded the folder
        assert (
            store.search("war", k=1, candidates=[removed["item_id"]])[0].item_id
            == removed["item_id"]
        )
        assert store.search(new_story, k=1)[0].item_id != items[3]["item_id"]
        report = store.index_catalog(items, show_progress=False)  # the retry does it all
        assert (report.embedded, report.deleted) == (1, 1)
        assert store.search(new_story, k=1)[0].item_id == items[3]["item_id"]


def test_force_reembeds_everything(tmp_settings, built):
    few = built.items[:5]
    with VectorStore.open(tmp_settings) as store:
        store.index_catalog(few, show_progress=False)
        report = store.index_catalog(few, force=True, show_progress=False)
        assert report.recreated and report.embedded == 5 and report.reused == 0
        assert store.count() == 5


# --- opening: read-only, not built, shared clients, other processes, servers -----------
def test_read_only_refuses_writes(built):
    with VectorStore.open(built.settings, read_only=True) as store:
        assert store.count() == len(built.items)
        with pytest.raises(InvalidArgumentError, match="read-only"):
            store.index_catalog(built.items, show_progress=False)


def test_not_built(tmp_settings):
    with pytest.raises(NotBuiltError, match="recagents setup"):
        VectorStore.open(tmp_settings, read_only=True)
    assert not tmp_settings.qdrant_path.exists()  # a read-only open creates nothing
    with VectorStore.open(tmp_settings) as store:
        with pytest.raises(NotBuiltError, match="recagents setup"):
            store.search("war")
        with pytest.raises(NotBuiltError, match="recagents setup"):
            store.count()


def test_same_folder_in_one_process_shares_the_client(built):
    path = built.settings.qdrant_path.resolve()
    assert path in local_folders_open()
    second = VectorStore.open(built.settings, read_only=True)
    third = VectorStore.open(built.settings)
    assert second.count() == third.count() == len(built.items)
    second.close()
    third.close()
    assert path in local_folders_open()  # the module's store still holds it
    assert built.store.count() == len(built.items)


def test_folder_held_by_another_process(copied):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_IN_SUBPROCESS, str(copied.qdrant_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(BackendUnavailableError, match="another recagents process holds"):
            VectorStore.open(copied, read_only=True)
        assert copied.qdrant_path.resolve() not in local_folders_open()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    with VectorStore.open(copied, read_only=True) as store:  # free again
        assert store.count() > 0


def test_status_reports_a_folder_held_by_another_process(copied, built, tmp_path):
    """`recagents status` while the app holds the local Qdrant folder: "held", not a failure."""
    from recagents.status import VECTORS_HELD, collect_status

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_IN_SUBPROCESS, str(copied.qdrant_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    empty = _settings(tmp_path / "empty")  # a held folder without the collection: not built
    empty.qdrant_path.mkdir(parents=True)
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_IN_SUBPROCESS, str(empty.qdrant_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert other.stdout.readline().strip() == "ready"
        status = collect_status(copied)
        assert status["vectors"] == VECTORS_HELD == "held by a running process"
        assert "vectors" not in status["errors"]  # built, only not countable from here
        assert set(status["errors"]) == {"metadata", "recommender"}  # nothing else was built here
        unbuilt = collect_status(empty)
        assert unbuilt["vectors"] is None and "recagents setup" in unbuilt["errors"]["vectors"]
    finally:
        for proc in (holder, other):
            proc.stdin.close()
            proc.wait(timeout=60)
    assert collect_status(copied)["vectors"] == len(built.items)  # released: counted again


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("read_only", [True, False])
def test_unreachable_server(tmp_path, read_only):
    settings = Settings(
        data_dir=tmp_path, qdrant_url=f"http://127.0.0.1:{_closed_port()}", _env_file=None
    )
    with pytest.raises(BackendUnavailableError, match="RECAGENTS_QDRANT_URL"):
        VectorStore.open(settings, read_only=read_only)
