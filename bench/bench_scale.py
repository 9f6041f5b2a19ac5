"""Serving top-k at scale: today's dense score matrix vs vectors in Qdrant (issue 21).

    flock /tmp/recagents-cpu.lock .venv/bin/python bench/bench_scale.py \
        [--sizes 10000,100000,1000000] [--users 10000] [--dim 64] [--queries 200]

Synthetic catalogue and users (seeded): n items with Zipf popularity (popular items have longer
vectors, so they score higher, as in a trained factorisation), 18 genres with Zipf prevalence
(1-3 per item), d = 64, ``--users`` users. The filter is "genre = g4" (about 6 % of the items).
Each (size, backend) runs in its own child process, so its memory is its own:

- ``dense_matrix``: today's path. The checkpoint holds users x items scores; top-k is a row
  copy, a mask and an argpartition. Only where the matrix fits ``--dense-limit-gb``.
- ``numpy_exact``: user vector · all item vectors per request (no matrix): the exact reference
  every recall is measured against; memory (users + items) · d.
- ``qdrant_local``: qdrant-client local mode in memory (the project's embedded Qdrant): exact
  search, payload filter evaluated in Python. Sizes up to ``--local-max``, 50 queries at most.
- ``edge_exact`` / ``edge_hnsw``: Qdrant's own engine in-process (``qdrant-edge-py``), with an
  integer payload index on the genre field: exact search, and HNSW (``--hnsw-m`` 16,
  ``--ef-construct`` 100, ``--payload-m`` 16 extra links per genre value so filtered searches
  stay on the graph; 0 = none), searched with each ``hnsw_ef`` of ``--ef`` (e.g. 128,512,2048)
  on one build; the row reports the smallest ef whose recall@10 reaches ``--recall-goal`` with
  and without the filter (else the largest), all of them under ``by_ef``.

Measured per backend: build time (vectors → servable), resident memory added by the build (the
user and item vectors themselves, (users + items) · d · 4 bytes = ``vectors_mb``, exist before
it and are not counted), top-10 p50/p95 without and with the genre filter over ``--queries`` users, and recall@10 against the exact top-10.
Prints a table, writes ``bench/out/scale.json`` (a run with fewer sizes or backends updates only
its rows there; ``--fresh`` starts anew) and ``bench/out/scale.png``; the last stdout line is one
JSON object.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

N_GENRES = 18
FILTER_GENRE = 4
K = 10
BACKENDS = (
    "dense_matrix",
    "numpy_exact",
    "qdrant_local",
    "edge_exact",
    "edge_hnsw",
)


# --- data ----------------------------------------------------------------------------------------
def synthetic(n_items: int, n_users: int, dim: int, seed: int = 21):
    rng = np.random.default_rng(seed)
    rank = rng.permutation(n_items) + 1  # popularity rank of each item
    popularity = 1.0 / rank  # Zipf, s = 1
    items = rng.standard_normal((n_items, dim), dtype=np.float32) / np.sqrt(dim)
    items *= (1.0 + 0.5 * np.log1p(popularity * n_items) / np.log(n_items)).astype(np.float32)[
        :, None
    ]
    users = rng.standard_normal((n_users, dim), dtype=np.float32) / np.sqrt(dim)
    prevalence = 1.0 / np.arange(1, N_GENRES + 1) ** 0.8
    prevalence /= prevalence.sum()
    n_genres = rng.integers(1, 4, n_items)
    genres = np.zeros((n_items, N_GENRES), dtype=bool)
    for j in range(3):
        pick = rng.choice(N_GENRES, size=n_items, p=prevalence)
        genres[np.arange(n_items), pick] |= n_genres > j
    return items, users, genres


def exact_top(users: np.ndarray, items: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The exact top-K item indices per query user (the recall reference)."""
    out = []
    for start in range(0, len(users), 64):
        scores = users[start : start + 64] @ items.T
        if mask is not None:
            scores[:, ~mask] = -np.inf
        part = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1)
        out.append(np.take_along_axis(part, order, 1))
    return np.concatenate(out)


