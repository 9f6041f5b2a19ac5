"""ARAG on the local models: latency per agent, rounds, tokens, non-LLM overhead, the prompt
cache, and a first quality look on the holdout=test view.

For each embedded model, the same ``--users`` test users (fixed seed) get one recommendation of
``--k`` items from the full graph (defaults of configs/agents.yaml). Printed and saved
(bench/out/arag.json, arag_latency.png, arag_quality.png); nothing is asserted.

- per-node latency p50/p95, sequential LLM rounds, tokens in/out per recommendation;
- non-LLM overhead: the request's wall time minus its LLM stages (retrieval, prompt building,
  fusion, graph); also retrieval alone (``llm=None``);
- returning users: the first ``--returning`` users asked again (User Understanding's profile now
  comes from the agents' store: no profile call);
- generated tokens p50/max per recommendation (the cost on CPU: ~70 ms each on the 1.5B), prompt
  tokens and how many of them the backend served from its prompt cache;
- explanations given and replaced by the checker; with ``explanations.method: choose`` how
  many movies had a choice of reasons and how often the model picked another than the first
  (the data template);
- the prompt cache: the first ``--cache-users`` users again with llama.cpp's ``cache_prompt``
  off (first model only; default 0: slow);
- NDCG@5/@10 against the user's test items of: the fused order, the pure LLM order (the
  ranker's list, filled from BPR's order) and BPR's own top-k over the whole catalogue.

    .venv/bin/python bench/bench_arag.py                          # 20 users, 0.5B and 1.5B, k=5
    .venv/bin/python bench/bench_arag.py --users 5 --models qwen2.5-coder-0.5b
    .venv/bin/python bench/bench_arag.py --models qwen2.5-coder-0.5b:6 qwen2.5-coder-1.5b:3
Needs the built stores (`recagents setup`) and the weights (`scripts/install.sh --llm`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace

from tqdm import tqdm

from recagents.agents import AgentsConfig, RecRequest, recommend_with_agents
from recagents.agents.run import AgentPick
from recagents.agents.steps import STAGES
from recagents.eval.metrics import ndcg_at_k
from recagents.llm.factory import make_chat_model
from recagents.llm.structured import structured_call
from recagents.recommender.split import Split
from recagents.recommender.train import split_path
from recagents.resources import open_services
from recagents.services.recommend import recommend
from recagents.services.requests import RecommendRequest
from recagents.settings import get_settings

NODES = ("retrieval", "user_understanding", "nli", "context_summary", "ranker", "finalize")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def llm_stage_seconds(timings: dict[str, float]) -> float:
    return sum(max((timings.get(n, 0.0) for n in stage), default=0.0) for stage in STAGES)


def llm_order(items: list[AgentPick]) -> list[int]:
    ranked = sorted((i for i in items if i.llm_rank), key=lambda i: i.llm_rank or 0)
    rest = sorted((i for i in items if not i.llm_rank), key=lambda i: i.base_rank)
    return [i.id for i in ranked + rest]


def warm_up(handle) -> None:
    from pydantic import BaseModel

    class Ok(BaseModel):
        ok: bool

    structured_call(handle, Ok, 'Answer {"ok": true}.')


def forget_profiles(services, users: list[int], k: int, handle, config: AgentsConfig) -> int:
    """Delete the users' cached profiles for this model and prompt, so the first run of each
    pays the profile call (an earlier run, or an interrupted one, would otherwise have cached
    them); returns how many were there."""
    from langgraph.runtime import Runtime

    from recagents.agents.graph import retrieval
    from recagents.agents.state import ARAGContext
    from recagents.agents.user_understanding import NAMESPACE, profile_key

    ctx = ARAGContext(services=services, llm=handle, config=config)
    store = services.get_agent_store()
    found = 0
    for uid in users:
        state = retrieval({"request": RecRequest(user_id=uid, k=k)}, Runtime(context=ctx))
        key = profile_key(ctx, state)
        if store.get(NAMESPACE, key) is not None:
            store.delete(NAMESPACE, key)
            found += 1
    return found


def run_model(
    model: str,
    users: list[int],
    services,
    targets,
    k: int,
    cache_users: int,
    returning: int,
    score_nli: bool = False,
) -> dict:
    settings = services.settings.model_copy(update={"local_model": model, "llm_provider": "local"})
    handle = make_chat_model(settings)
    warm_up(handle)
    config = AgentsConfig.load(settings)
    if score_nli:
        config = config.scoring_at_any_weight()
    forgotten = forget_profiles(services, users, k, handle, config)
    if forgotten:
        print(f"{model}: {forgotten} cached profiles of these users deleted", file=sys.stderr)
    rows = []
    for uid in tqdm(users, desc=model, unit="user", file=sys.stderr):
        result = recommend_with_agents(
            services, RecRequest(user_id=uid, k=k), handle, config=config
        )
        t = result.usage.per_node_seconds
        fused = [i.id for i in result.items]
        options = (result.blackboard.get("ranking") or {}).get("reasons") or []
        picked = [  # the reason the model chose, where a movie had more than one
            opts.index(i.explanation)
            for i, opts in zip(result.items, options, strict=False)
            if len(opts) > 1 and i.explanation in opts
        ]
        rows.append(
            {
                "user": uid,
                "seconds": result.usage.wall_seconds,
                "overhead_s": result.usage.wall_seconds - llm_stage_seconds(t),
                "rounds": result.usage.llm_rounds,
                "calls": result.usage.llm_calls,
                "tokens_in": result.usage.tokens_in,
                "tokens_out": result.usage.tokens_out,
                "tokens_cached": result.usage.tokens_cached,
                "explained": result.blackboard["explanations"]["written"],
                "replaced": len(result.blackboard["explanations"]["replaced"]),
                "choices": len(picked),
                "not_first": sum(p > 0 for p in picked),
                "fallback": result.fallback,
                "filled": sum(i.filled for i in result.items),
                "nodes": t,
                "fused": fused,
                "llm": llm_order(result.items),
            }
        )
    again = []
    for row in rows[:returning]:
        result = recommend_with_agents(
            services, RecRequest(user_id=row["user"], k=k), handle, config=config
        )
        again.append(
            {
                "user": row["user"],
                "seconds": result.usage.wall_seconds,
                "profile_cached": bool(result.blackboard.get("profile_cached")),
                "tokens_out": result.usage.tokens_out,
            }
        )
    cache = []
    off = replace(handle, chat_model=handle.chat_model.bind(extra_body={"cache_prompt": False}))
    for row in rows[:cache_users]:
        result = recommend_with_agents(
            services, RecRequest(user_id=row["user"], k=k), off, config=config
        )
        cache.append(
            {"user": row["user"], "with": row["seconds"], "without": result.usage.wall_seconds}
        )
    if handle.server is not None:
        handle.server.stop()
    bpr = {u: recommend(services, RecommendRequest(user_id=u, k=k)).item_ids for u in users}

    def ndcg(order_of, cut: int) -> float:
        return statistics.mean(ndcg_at_k(order_of(r), targets[r["user"]], cut) for r in rows)

    quality = {
        f"{name}@{cut}": round(ndcg(fn, cut), 4)
        for name, fn in (
            ("fused", lambda r: r["fused"]),
            ("llm", lambda r: r["llm"]),
            ("bpr", lambda r: bpr[r["user"]]),
        )
        for cut in (5, 10)
        if cut <= k
    }
    return {
        "model": model,
        "nli": config.nli_skipped() or "scored",
        "fusion_weight": config.ranker.fusion_weight,
        "users": len(rows),
        "per_node": {
            n: {
                "p50_s": round(pct([r["nodes"].get(n, 0) for r in rows], 50), 3),
                "p95_s": round(pct([r["nodes"].get(n, 0) for r in rows], 95), 3),
            }
            for n in NODES
        },
        "seconds_p50": round(pct([r["seconds"] for r in rows], 50), 2),
        "seconds_p95": round(pct([r["seconds"] for r in rows], 95), 2),
        "overhead_ms_p50": round(1000 * pct([r["overhead_s"] for r in rows], 50), 1),
        "rounds_max": max(r["rounds"] for r in rows),
        "tokens_in_mean": round(statistics.mean(r["tokens_in"] for r in rows)),
        "tokens_out_mean": round(statistics.mean(r["tokens_out"] for r in rows)),
        "tokens_out_p50": pct([r["tokens_out"] for r in rows], 50),
        "tokens_out_max": max(r["tokens_out"] for r in rows),
        "tokens_cached_mean": round(statistics.mean(r["tokens_cached"] for r in rows)),
        "explanations_written": sum(r["explained"] for r in rows),
        "explanations_replaced": sum(r["replaced"] for r in rows),
        "reasons_chosen": sum(r["choices"] for r in rows),
        "reasons_not_first": sum(r["not_first"] for r in rows),
        "returning": again,
        "returning_p50_s": round(pct([a["seconds"] for a in again], 50), 2) if again else None,
        "fallbacks": sum(r["fallback"] for r in rows),
        "filled_items": sum(r["filled"] for r in rows),
        "prompt_cache": cache,
        "ndcg": quality,
    }


def plot(results: list[dict], tag: str = "arag") -> list[str]:
    from plots import grouped_bars, save, subplots

    fig, axes = subplots(2, figsize=(12, 4))
    for ax, p in zip(axes, ("p50_s", "p95_s"), strict=True):
        series = {r["model"]: [r["per_node"][n][p] for n in NODES] for r in results}
        grouped_bars(ax, list(NODES), series, unit=f"seconds ({p[:3]})")
        ax.set_title(f"ARAG latency per agent, {p[:3]}", fontsize=9)
    latency = save(fig, f"{tag}_latency")
    fig, axes = subplots(1, figsize=(8, 3.5))
    labels = list(results[0]["ndcg"])
    grouped_bars(axes[0], labels, {r["model"]: [r["ndcg"][m] for m in labels] for r in results},
                 unit="NDCG (holdout=test)")  # fmt: skip
    axes[0].set_title("fused vs pure LLM vs BPR order", fontsize=9)
    return [str(latency), str(save(fig, f"{tag}_quality"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--cache-users", type=int, default=0)
    parser.add_argument("--returning", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
    parser.add_argument(
        "--score-nli",
        action="store_true",
        help="NLI scores every candidate even at fusion weight 0 (the default skips it there); "
        "results go to bench/out/arag_scored.*",
    )
    opts = parser.parse_args()
    settings = get_settings()
    services = open_services(settings, holdout="test")
    targets = Split.load(split_path(settings)).per_user("test")
    users = sorted(random.Random(opts.seed).sample(sorted(targets), opts.users))

    started = time.perf_counter()
    retrieval = []
    for uid in users:
        t = time.perf_counter()
        recommend_with_agents(services, RecRequest(user_id=uid, k=opts.k), None)
        retrieval.append(1000 * (time.perf_counter() - t))
    results = []
    for position, spec in enumerate(opts.models):
        model, _, n = spec.partition(":")
        subset = users[: int(n)] if n else users
        cache_users = opts.cache_users if position == 0 else 0  # the cache effect: first model
        results.append(
            run_model(
                model,
                subset,
                services,
                targets,
                opts.k,
                cache_users,
                opts.returning,
                opts.score_nli,
            )
        )
    services.close()

    print(
        f"retrieval only (llm=None): p50 {pct(retrieval, 50):.1f} ms, p95 {pct(retrieval, 95):.1f} ms"
    )
    for r in results:
        print(f"\n{r['model']} (NLI: {r['nli']}): {r['users']} users, request p50 {r['seconds_p50']} s / p95 "
              f"{r['seconds_p95']} s, rounds <= {r['rounds_max']}, tokens in {r['tokens_in_mean']} "
              f"({r['tokens_cached_mean']} from the prompt cache) out {r['tokens_out_mean']} "
              f"(p50 {r['tokens_out_p50']}, max {r['tokens_out_max']}), non-LLM overhead p50 "
              f"{r['overhead_ms_p50']} ms, fallbacks {r['fallbacks']}, filled items "
              f"{r['filled_items']}, explanations written {r['explanations_written']} / "
              f"replaced by the checker {r['explanations_replaced']}, reasons chosen "
              f"{r['reasons_chosen']} (not the first: {r['reasons_not_first']}), returning users p50 "
              f"{r['returning_p50_s']} s")  # fmt: skip
        for node, s in r["per_node"].items():
            print(f"  {node:<20} p50 {s['p50_s']:>8.3f} s   p95 {s['p95_s']:>8.3f} s")
        for c in r["prompt_cache"]:
            print(
                f"  prompt cache, user {c['user']}: {c['with']:.1f} s with, {c['without']:.1f} s without"
            )
        print("  NDCG: " + ", ".join(f"{m} {v:.4f}" for m, v in r["ndcg"].items()))
    out = {
        "users": users,
        "k": opts.k,
        "retrieval_ms": {"p50": round(pct(retrieval, 50), 2), "p95": round(pct(retrieval, 95), 2)},
        "results": results,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    from plots import OUT_DIR

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tag = "arag_scored" if opts.score_nli else "arag"
    (OUT_DIR / f"{tag}.json").write_text(json.dumps(out, indent=2))
    out["plots"] = plot(results, tag)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
