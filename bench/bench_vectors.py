"""Vector store timings on the full catalog (1,682 items) in a temporary local-mode folder.

    .venv/bin/python bench/bench_vectors.py [--enrichment FILE] [--threads N] [--skip-plain]

Prints: model load, embedding, one-transaction upsert (vs qdrant-client's per-point commits),
re-index of unchanged texts, reopen, and search latency p50/p95 (query embedding included, and
Qdrant alone) unfiltered / 200-id candidate filter / genre filter / year range. Last stdout line:
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from recagents.data.catalog import build_catalog
from recagents.data.enrichment import parse_enrichment, resolve_enrichment
from recagents.settings import PROJECT_ROOT, Settings
from recagents.stores.embeddings import Embedder, get_model
from recagents.stores.text_search import DENSE
from recagents.stores.vectors import VectorStore

SHARED_ENRICHMENT = PROJECT_ROOT.parent / "shared" / "data" / "ml-100k" / "final_ml-100k.csv"
QUERIES = [
    "a detective hunts a serial killer in a rainy city",
    "two friends go on a road trip across America",
    "a spaceship crew fights an alien on board",
    "a young wizard learns magic",
    "a love story during the second world war",
    "gangsters and a heist that goes wrong",
    "a family comedy about a dog",
    "a lawyer defends an innocent man in court",
    "soldiers in Vietnam",
    "a musical about dancers in New York",
    "a haunted house and a ghost",
    "cowboys and a sheriff in a western town",
    "a boxer trains for the big fight",
    "a teenager falls in love at high school",
    "a documentary about jazz musicians",
    "a shark attacks a beach town",
    "robots and artificial intelligence",
    "a woman escapes an abusive husband",
    "pirates searching for treasure",
    "an animated story about toys",
]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
    }


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def plain_upsert_seconds(store: VectorStore, folder: Path) -> float:
    """The same points written by qdrant-client's default path (one commit per point)."""
    with store._client() as client:
        points, offset = [], None
        while True:
            page, offset = client.scroll(
                store.collection, limit=512, offset=offset, with_payload=True, with_vectors=True
            )
            points += page
            if offset is None:
                break
        params = client.get_collection(store.collection).config.params
    plain = QdrantClient(path=str(folder))
    plain.create_collection(
        "plain", vectors_config=params.vectors, sparse_vectors_config=params.sparse_vectors
    )

    structs = [qm.PointStruct(id=p.id, vector=p.vector, payload=p.payload) for p in points]
    _, seconds = timed(lambda: plain.upsert("plain", points=structs, wait=True))
    plain.close()
    return seconds


def search_latency(store: VectorStore, embedder: Embedder, catalog: list[dict]) -> dict:
    rng = random.Random(0)
    ids = [item["item_id"] for item in catalog]
    modes = {
        "unfiltered": {},
        "candidates_200": {"candidates": set(rng.sample(ids, 200))},
        "genre_comedy": {"genres": ["Comedy"]},
        "years_1990_1995": {"year_range": (1990, 1995)},
    }
    out = {}
    embed_s = [timed(lambda q=q: embedder.embed_query(q))[1] for q in QUERIES * 2]
    out["embed_query"] = percentiles(embed_s)
    vectors = [embedder.embed_query(q).tolist() for q in QUERIES]
    for name, kwargs in modes.items():
        store.search(QUERIES[0], k=10, **kwargs)  # warm
        end_to_end = [
            timed(lambda q=q, kw=kwargs: store.search(q, k=10, **kw))[1] for q in QUERIES * 2
        ]
        out[f"search_{name}"] = percentiles(end_to_end)
        # Qdrant alone: the same filter with precomputed query vectors
        qdrant_s = [
            timed(lambda v=v, kw=kwargs: qdrant_query(store, v, **kw))[1] for v in vectors * 2
        ]
        out[f"qdrant_{name}"] = percentiles(qdrant_s)
    return out


def qdrant_query(store: VectorStore, vector, candidates=None, genres=None, year_range=None):
    must = []
    if candidates:
        must.append(qm.HasIdCondition(has_id=sorted(candidates)))
    if genres:
        must.append(qm.FieldCondition(key="genres", match=qm.MatchAny(any=genres)))
    if year_range:
        must.append(
            qm.FieldCondition(key="year", range=qm.Range(gte=year_range[0], lte=year_range[1]))
        )
    with store._client() as client:
        return client.query_points(
            store.collection,
            query=vector,
            using=DENSE,
            query_filter=qm.Filter(must=must) if must else None,
            limit=10,
            with_payload=["item_id", "title", "year", "genres"],
        ).points


