"""The sampled-candidate protocol of RecLM-eval and ARAG (``eval ranking --sampled N``).

Per user: 1 held-out positive (one of the user's test items, drawn with the seed) and 19 items
the user rated in no split, drawn uniformly. Every method orders the same 20 items; NDCG@5 and
Hit@5 per user, means with bootstrap 95 % CIs, paired differences against the engine. With 20
candidates a random order scores NDCG@5 ≈ 0.15 and Hit@5 = 0.25, the figures RecLM-eval's
"random" row reports, so our LLM scorer can be read against its published small-model rows.

Rows: ``random``, ``popularity`` (visible rating counts), ``engine`` (the active engine's
scores), ``llm`` (NLI's relevance order alone), ``fused`` (relevance fused with the engine's
order at the configured ``fusion_weight``). The LLM rows run the agents with ``candidate_ids``
= the 20 items, so the pool is exactly them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from recagents.agents.config import AgentsConfig
from recagents.agents.run import recommend_with_agents
from recagents.agents.state import RecRequest
from recagents.eval.bootstrap import mean_ci, paired_diff, resample_indices
from recagents.eval.metrics import METRICS
from recagents.eval.orders import arag_parts, fused_order
from recagents.recommender.split import HistoryView
from recagents.services.context import ServiceContext

NEGATIVES = 19
CUT = 5
METHODS = ("random", "popularity", "engine", "llm", "fused")


def candidates_for(
    user: int, positives: set[int], rated: set[int], items: list[int], rng: random.Random
) -> list[int]:
    """[positive, 19 negatives]: the negatives are items the user rated in no split."""
    positive = rng.choice(sorted(positives))
    pool = [i for i in items if i not in rated and i not in positives]
    return [positive, *rng.sample(pool, NEGATIVES)]


def run_sampled(
    ctx: ServiceContext,
    llm: Any,
    config: AgentsConfig,
    targets: dict[int, set[int]],
    opts: Any,
    sample_users: Callable[[dict[int, set[int]], int | None, int], list[int]],
) -> dict[str, Any]:
    """The protocol's report: ``{"users", "candidates", "methods": {name: {metric: ci,
    "vs_engine": {metric: diff}}}}``."""
    rng = random.Random(opts.seed)
    rec = ctx.get_recommender()
    counts = rec.item_counts(ctx.view)
    items = sorted(rec.item_ids)
    users = sample_users(targets, opts.sampled, opts.seed)
    weight, rrf_k = config.ranker.fusion_weight, config.ranker.rrf_k
    orders: dict[str, dict[int, list[int]]] = {m: {} for m in METHODS}
    positive: dict[int, int] = {}
    for u in tqdm(users, desc="sampled protocol (LLM)", unit="user", disable=not opts.progress):
        rated = rec.seen_items(u, HistoryView.none())
        cands = candidates_for(u, targets[u], rated, items, rng)
        positive[u] = cands[0]
        orders["random"][u] = rng.sample(cands, len(cands))
        orders["popularity"][u] = sorted(cands, key=lambda i: (-counts.get(i, 0), i))
        scores = rec.scores(u, cands)
        orders["engine"][u] = sorted(cands, key=lambda i: (-scores[i], i))
        req = RecRequest(user_id=u, k=CUT, candidate_ids=cands)
        parts = arag_parts(recommend_with_agents(ctx, req, llm, config=config))
        orders["llm"][u] = fused_order(parts, 1.0, rrf_k)
        orders["fused"][u] = fused_order(parts, weight, rrf_k)
    idx = resample_indices(len(users), opts.resamples, opts.seed)
    per_user = {
        m: {
            key: [METRICS[key](orders[m][u], {positive[u]}, CUT) for u in users]
            for key in ("ndcg", "hit")
        }
        for m in METHODS
    }
    methods = {}
    for m in METHODS:
        entry: dict[str, Any] = {
            f"{key}@{CUT}": mean_ci(per_user[m][key], idx) for key in ("ndcg", "hit")
        }
        if m != "engine":
            entry["vs_engine"] = {
                f"{key}@{CUT}": paired_diff(per_user[m][key], per_user["engine"][key], idx)
                for key in ("ndcg", "hit")
            }
        methods[m] = entry
    return {
        "users": len(users),
        "candidates": 1 + NEGATIVES,
        "fusion_weight": weight,
        "methods": methods,
    }
