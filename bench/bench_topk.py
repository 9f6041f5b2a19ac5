"""Top-k latency of the BPR inference service.

    .venv/bin/python bench/bench_topk.py [--data-dir DIR] [--k 10] [--repeats 3]

Uses DIR/bpr/bpr.pth (default: the configured data dir); if there is no checkpoint it
trains a short-schedule BPR into a temporary folder first (latency does not depend on
model quality). The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from recagents.recommender.inference import Recommender
from recagents.recommender.train import checkpoint_path, train_bpr
from recagents.settings import Settings, get_settings


def _summary(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1e3
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p95_ms": round(float(np.percentile(ms, 95)), 4),
        "mean_ms": round(float(ms.mean()), 4),
    }


def _per_user(fn, users, repeats) -> list[float]:
    out = []
    for _ in range(repeats):
        for user in users:
            t = time.perf_counter()
            fn(user)
            out.append(time.perf_counter() - t)
    return out


def run(settings: Settings, k: int, repeats: int, n_candidates: int) -> dict:
    t = time.perf_counter()
    rec = Recommender.load(settings)
    load_s = time.perf_counter() - t
    users = rec.user_ids
    rng = np.random.default_rng(0)
    cands = {u: rng.choice(rec.item_ids, size=n_candidates, replace=False).tolist() for u in users}

    plain = _per_user(lambda u: rec.top_k(u, k=k), users, repeats)
    restricted = _per_user(lambda u: rec.top_k(u, k=k, candidates=cands[u]), users, repeats)
    unknown = _per_user(lambda u: rec.top_k(100_000 + u, k=k), users[:200], repeats)

    loop_total = []
    for _ in range(repeats):
        t = time.perf_counter()
        for user in users:
            rec.top_k(user, k=k)
        loop_total.append(time.perf_counter() - t)
    batched = []
    for _ in range(repeats):
        t = time.perf_counter()
        rec.top_k_all_users(k=k)
        batched.append(time.perf_counter() - t)
    return {
        "n_users": rec.n_users,
        "n_items": rec.n_items,
        "k": k,
        "load_s": round(load_s, 3),
        "per_user": _summary(plain),
        f"per_user_{n_candidates}_candidates": _summary(restricted),
        "unknown_user_popularity": _summary(unknown),
        "all_users_loop_s": round(statistics.median(loop_total), 4),
        "all_users_batched_s": round(statistics.median(batched), 4),
    }


def plot(result: dict, cases: list[str]):
    from plots import grouped_bars, save, subplots

    fig, (ax, ax_all) = subplots(2, figsize=(9, 3.5))
    series = {p: [result[c][f"{p}_ms"] for c in cases] for p in ("p50", "p95")}
    grouped_bars(ax, [c.replace("_", " ") for c in cases], series, unit="ms per call")
    ax.set_title(f"top-{result['k']} latency per user", fontsize=9)
    grouped_bars(
        ax_all,
        ["loop of top_k", "top_k_all_users"],
        {"all users": [result["all_users_loop_s"], result["all_users_batched_s"]]},
        unit="seconds",
    )
    ax_all.set_title(f"all {result['n_users']} users (median)", fontsize=9)
    return save(fig, "topk_latency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=200)
    args = parser.parse_args()

    settings = Settings(data_dir=args.data_dir) if args.data_dir else get_settings()
    with tempfile.TemporaryDirectory(prefix="bench-topk-") as tmp:
        if not checkpoint_path(settings).is_file():
            print(f"no checkpoint at {checkpoint_path(settings)}: training 20 epochs into {tmp}")
            settings = Settings(data_dir=Path(tmp))
            train_bpr(settings, overrides={"epochs": 20})
        result = run(settings, args.k, args.repeats, args.candidates)

    print(
        f"load {result['load_s']:.3f} s; {result['n_users']} users x {result['n_items']} items, "
        f"k={result['k']}, {args.repeats} passes"
    )
    cases = ["per_user", f"per_user_{args.candidates}_candidates", "unknown_user_popularity"]
    for name in cases:
        s = result[name]
        print(
            f"{name:<28} p50 {s['p50_ms']:.3f} ms  p95 {s['p95_ms']:.3f} ms  "
            f"mean {s['mean_ms']:.3f} ms"
        )
    print(
        f"all users: loop of top_k {result['all_users_loop_s']:.3f} s, "
        f"batched top_k_all_users {result['all_users_batched_s']:.3f} s"
    )
    print(f"plot: {plot(result, cases)}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