def top_of(scores: np.ndarray) -> np.ndarray:
    part = np.argpartition(-scores, K)[:K]
    return part[np.argsort(-scores[part])]


# --- backends: build() -> search(user_index, filtered) -> item indices ---------------------------
def build_dense(items, users, genres, args):
    scores = users @ items.T  # what a checkpoint of today's format holds

    def search(u, filtered, ef=None):
        row = scores[u].copy()
        if filtered:
            row[~genres[:, FILTER_GENRE]] = -np.inf
        return top_of(row)

    return search, None


def build_numpy(items, users, genres, args):
    def search(u, filtered, ef=None):
        row = items @ users[u]
        if filtered:
            row[~genres[:, FILTER_GENRE]] = -np.inf
        return top_of(row)

    return search, None


def _genre_lists(genres: np.ndarray) -> list[list[int]]:
    rows, cols = np.nonzero(genres)
    out: list[list[int]] = [[] for _ in range(len(genres))]
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        out[r].append(c)
    return out


def build_qdrant_local(items, users, genres, args):
    from qdrant_client import QdrantClient
    from qdrant_client import models as qm

    client = QdrantClient(":memory:")
    client.create_collection(
        "items", vectors_config=qm.VectorParams(size=items.shape[1], distance=qm.Distance.DOT)
    )
    labels = _genre_lists(genres)
    for start in range(0, len(items), 5000):
        stop = min(start + 5000, len(items))
        client.upload_collection(
            "items",
            vectors=items[start:stop],
            payload=[{"genre": labels[i]} for i in range(start, stop)],
            ids=list(range(start, stop)),
        )
    condition = qm.Filter(
        must=[qm.FieldCondition(key="genre", match=qm.MatchValue(value=FILTER_GENRE))]
    )

    def search(u, filtered, ef=None):
        points = client.query_points(
            "items",
            query=users[u].tolist(),
            query_filter=condition if filtered else None,
            limit=K,
        ).points
        return np.array([p.id for p in points])

    return search, client


def _build_edge(items, genres, args, hnsw: bool):
    import qdrant_edge as qe

    folder = tempfile.mkdtemp(prefix="bench-scale-edge-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    config = qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=items.shape[1], distance=qe.Distance.Dot),
        hnsw_config=qe.HnswIndexConfig(
            m=args.hnsw_m,
            ef_construct=args.ef_construct,
            full_scan_threshold=10_000,
            payload_m=args.payload_m or None,
        ),
        optimizers=qe.EdgeOptimizersConfig(
            # above this many KB a segment gets its HNSW graph; "never" for the exact variant
            indexing_threshold=10 if hnsw else 2**31 - 1,
            default_segment_number=2,
        ),
        wal_enabled=False,
    )
    shard = qe.EdgeShard.create(folder + "/shard", config)
    shard.update(qe.UpdateOperation.create_field_index("genre", qe.PayloadSchemaType.Integer))
    labels = _genre_lists(genres)
    for start in range(0, len(items), 10_000):
        stop = min(start + 10_000, len(items))
        points = [qe.Point(i, items[i].tolist(), {"genre": labels[i]}) for i in range(start, stop)]
        shard.update(qe.UpdateOperation.upsert_points(points))
    shard.optimize()
    return shard


def _edge_search(shard, users, exact: bool):
    import qdrant_edge as qe

    condition = qe.Filter(must=[qe.FieldCondition(key="genre", match=qe.MatchValue(FILTER_GENRE))])

    def search(u, filtered, ef=None):
        points = shard.query(
            qe.QueryRequest(
                limit=K,
                query=qe.Query.Nearest(users[u].tolist()),
                filter=condition if filtered else None,
                params=qe.SearchParams(exact=True) if exact else qe.SearchParams(hnsw_ef=ef),
            )
        )
        return np.array([p.id for p in points])

    return search


def build_edge_exact(items, users, genres, args):

    shard = _build_edge(items, genres, args, hnsw=False)
    return _edge_search(shard, users, exact=True), shard


