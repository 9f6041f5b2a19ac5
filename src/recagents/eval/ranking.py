"""Offline ranking evaluation on the ``holdout=test`` view (``recagents eval ranking``).

The agents and every service see train + valid only; the user's test items are the targets.
Methods (a ranked list per sampled user):

- ``popularity``: most-rated visible items the user has not rated; ``bpr``: BPR's full ranking
  with train + valid masked (RecBole's full-sort test protocol; always BPR, whichever engine is
  active); ``swing``: favourites of the 20 most Swing-similar users (user-based Swing on the
  visible ratings); with ``--engines``, one row per engine (``ease``, ``lightgcn``, …; see
  ``eval/engines.py``); with ``--graph-text``, ``text_mean`` / ``graph_text`` and a cold-start
  protocol (``eval/graph_text.py``); with ``--two-stage ENGINES``, ``two_stage_<engine>``: that engine's
  top-N re-ranked by the ranking stage (``recommender/reranker.py``).
- ``pool``: the ARAG retrieval pool in its own (base) order — no LLM.
- ``arag_llm``: the LLM's order alone (fusion weight 1.0, filled from the base order). With
  the scoring agents (the default) it is NLI's relevance order; ``arag_fused``: the product's
  order, fused with the base order at the configured ``fusion_weight``. Only the order is
  scored, so these runs skip what cannot change it: User Understanding and the explanations
  (the fusion ranker reads neither).
- ``--generated N``: the earlier generated-verdict / generated-permutation agents on the first N
  users (``arag_generated``: the generated order alone; ``arag_generated_fused``: fused).
- With the generated design configured (``ranker.method: generate``), ``arag_llm_no_nli`` /
  ``arag_llm_no_cs``: the paper's ablations without the NLI / the Context Summary agent.
- ``--sampled N`` (``eval/sampled.py``): the sampled-candidate protocol of RecLM-eval and ARAG,
  1 held-out positive + 19 sampled unseen items per user, NDCG@5 / Hit@5.

Re-rankers (pool and ARAG orders) are scored twice: over the full catalogue (relevant = all the
user's test items; the name alone) and over the candidate pool (``name@pool``: relevant = the
test items inside the pool, users with none are left out). Full-catalogue methods are paired
with ``bpr``, ``@pool`` ones with ``pool@pool`` (BPR's order of the same pool).

LLM answers come from an on-disk cache (``eval/llm_cache.py``): a re-run makes no LLM call.
``--tune`` picks ``fusion_weight`` on the ``holdout=valid`` view (never on test) from one LLM
run per user, fusing per weight, and writes it to ``<data_dir>/agents.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from recagents.agents.config import AgentsConfig, write_fusion_weight
from recagents.agents.run import ARAGResult, recommend_with_agents
from recagents.agents.state import RecRequest
from recagents.errors import EmptyResultError, InvalidArgumentError
from recagents.eval.engines import recbole_check, reference_bpr, run_engines, run_two_stage
from recagents.eval.graph_text import graph_text_rows
from recagents.eval.llm_cache import SQLiteLLMCache, cached_handle
from recagents.eval.metrics import METRICS
from recagents.eval.orders import arag_parts, fused_order, generated_config, ranking_config
from recagents.eval.sampled import run_sampled
from recagents.eval.scoring import METRIC_KEYS, score
from recagents.recommender.split import Split
from recagents.recommender.train import split_path
from recagents.services.context import ServiceContext
from recagents.services.requests import FavouritesRequest
from recagents.services.social import similar_users_favourites

log = logging.getLogger(__name__)

TUNE_GRID = tuple(round(0.1 * i, 1) for i in range(11))
# ARAG ablations of the generated design: variant -> (nli on, context summary on)
VARIANTS = {"full": (True, True), "no_nli": (False, True), "no_cs": (True, False)}
GENERATED = {"nli": {"method": "generate"}, "ranker": {"method": "generate"}}


@dataclass
class RankingOptions:
    users: int | None = 20  # None: every test user with a test item
    seed: int = 2020
    k: int = 10  # items the ARAG ranker is asked for (capped at the pool size)
    resamples: int = 1000
    llm: bool = True
    ablations: bool = True
    tune: bool = False
    grid: tuple[float, ...] = TUNE_GRID
    swing_users: int = 20
    engines: tuple[str, ...] = ()  # RecBole engines compared beside BPR (eval/engines.py)
    two_stage: tuple[str, ...] = ()  # engines evaluated as retrieval → ranking (eval/engines.py)
    tune_users: int | None = None  # valid users for --tune (None: as many as ``users``)
    generated: int = 0  # users also run through the earlier generated agents
    sampled: int = 0  # users of the sampled-candidate protocol (eval/sampled.py)
    graph_text: bool = False  # RecoFM rows and the cold-start protocol (eval/graph_text.py)
    cold_users: int | None = None  # users of that cold-start protocol (None: every eligible)
    cache_path: Path | None = None
    progress: bool = True


@dataclass
class RankingRun:
    users: list[int]
    targets: dict[int, set[int]]
    pools: dict[int, list[int]] = field(default_factory=dict)
    rankings: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # method -> seconds per user
    cost: dict[str, dict[int, dict]] = field(default_factory=dict)  # variant -> user -> usage
    checks: dict[str, Any] = field(default_factory=dict)


def sample_users(targets: dict[int, set[int]], n: int | None, seed: int) -> list[int]:
    """``n`` users with at least one target, drawn with ``seed``; all of them when n is None."""
    eligible = sorted(u for u, items in targets.items() if items)
    if n is None or n >= len(eligible):
        return eligible
    if n < 1:
        raise InvalidArgumentError(f"--users must be at least 1, got {n}")
    return sorted(random.Random(seed).sample(eligible, n))


def view_context(base: ServiceContext, holdout: str) -> ServiceContext:
    """The same opened stores under another history view (Swing is rebuilt from its ratings)."""
    return ServiceContext(
        settings=base.settings,
        store=base.store,
        recommender=base.get_recommender(),
        vectors=base.vectors,
        swing=None,
        options=base.options,
        holdout=holdout,
    )


# --- baselines ---------------------------------------------------------------------------------
def _timed(run: RankingRun, name: str, started: float) -> None:
    run.seconds[name] = (time.perf_counter() - started) / max(1, len(run.users))


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
    _timed(run, "popularity", started)

    bpr = reference_bpr(ctx.settings, rec)
    started = time.perf_counter()
    tops = bpr.top_k_all_users(k=cut, view=view)
    run.rankings["bpr"] = {u: tops[u].item_ids for u in run.users}
    _timed(run, "bpr", started)

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
    _timed(run, "swing", started)


def run_pool(
    ctx: ServiceContext, run: RankingRun, config: AgentsConfig, k: int, progress: bool
) -> None:
    started = time.perf_counter()
    for u in tqdm(run.users, desc="retrieval pool", unit="user", disable=not progress):
        result = recommend_with_agents(ctx, RecRequest(user_id=u, k=k), None, config=config)
        run.pools[u] = list(result.candidates)
    run.rankings["pool"] = dict(run.pools)
    _timed(run, "pool", started)


# --- ARAG with the LLM -------------------------------------------------------------------------
def _usage(result: ARAGResult, delta, seconds: float) -> dict:
    u = result.usage
    return {
        "seconds": round(seconds, 4),
        # this run's time plus what the answers served from the cache took when computed
        "seconds_uncached": round(seconds + delta.hit_seconds, 4),
        "llm_calls": delta.misses,
        "cache_hits": delta.hits,
        "answers": u["llm_calls"],
        "tokens_in": u["tokens_in"],
        "tokens_out": u["tokens_out"],
        "llm_rounds": u["llm_rounds"],
        "per_node_seconds": u["per_node_seconds"],
        "fallback": result.fallback,
        "errors": result.errors,
    }


def _run_key(ctx: ServiceContext, llm, config: AgentsConfig, user: int, k: int) -> str:
    knobs = config.model_dump(mode="json")
    knobs["ranker"].pop("fusion_weight")  # applied after the LLM: the same calls for any weight
    what = [ctx.holdout, user, k, getattr(llm, "model", None), knobs]
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def arag_once(ctx, llm, cache, config: AgentsConfig, user: int, k: int):
    """One ARAG request with its usage. ``computed``: the timings of the run that made the LLM
    calls (this one, or the remembered first run when every answer came from the cache)."""
    before, started = cache.stats(), time.perf_counter()
    result = recommend_with_agents(ctx, RecRequest(user_id=user, k=k), llm, config=config)
    usage = _usage(result, cache.stats().minus(before), time.perf_counter() - started)
    key = _run_key(ctx, llm, config, user, k)
    keep = ("seconds_uncached", "per_node_seconds")
    if usage["llm_calls"]:
        cache.remember(key, {name: usage[name] for name in keep})
    usage["computed"] = cache.recall(key) or {name: usage[name] for name in keep}
    return result, usage


def _keep_users(run: RankingRun, done: list[int]) -> None:
    """After an interrupt: score only the users every variant finished for."""
    run.checks["interrupted"] = {"users_done": len(done), "users_planned": len(run.users)}
    run.users = list(done)
    for per_user in run.cost.values():
        for u in [u for u in per_user if u not in done]:
            del per_user[u]


def run_arag(ctx, run: RankingRun, llm, cache, config: AgentsConfig, opts, k: int) -> None:
    """Every variant per user. Ctrl-C stops after the users finished so far: they are scored
    (``checks.interrupted``), and a re-run takes their answers from the cache."""
    ablate = opts.ablations and config.ranker.method == "generate"
    variants = {
        name: config.ablated(nli=nli_on, context_summary=cs_on)
        for name, (nli_on, cs_on) in VARIANTS.items()
        if name == "full" or ablate
    }
    variants["full"] = ranking_config(variants["full"])
    if opts.generated and config.ranker.method == "fusion":
        variants["generated"] = generated_config(config)
    rrf_k, weight = config.ranker.rrf_k, config.ranker.fusion_weight
    mismatches, done = [], []
    try:
        for n, u in enumerate(
            tqdm(run.users, desc="ARAG (LLM)", unit="user", disable=not opts.progress)
        ):
            for variant, cfg in variants.items():
                if variant == "generated" and n >= opts.generated:
                    continue
                result, usage = arag_once(ctx, llm, cache, cfg, u, k)
                run.cost.setdefault(variant, {})[u] = usage
                parts = arag_parts(result)
                suffix = "" if variant == "full" else f"_{variant}"
                name = "arag_generated" if variant == "generated" else f"arag_llm{suffix}"
                run.rankings.setdefault(name, {})[u] = fused_order(parts, 1.0, rrf_k)
                if variant in ("full", "generated"):
                    fused = fused_order(parts, weight, rrf_k)
                    fused_name = "arag_fused" if variant == "full" else "arag_generated_fused"
                    run.rankings.setdefault(fused_name, {})[u] = fused
                    if variant == "full" and fused[:k] != [i["id"] for i in result.items]:
                        mismatches.append(u)
                if list(result.candidates) != run.pools.get(u, result.candidates):
                    run.checks.setdefault("pool_differs", []).append([variant, u])
            done.append(u)
    except KeyboardInterrupt:
        if not done:
            raise
        log.warning("interrupted: scoring the %d of %d users done", len(done), len(run.users))
        _keep_users(run, done)
    run.checks["fused_order_mismatches"] = mismatches
    if mismatches:
        log.warning("fused order differs from the graph's items for users %s", mismatches)
    for variant, per_user in run.cost.items():
        name = {"full": "arag_llm", "generated": "arag_generated"}.get(variant)
        secs = [c["computed"]["seconds_uncached"] for c in per_user.values()]
        run.seconds[name or f"arag_llm_{variant}"] = float(np.mean(secs))
    run.seconds["arag_fused"] = run.seconds.get("arag_llm", 0.0)
    if "arag_generated" in run.seconds:
        run.seconds["arag_generated_fused"] = run.seconds["arag_generated"]


# --- tuning fusion_weight on the valid view ----------------------------------------------------
def tune_fusion_weight(
    valid_ctx: ServiceContext, llm, cache, config: AgentsConfig, opts: RankingOptions
) -> dict[str, Any]:
    if valid_ctx.holdout != "valid":
        raise InvalidArgumentError("tuning runs on the holdout=valid view only")
    targets = Split.load(split_path(valid_ctx.settings)).per_user("valid")
    users = sample_users(targets, opts.tune_users or opts.users, opts.seed)
    k = min(opts.k, config.retrieval.pool_size)
    config = ranking_config(config)
    per_weight: dict[float, list[float]] = {w: [] for w in opts.grid}
    calls = 0
    for u in tqdm(users, desc="tune fusion_weight (valid)", unit="user", disable=not opts.progress):
        result, usage = arag_once(valid_ctx, llm, cache, config, u, k)
        calls += usage["llm_calls"]
        parts = arag_parts(result)
        for w in opts.grid:
            ranked = fused_order(parts, w, config.ranker.rrf_k)
            per_weight[w].append(METRICS["ndcg"](ranked, targets[u], 10))
    means = {w: float(np.mean(v)) for w, v in per_weight.items()}
    current = config.ranker.fusion_weight
    best = max(means.values())
    # ties: the weight closest to the configured one, then the smaller
    chosen = min((w for w, m in means.items() if m >= best - 1e-12),
                 key=lambda w: (abs(w - current), w))  # fmt: skip
    return {
        "view": "valid",
        "metric": "ndcg@10 (full catalogue, valid items as targets)",
        "users": users,
        "grid": {str(w): round(m, 6) for w, m in means.items()},
        "previous": current,
        "chosen": chosen,
        "llm_calls": calls,
    }


def bpr_check(ctx: ServiceContext, targets: dict[int, set[int]]) -> dict[str, Any]:
    """BPR over EVERY test user with our metrics vs RecBole's test numbers in metrics.json."""
    bpr = reference_bpr(ctx.settings, ctx.get_recommender())
    return recbole_check(bpr, ctx.settings, ctx.view, targets)


