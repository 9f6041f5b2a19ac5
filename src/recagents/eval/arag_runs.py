"""ARAG with the LLM in ``eval ranking``: one request with its usage (LLM answers through the
on-disk cache), every variant per user (``arag_llm``, ``arag_fused``, the ablations, the
generated agents), and the tuning of ``fusion_weight`` on the ``holdout=valid`` view."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import numpy as np
from tqdm import tqdm

from recagents.agents.config import AgentsConfig
from recagents.agents.run import ARAGResult, recommend_with_agents
from recagents.agents.state import RecRequest
from recagents.errors import InvalidArgumentError
from recagents.eval.bootstrap import paired_diff, resample_indices
from recagents.eval.metrics import METRICS
from recagents.eval.orders import arag_parts, fused_order, generated_config, ranking_config
from recagents.eval.ranking_run import RankingOptions, RankingRun, sample_users
from recagents.recommender.split import Split
from recagents.recommender.train import split_path
from recagents.services.context import ServiceContext

log = logging.getLogger(__name__)

# ARAG ablations of the generated design: variant -> (nli on, context summary on)
VARIANTS = {"full": (True, True), "no_nli": (False, True), "no_cs": (True, False)}


def _usage(result: ARAGResult, delta, seconds: float) -> dict:
    u = result.usage
    return {
        "seconds": round(seconds, 4),
        # this run's time plus what the answers served from the cache took when computed
        "seconds_uncached": round(seconds + delta.hit_seconds, 4),
        "llm_calls": delta.misses,
        "cache_hits": delta.hits,
        "answers": u.llm_calls,
        "tokens_in": u.tokens_in,
        "tokens_out": u.tokens_out,
        "llm_rounds": u.llm_rounds,
        "per_node_seconds": u.per_node_seconds,
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
                    if variant == "full" and fused[:k] != [i.id for i in result.items]:
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
    chosen, rule = choose_weight(per_weight, current, opts.resamples, opts.seed)
    return {
        "view": "valid",
        "metric": "ndcg@10 (full catalogue, valid items as targets)",
        "users": users,
        "grid": {str(w): round(m, 6) for w, m in means.items()},
        "previous": current,
        "chosen": chosen,
        "rule": rule,
        "llm_calls": calls,
    }


def choose_weight(
    per_weight: dict[float, list[float]], current: float, resamples: int, seed: int
) -> tuple[float, dict[str, Any]]:
    """The weight with the best mean (ties: nearest ``current``, then the smaller), unless its
    gain over weight 0 is not significant (paired bootstrap 95 % CI over the users includes 0):
    then 0, which costs no scoring call at all (NLI skips at weight 0)."""
    means = {w: float(np.mean(v)) for w, v in per_weight.items()}
    best = max(means.values())
    top = min((w for w, m in means.items() if m >= best - 1e-12),
              key=lambda w: (abs(w - current), w))  # fmt: skip
    if top == 0 or 0.0 not in per_weight:
        return top, {"best_on_valid": top}
    idx = resample_indices(len(per_weight[top]), resamples, seed)
    gain = paired_diff(per_weight[top], per_weight[0.0], idx)
    rule = {
        "best_on_valid": top,
        "gain_vs_0": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in gain.items()},
    }
    if not gain["significant"]:
        rule["why"] = (
            f"the gain of {top} over 0 on valid is not significant (paired 95 % CI "
            f"[{gain['lo']:+.4f}, {gain['hi']:+.4f}]); 0 costs no scoring call"
        )
        return 0.0, rule
    return top, rule