def build_edge_hnsw(items, users, genres, args):

    shard = _build_edge(items, genres, args, hnsw=True)
    return _edge_search(shard, users, exact=False), shard


BUILDERS = {
    "dense_matrix": build_dense,
    "numpy_exact": build_numpy,
    "qdrant_local": build_qdrant_local,
    "edge_exact": build_edge_exact,
    "edge_hnsw": build_edge_hnsw,
}


# --- one (size, backend) in a child process ------------------------------------------------------
def _ms(values: list[float]) -> dict[str, float]:
    ms = np.asarray(values) * 1e3
    return {
        "p50_ms": round(float(np.median(ms)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
    }


def worker(args) -> dict:
    items, users, genres = synthetic(args.size, args.users, args.dim)
    rng = np.random.default_rng(7)
    n_queries = args.queries if args.backend != "qdrant_local" else min(args.queries, 50)
    queries = rng.choice(args.users, size=min(n_queries, args.users), replace=False)
    truth = {
        False: exact_top(users[queries], items, None),
        True: exact_top(users[queries], items, genres[:, FILTER_GENRE]),
    }
    gc.collect()
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.perf_counter()
    search, keep = BUILDERS[args.backend](items, users, genres, args)
    build_s = time.perf_counter() - started
    gc.collect()
    added = process.memory_info().rss - before
    out = {
        "size": args.size,
        "backend": args.backend,
        "users": args.users,
        "dim": args.dim,
        "build_s": round(build_s, 2),
        "memory_mb": round(added / 2**20, 1),
        "vectors_mb": round((args.size + args.users) * args.dim * 4 / 2**20, 1),
        "queries": len(queries),
        "filter_share": round(float(genres[:, FILTER_GENRE].mean()), 4),
    }
    hnsw = args.backend == "edge_hnsw"
    if hnsw:
        out["hnsw"] = {
            "m": args.hnsw_m,
            "ef_construct": args.ef_construct,
            "payload_m": args.payload_m,
        }
    by_ef = {}
    for ef in [int(e) for e in str(args.ef).split(",")] if hnsw else [None]:
        measured = {}
        for filtered in (False, True):
            for u in queries[:5]:  # warm-up
                search(int(u), filtered, ef)
            seconds, hits = [], 0
            for n, u in enumerate(queries):
                t = time.perf_counter()
                got = search(int(u), filtered, ef)
                seconds.append(time.perf_counter() - t)
                hits += len(set(got.tolist()) & set(truth[filtered][n].tolist()))
            tag = "filtered" if filtered else "plain"
            measured[tag] = {**_ms(seconds), "recall@10": round(hits / (K * len(queries)), 4)}
        by_ef[ef] = measured
        out.update(measured)
        if hnsw:
            out["ef"] = ef
            if min(m["recall@10"] for m in measured.values()) >= args.recall_goal:
                break  # the smallest ef that reaches the goal
    if hnsw:
        out["by_ef"] = by_ef
    del keep
    return out


def skip_reason(size: int, backend: str, args) -> str | None:
    if backend == "dense_matrix":
        need = size * args.users * 4 / 2**30
        if need > args.dense_limit_gb:
            return f"score matrix {need:.0f} GB > {args.dense_limit_gb} GB"
    if backend == "qdrant_local" and size > args.local_max:
        return f"local mode above {args.local_max} items: Python-side build and filter too slow"
    return None


def run_child(size: int, backend: str, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        backend,
        "--size",
        str(size),
        "--users",
        str(args.users),
        "--dim",
        str(args.dim),
        "--queries",
        str(args.queries),
        "--ef",
        str(args.ef),
        "--recall-goal",
        str(args.recall_goal),
        "--hnsw-m",
        str(args.hnsw_m),
        "--ef-construct",
        str(args.ef_construct),
        "--payload-m",
        str(args.payload_m),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    if done.returncode != 0:
        return {"size": size, "backend": backend, "error": done.stderr.strip()[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = (
        "| items | backend | build s | memory MB | p50 / p95 ms | p50 / p95 ms, genre filter "
        "| recall@10 (filter) |\n| --- | --- | --- | --- | --- | --- | --- |"
    )
    lines = [head]
    for r in rows:
        if "skipped" in r or "error" in r:
            why = r.get("skipped") or "error: " + r["error"].splitlines()[-1][:80]
            lines.append(f"| {r['size']:,} | {r['backend']} | – | – | {why} | – | – |")
            continue
        p, f = r["plain"], r["filtered"]
        label = r["backend"] + (f" (ef {r['ef']})" if "ef" in r else "")
        lines.append(
            f"| {r['size']:,} | {label} | {r['build_s']} | {r['memory_mb']} | "
            f"{p['p50_ms']} / {p['p95_ms']} | {f['p50_ms']} / {f['p95_ms']} | "
            f"{p['recall@10']} ({f['recall@10']}) |"
        )
    return "\n".join(lines)


def plot(rows: list[dict]) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from plots import save, subplots

    fig, axes = subplots(4, figsize=(19, 4))
    done = [r for r in rows if "plain" in r]
    for backend in BACKENDS:
        mine = sorted((r for r in done if r["backend"] == backend), key=lambda r: r["size"])
        if not mine:
            continue
        sizes = [r["size"] for r in mine]
        axes[0].plot(sizes, [r["filtered"]["p50_ms"] for r in mine], marker="o", label=backend)
        axes[1].plot(sizes, [r["plain"]["p50_ms"] for r in mine], marker="o", label=backend)
        memory = [r["memory_mb"] + r["vectors_mb"] for r in mine]
        axes[2].plot(sizes, memory, marker="o", label=backend)
        line = axes[3].plot(
            sizes, [r["filtered"]["recall@10"] for r in mine], marker="o", label=backend
        )
        axes[3].plot(
            sizes,
            [r["plain"]["recall@10"] for r in mine],
            marker="x",
            linestyle=":",
            color=line[0].get_color(),
        )
    axes[0].axhline(20, color="grey", linestyle="--", linewidth=1, label="goal 20 ms")
    axes[3].axhline(0.95, color="grey", linestyle="--", linewidth=1, label="goal 0.95")
    titles = (
        "top-10 p50, genre filter",
        "top-10 p50, no filter",
        "memory: vectors + built index",
        "recall@10 vs exact (o filter, x none)",
    )
    for n, (ax, title, unit) in enumerate(zip(axes, titles, ("ms", "ms", "MB", ""), strict=True)):
        ax.set_xscale("log")
        if n < 3:
            ax.set_yscale("log")
        ax.set_xlabel("items")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    return save(fig, "scale")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--ef", default="128,512,2048", help="HNSW ef values at query time, tried in order"
    )
    parser.add_argument("--recall-goal", type=float, default=0.95)
    parser.add_argument("--hnsw-m", type=int, default=16, help="HNSW edges per node")
    parser.add_argument("--ef-construct", type=int, default=100, help="HNSW ef while building")
    parser.add_argument(
        "--payload-m", type=int, default=16, help="extra HNSW links per genre value (0: none)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start a new scale.json instead of updating it"
    )
    parser.add_argument("--dense-limit-gb", type=float, default=4.0)
    parser.add_argument("--local-max", type=int, default=100_000)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per child")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.backend = args.worker
        print(json.dumps(worker(args)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            reason = skip_reason(size, backend, args)
            row = (
                {"size": size, "backend": backend, "skipped": reason}
                if reason
                else run_child(size, backend, args)
            )
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "scale.json"
    if saved.is_file() and not args.fresh:  # a partial rerun updates its rows only
        fresh = {(r["size"], r["backend"]) for r in rows}
        kept = [r for r in json.loads(saved.read_text()) if (r["size"], r["backend"]) not in fresh]
        rows = sorted(kept + rows, key=lambda r: (r["size"], BACKENDS.index(r["backend"])))
    saved.write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))
    path = plot(rows)
    print(json.dumps({"rows": rows, "plot": str(path)}))


if __name__ == "__main__":
    main()