def run_ranking(
    services: ServiceContext,
    options: RankingOptions,
    *,
    llm: Any = None,
    config: AgentsConfig | None = None,
    on_tuned: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """The whole evaluation; returns the report dict (``eval.report.write_report`` saves it).

    ``services``: the opened stores under any view (test and valid views are derived from
    them); ``llm``: an ``LLMHandle`` (needed unless ``options.llm`` is False); ``config``: the
    agent knobs (default ``AgentsConfig.load``)."""
    settings = services.settings
    config = config or AgentsConfig.load(settings)
    test_ctx = view_context(services, "test")
    targets = Split.load(split_path(settings)).per_user("test")
    run = RankingRun(sample_users(targets, options.users, options.seed), targets)
    k = min(options.k, config.retrieval.pool_size)
    report: dict[str, Any] = {"tuning": None, "model": None, "engine": settings.recommender}
    cache = None
    if options.llm or options.tune:
        if llm is None:
            raise InvalidArgumentError("the LLM methods need an LLM handle (or use --no-llm)")
        cache = SQLiteLLMCache(
            options.cache_path or settings.data_dir / "eval" / "llm_cache.sqlite"
        )
        report["model"] = {"backend": llm.backend, "model": llm.model, "cache": str(cache.path)}
        llm = cached_handle(llm, cache)
    try:
        if options.tune:
            tuning = tune_fusion_weight(
                view_context(services, "valid"), llm, cache, config, options
            )
            tuning["model"] = report["model"]["model"]
            tuning["written_to"] = str(write_fusion_weight(settings, tuning["chosen"], tuning))
            ranker = config.ranker.model_copy(update={"fusion_weight": tuning["chosen"]})
            config = config.model_copy(update={"ranker": ranker})
            report["tuning"] = tuning
            if on_tuned:
                on_tuned(tuning)
        run_baselines(test_ctx, run, options, cut=10)
        if options.engines:
            rankings, seconds, engine_checks = run_engines(
                settings, options.engines, users=run.users, view=test_ctx.view,
                targets=targets, progress=options.progress,
            )  # fmt: skip
            run.rankings.update(rankings)
            run.seconds.update(seconds)
            run.checks["engines_vs_recbole"] = engine_checks
        if options.two_stage:
            rankings, seconds, stage_facts = run_two_stage(
                settings, options.two_stage, users=run.users, view=test_ctx.view,
                progress=options.progress,
            )  # fmt: skip
            run.rankings.update(rankings)
            run.seconds.update(seconds)
            run.checks["two_stage"] = stage_facts
        if options.graph_text:
            report["graph_text"] = graph_text_rows(test_ctx, view_context(services, "valid"), run,
                                                   options)  # fmt: skip
        run_pool(test_ctx, run, config, k, options.progress)
        if options.llm:
            run_arag(test_ctx, run, llm, cache, config, options, k)
        if options.llm and options.sampled:
            report["sampled"] = run_sampled(
                test_ctx, llm, ranking_config(config), targets, options, sample_users
            )
    finally:
        if cache is not None:
            cache.close()
    summary, per_user = score(run, options.resamples, options.seed)
    report.update(
        holdout="test",
        users=run.users,
        seed=options.seed,
        k=k,
        resamples=options.resamples,
        metrics=list(METRIC_KEYS),
        methods=summary,
        per_user=per_user,
        rankings={m: {u: r[:10] for u, r in rs.items()} for m, rs in run.rankings.items()},
        pools=run.pools,
        cost=run.cost,
        checks={**run.checks, "bpr_vs_recbole": bpr_check(test_ctx, targets)},
        config=config.model_dump(),
        config_sources=[str(p) for p in AgentsConfig.sources(settings)],
    )
    return report
