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

Here the run is put together; its parts: ``eval/ranking_run.py`` (options, state, user sample,
views), ``eval/baselines.py`` (the methods without an LLM), ``eval/arag_runs.py`` (ARAG with the
LLM, the tuning), ``eval/scoring.py`` (metrics, CIs, paired differences).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recagents.agents.config import AgentsConfig, write_fusion_weight
from recagents.errors import InvalidArgumentError
from recagents.eval.arag_runs import run_arag, tune_fusion_weight
from recagents.eval.baselines import bpr_check, run_baselines, run_pool
from recagents.eval.engines import run_engines, run_two_stage
from recagents.eval.graph_text import graph_text_rows
from recagents.eval.llm_cache import SQLiteLLMCache, cached_handle
from recagents.eval.orders import ranking_config
from recagents.eval.ranking_run import RankingOptions, RankingRun, sample_users, view_context
from recagents.eval.sampled import run_sampled
from recagents.eval.scoring import METRIC_KEYS, score
from recagents.recommender.split import Split
from recagents.recommender.train import split_path
from recagents.services.context import ServiceContext


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
