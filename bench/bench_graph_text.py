"""Graph-enhanced text embeddings on the built data dir (`recagents setup` first; run it alone).

    RECAGENTS_TORCH_THREADS=1 .venv/bin/python bench/bench_graph_text.py [--requests 100]

Prints: the build (read plot vectors, propagate per L, write the collection) for the product view,
and retrieval latency p50/p95 of ``graph_text_recommend`` (known users with a request text,
alpha 0.3) without and with hard filters (a genre; a genre + a year range), end to end (the query
embedded) and Qdrant's search alone. Saves bench/out/graph_text_latency.png. Last stdout line:
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

from plots import grouped_bars, save, subplots

from recagents.recommender.graph_text import blend, liked_weights, propagate, weighted_mean
from recagents.resources import open_services
from recagents.services.catalog import build_filter
from recagents.services.graph_text import build_graph_text, graph_text_recommend
from recagents.services.requests import FilterRequest
from recagents.settings import get_settings

QUERIES = [
    "a detective hunts a serial killer in a rainy city",
    "two friends go on a road trip across America",
    "a spaceship crew fights an alien on board",
    "a love story during the second world war",
    "gangsters and a heist that goes wrong",
    "a family comedy about a dog",
    "a haunted house and a ghost",
    "robots and artificial intelligence",
]
FILTERS = {
    "no filter": None,
    "genre": FilterRequest(genres=["Drama"]),
    "genre + years": FilterRequest(
        genres=["Comedy"], release_year=[{"request": "at_least", "threshold": 1990}]
    ),
}


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    ctx = open_services(get_settings(), holdout="none")
    out: dict = {"cpus": os.cpu_count(), "torch_threads": ctx.settings.torch_threads}
    try:
        store = ctx.get_graph_text()
        t = time.perf_counter()
        ids, text, _ = store.plot_vectors()
        users, items, _ = ctx.visible_ratings()
        out["read_seconds"] = round(time.perf_counter() - t, 3)
        out["propagate_seconds"] = {}
        for layers in (1, 2, 3, 4):
            t = time.perf_counter()
            propagate(text, ids, users, items, layers)
            out["propagate_seconds"][layers] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        _, detail = build_graph_text(ctx, force=True)
        out["build_seconds"] = round(time.perf_counter() - t, 3)
        out["build"] = detail

        rng = random.Random(2020)
        requests = [(rng.randint(1, 943), rng.choice(QUERIES)) for _ in range(args.requests)]
        graph_text_recommend(ctx, user_id=1, text=QUERIES[0], alpha=0.3)  # warm: model, caches
        latency: dict[str, dict] = {}
        for name, conditions in FILTERS.items():
            end_to_end, search = [], []
            spec = build_filter(ctx, conditions)[0] if conditions is not None else None
            for user, query in requests:
                t = time.perf_counter()
                graph_text_recommend(
                    ctx, user_id=user, text=query, alpha=0.3, k=10, conditions=conditions
                )
                end_to_end.append(time.perf_counter() - t)
                history = {r["item_id"]: r["rating"] for r in ctx.history(user)}
                liked = liked_weights(history, 4)
                vector = blend(
                    weighted_mean(store.vectors_of(liked), liked),
                    ctx.get_vectors().embedder.embed_query(query),
                    0.3,
                )
                t = time.perf_counter()
                store.search(vector, 10, spec=spec, exclude=history)
                search.append(time.perf_counter() - t)
            latency[name] = {"end_to_end": percentiles(end_to_end), "search": percentiles(search)}
            print(
                f"{name:14} end to end {latency[name]['end_to_end']}  search {latency[name]['search']}"
            )
        out["latency"] = latency
    finally:
        ctx.close()
    print(f"build: read {out['read_seconds']}s, propagate by L {out['propagate_seconds']}, "
          f"setup step {out['build_seconds']}s ({out['build']})")  # fmt: skip
    fig, axes = subplots(2, figsize=(10, 3.5))
    labels = list(FILTERS)
    for ax, kind in zip(axes, ("end_to_end", "search"), strict=True):
        grouped_bars(
            ax, labels,
            {q: [latency[n][kind][f"{q}_ms"] for n in labels] for q in ("p50", "p95")},
            unit="ms", goals={"goal 30 ms (with filters)": 30.0},
        )  # fmt: skip
        ax.set_title("query embedded + search" if kind == "end_to_end" else "Qdrant search alone")
    out["plot"] = str(save(fig, "graph_text_latency"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