def plot(figures: dict):
    from plots import grouped_bars, save, subplots

    steps = {
        "model load": figures["model_load_s"],
        "embedding": figures["index"]["embed_seconds"],
        "upsert (1 txn)": figures["index"]["write_seconds"],
        "upsert (per point)": figures.get("plain_per_point_upsert_s"),
        "re-index unchanged": figures["reindex_unchanged_s"],
        "reopen": figures["reopen_s"],
    }
    steps = {k: v for k, v in steps.items() if v is not None}
    fig, (ax_steps, ax_search) = subplots(2, figsize=(11, 4.5))
    grouped_bars(
        ax_steps, list(steps), {"seconds": list(steps.values())}, unit="s (log)", horizontal=True
    )
    ax_steps.set_xscale("log")
    ax_steps.set_title(f"indexing {figures['items']} items", fontsize=9)
    latency = figures["latency"]
    series = {p: [v[f"{p}_ms"] for v in latency.values()] for p in ("p50", "p95")}
    grouped_bars(
        ax_search, [n.replace("_", " ") for n in latency], series, unit="ms", horizontal=True
    )
    ax_search.set_title("search latency, k=10 (search = embed + Qdrant)", fontsize=9)
    return save(fig, "vectors_timings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--enrichment",
        type=Path,
        default=SHARED_ENRICHMENT if SHARED_ENRICHMENT.is_file() else None,
        help="final_ml-100k.csv (default: ../shared's copy, else the product's cache/download)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: RECAGENTS_TORCH_THREADS)"
    )
    parser.add_argument("--skip-plain", action="store_true", help="skip the per-point baseline")
    args = parser.parse_args()

    import torch

    threads = args.threads or Settings().torch_threads
    enrichment = args.enrichment or resolve_enrichment(Settings()).path
    catalog = build_catalog(parse_enrichment(enrichment) if enrichment else None)
    figures: dict = {"items": len(catalog), "enrichment": str(enrichment)}

    _, figures["model_load_s"] = timed(lambda: get_model(threads))
    figures["torch_threads"] = torch.get_num_threads()
    embedder = Embedder(threads=threads)
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", torch_threads=threads, _env_file=None)
        store = VectorStore.open(settings)
        report = store.index_catalog(catalog, show_progress=True)
        figures["index"] = {
            k: round(v, 3) if isinstance(v, float) else v for k, v in report.as_dict().items()
        }
        figures["embed_docs_per_s"] = round(report.embedded / report.embed_seconds, 1)
        if not args.skip_plain:
            print("per-point baseline upsert…", file=sys.stderr)
            figures["plain_per_point_upsert_s"] = round(
                plain_upsert_seconds(store, Path(tmp) / "plain"), 3
            )
        again, figures["reindex_unchanged_s"] = timed(
            lambda: store.index_catalog(catalog, show_progress=False)
        )
        assert again.embedded == 0, again
        store.close()
        store, figures["reopen_s"] = timed(lambda: VectorStore.open(settings, read_only=True))
        figures["reopened_count"] = store.count()
        figures["folder_mb"] = round(
            sum(f.stat().st_size for f in settings.qdrant_path.rglob("*") if f.is_file()) / 2**20, 2
        )
        figures["latency"] = search_latency(store, embedder, catalog)
        store.close()

    index = figures["index"]
    print(
        f"items                     {figures['items']}  (torch threads {figures['torch_threads']})"
    )
    print(f"model load                {figures['model_load_s']:.2f} s")
    print(
        f"embedding                 {index['embed_seconds']:.2f} s  ({figures['embed_docs_per_s']} docs/s)"
    )
    print(f"upsert, one transaction   {index['write_seconds']:.3f} s")
    if "plain_per_point_upsert_s" in figures:
        print(
            f"upsert, per-point commits {figures['plain_per_point_upsert_s']:.3f} s (qdrant-client default)"
        )
    print(f"re-index, unchanged       {figures['reindex_unchanged_s']:.3f} s")
    print(
        f"reopen (read-only)        {figures['reopen_s']:.3f} s  count={figures['reopened_count']}  folder {figures['folder_mb']} MB"
    )
    for name, value in figures["latency"].items():
        print(f"{name:<26}p50 {value['p50_ms']:>8.2f} ms   p95 {value['p95_ms']:>8.2f} ms")
    print(f"plot: {plot(figures)}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
