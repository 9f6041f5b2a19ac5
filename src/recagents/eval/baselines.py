"""The methods of ``eval ranking`` without an LLM that every run has: ``popularity``, ``bpr``
(always BPR, whichever engine is active), ``swing`` and the ARAG retrieval ``pool``; and the
check of our BPR metrics against RecBole's own."""

from __future__ import annotations

import time
from typing import Any

from tqdm import tqdm

from recagents.agents.config import AgentsConfig
from recagents.agents.run import recommend_with_agents
from recagents.agents.state import RecRequest
from recagents.errors import EmptyResultError
from recagents.eval.engines import recbole_check, reference_bpr
from recagents.eval.ranking_run import RankingOptions, RankingRun, record_seconds
from recagents.services.context import ServiceContext
from recagents.services.requests import FavouritesRequest
from recagents.services.social import similar_users_favourites


def run_baselines(ctx: ServiceContext, run: RankingRun, opts: RankingOptions, cut: int) -> None:
    rec, view = ctx.get_recommender(), ctx.view
    started = time.perf_counter()
    counts = rec.item_counts(view)
    by_count = sorted(rec.item_ids, key=lambda i: (-counts.get(i, 0), i))
    popular = {}
    for u in run.users:
        seen = rec.seen_items(u, view)
        popular[u] = [i for i in by_count[: cut + len(seen)] if i not in seen][:cut]
    run.rankings["popularity"] = popular
    record_seconds(run, "popularity", started)

    bpr = reference_bpr(ctx.settings, rec)
    started = time.perf_counter()
    tops = bpr.top_k_all_users(k=cut, view=view)
    run.rankings["bpr"] = {u: tops[u].item_ids for u in run.users}
    record_seconds(run, "bpr", started)

    ctx.get_swing()  # built once from the visible ratings, like BPR's scores at load
    started = time.perf_counter()
    swing = {}
    for u in run.users:
        req = FavouritesRequest(user_id=u, k=cut, n_users=opts.swing_users)
        try:
            swing[u] = [f.item_id for f in similar_users_favourites(ctx, req).items]
        except EmptyResultError:
            swing[u] = []
    run.rankings["swing"] = swing
    record_seconds(run, "swing", started)


def run_pool(
    ctx: ServiceContext, run: RankingRun, config: AgentsConfig, k: int, progress: bool
) -> None:
    started = time.perf_counter()
    for u in tqdm(run.users, desc="retrieval pool", unit="user", disable=not progress):
        result = recommend_with_agents(ctx, RecRequest(user_id=u, k=k), None, config=config)
        run.pools[u] = list(result.candidates)
    run.rankings["pool"] = dict(run.pools)
    record_seconds(run, "pool", started)


def bpr_check(ctx: ServiceContext, targets: dict[int, set[int]]) -> dict[str, Any]:
    """BPR over EVERY test user with our metrics vs RecBole's test numbers in metrics.json."""
    bpr = reference_bpr(ctx.settings, ctx.get_recommender())
    return recbole_check(bpr, ctx.settings, ctx.view, targets)
