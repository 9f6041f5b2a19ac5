"""Per-tool latency (p50/p95) through the LangChain tools, on SQLite and MariaDB.

    .venv/bin/python bench/bench_tools.py [--mysql-url URL] [--data-dir DIR] [--repeats 30]
                                          [--vector-items N] [--skip-mysql]

Builds what is missing in a temporary folder: a SQLite metadata store, the MariaDB one (the URL's
database is created and loaded if needed), a 2-epoch BPR checkpoint (latency does not depend on
model quality) and the vector index (all 1,682 items by default; embedding takes ~30 s). Every
tool is called with a few representative arguments, round-robin, after a warm-up; the figure
includes argument validation, SQL, the candidate bus and result building. Goal: each tool
≤ 20 ms p95, vector search ≤ 50 ms. Last stdout line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from recagents.data.catalog import build_catalog
from recagents.data.enrichment import parse_enrichment
from recagents.data.movielens import load_ratings, load_users
from recagents.recommender.inference import Recommender
from recagents.recommender.train import checkpoint_path, train_bpr
from recagents.services import ServiceContext
from recagents.settings import DEFAULT_CONFIG_DIR, PROJECT_ROOT, Settings
from recagents.stores.metadata import MetadataStore, check_connection, load_metadata, make_engine
from recagents.stores.vectors import VectorStore
from recagents.tools import TOOLS_BY_NAME, run_tool_call

SHARED_ENRICHMENT = PROJECT_ROOT.parent / "shared" / "data" / "ml-100k" / "final_ml-100k.csv"
DEFAULT_MYSQL = "mysql+pymysql://root:@127.0.0.1:3306/recagents_bench"
GOAL_MS = {"search_plots": 50.0}
DEFAULT_GOAL_MS = 20.0

# (tool, arguments); "$H" is replaced by a handle of ~90 horror films made once per backend.
WORKLOAD: list[tuple[str, dict]] = [
    ("filter_items", {"genres": ["Horror"]}),
    ("filter_items", {"actors": ["Tom Cruise"], "release_year": {"request": "lower", "threshold": 1996},
                      "imdb_rating": {"request": "higher", "threshold": 6}}),
    ("filter_items", {"genres": ["Comedy"], "countries": ["United States"],
                      "duration_min": {"request": "lower", "threshold": 100}}),
    ("filter_items", {"release_year": {"request": "lower", "threshold": 1996}}),
    ("filter_items", {"release_month": 12, "items": "$H"}),
    ("recommend_items", {"user_id": 23, "k": 10}),
    ("recommend_items", {"user_id": 405, "k": 10, "items": "$H"}),
    ("search_plots", {"query": "a haunted house and a ghost", "k": 10}),
    ("search_plots", {"query": "a teenager is chased by a killer", "k": 10, "items": "$H"}),
    ("popular_items", {"k": 20}),
    ("popular_items", {"k": 20, "user_group": ["teenager"]}),
    ("popular_items", {"k": 5, "user_group": ["female"], "items": "$H"}),
    ("like_percentage", {"items": "$H"}),
    ("like_percentage", {"items": [65, 287, 313, 421, 697, 1260, 1483]}),
    ("item_metadata", {"items": [161, 77, 849], "fields": ["title", "genres", "actors", "description"]}),
    ("item_metadata", {"items": list(range(1, 21))}),
    ("user_metadata", {"user_id": 23}),
    ("recent_interactions", {"user_id": 91}),
    ("similar_users", {"user_id": 45, "n": 10}),
    ("similar_users", {"user_id": 13, "n": 10}),
    ("similar_users_favourites", {"user_id": 45, "k": 10}),
    ("similar_users_favourites", {"user_id": 405, "k": 10, "items": "$H"}),
]  # fmt: skip


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_metadata(url: str, catalog: list[dict], *, create: bool) -> None:
    engine = make_engine(url)
    check_connection(engine, create_database=create)
    load_metadata(engine, catalog, load_users(), load_ratings(), show_progress=False)
    engine.dispose()


def summary(seconds: list[float], goal: float) -> dict:
    ms = np.array(seconds) * 1e3
    p95 = float(np.percentile(ms, 95))
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(float(ms.max()), 2),
        "calls": len(ms),
        "goal_ms": goal,
        "meets_goal": p95 <= goal,
    }


def bench_backend(ctx: ServiceContext, repeats: int) -> dict:
    first = run_tool_call(TOOLS_BY_NAME["filter_items"], {"genres": ["Horror"]}, ctx)
    horror, sets = first.result["data"]["handle"], first.candidate_sets

    def args_of(arguments: dict) -> dict:
        return {k: (horror if v == "$H" else v) for k, v in arguments.items()}

    for name, arguments in WORKLOAD:  # warm-up: caches, Swing rows, embedding model
        result = run_tool_call(TOOLS_BY_NAME[name], args_of(arguments), ctx, sets).result
        if result["status"] != "success":
            raise SystemExit(f"{name} {arguments} failed in the benchmark: {result['message']}")
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name, arguments in WORKLOAD:
            args = args_of(arguments)
            t = time.perf_counter()
            run_tool_call(TOOLS_BY_NAME[name], args, ctx, sets)
            times.setdefault(name, []).append(time.perf_counter() - t)
    return {name: summary(secs, GOAL_MS.get(name, DEFAULT_GOAL_MS)) for name, secs in times.items()}


def plot(results: dict):
    from plots import grouped_bars, save, subplots

    tools = list(next(iter(results.values())))
    fig, axes = subplots(2, figsize=(11, 0.45 * len(tools) + 1.5))
    for ax, p in zip(axes, ("p50", "p95"), strict=True):
        series = {
            backend: [per_tool[t][f"{p}_ms"] for t in tools]
            for backend, per_tool in results.items()
        }
        goals = {f"goal {DEFAULT_GOAL_MS:.0f} ms": DEFAULT_GOAL_MS}
        goals |= {f"goal {g:.0f} ms ({n})": g for n, g in GOAL_MS.items()}
        grouped_bars(ax, tools, series, unit=f"{p} ms per call", horizontal=True, goals=goals)
        ax.set_title(f"tool latency {p}", fontsize=9)
    return save(fig, "tools_latency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mysql-url", default=DEFAULT_MYSQL)
    parser.add_argument("--skip-mysql", action="store_true")
    parser.add_argument("--data-dir", type=Path, help="Use this data dir's BPR/vector store.")
    parser.add_argument("--enrichment", type=Path, default=SHARED_ENRICHMENT)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--vector-items", type=int, default=1682)
    parser.add_argument(
        "--torch-threads",
        type=int,
        help="torch.set_num_threads for the query embedding (default: torch's own choice). On a "
        "loaded 2-core machine 1 thread embeds a query in ~13 ms, 2 threads in ~700 ms.",
    )
    opts = parser.parse_args()
    if opts.torch_threads:
        import torch

        torch.set_num_threads(opts.torch_threads)

    with tempfile.TemporaryDirectory(prefix="bench-tools-") as tmp:
        data_dir = opts.data_dir or Path(tmp)
        settings = Settings(data_dir=data_dir, config_dir=DEFAULT_CONFIG_DIR, _env_file=None)
        catalog = build_catalog(parse_enrichment(opts.enrichment))
        if not checkpoint_path(settings).is_file():
            log("training a 2-epoch BPR (latency does not depend on quality) ...")
            with contextlib.chdir(tmp):
                train_bpr(settings, overrides={"epochs": 2}, show_progress=False)
        recommender = Recommender.load(settings)
        vectors = VectorStore.open(settings, read_only=False)
        if not vectors.exists() or vectors.count() < opts.vector_items:
            log(f"embedding {opts.vector_items} items into {settings.qdrant_path} ...")
            subset = [c for c in catalog if c["item_id"] <= opts.vector_items]
            vectors.index_catalog(subset, show_progress=True)

        backends = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.sqlite'}"}
        if not opts.skip_mysql:
            backends["mariadb"] = opts.mysql_url
        results = {}
        for backend, url in backends.items():
            log(f"loading the metadata store ({backend}) ...")
            build_metadata(url, catalog, create=backend != "sqlite")
            store = MetadataStore(make_engine(url, read_only=True))
            ctx = ServiceContext(
                settings=settings, store=store, recommender=recommender, vectors=vectors
            )
            log(f"timing {len(WORKLOAD)} calls x {opts.repeats} on {backend} ...")
            results[backend] = bench_backend(ctx, opts.repeats)
            store.close()
        vectors.close()

    for backend, per_tool in results.items():
        print(f"\n{backend}: tool                        p50 ms   p95 ms   goal")
        for name, s in per_tool.items():
            flag = "ok" if s["meets_goal"] else "OVER"
            print(
                f"  {name:<30} {s['p50_ms']:>7.2f}  {s['p95_ms']:>7.2f}  {s['goal_ms']:>5.0f} {flag}"
            )
    print(f"plot: {plot(results)}")
    print(
        json.dumps(
            {"repeats": opts.repeats, "torch_threads": opts.torch_threads, "results": results}
        )
    )


if __name__ == "__main__":
    main()
