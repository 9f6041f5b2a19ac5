"""Reflection: when the ranker and NLI disagree strongly, or the ranker is unsure, one
critique-and-rerank pass (bounded: at most once per request)."""

from __future__ import annotations

import time

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from recagents.agents.prompting import timed
from recagents.agents.ranker import rank, ranking_task
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step


def nli_best(state: ARAGState, k: int) -> list[int]:
    return list(state.get("accepted", []))[:k]


def needs_reflection(state: ARAGState, runtime: Runtime[ARAGContext]) -> bool:
    cfg = context_of(runtime).config.reflection
    ranking = state.get("ranking")
    if not cfg.enabled or not ranking or not ranking["items"]:
        return False
    if ranking.get("method") == "fusion":  # an order fused from scores: nothing to critique
        return False
    k = state["request"].k
    top = {i["item_id"] for i in ranking["items"][:k]}
    overlap = len(top & set(nli_best(state, k))) / k
    return ranking["confidence"] == "low" or overlap < cfg.min_overlap


def route_after_ranker(state: ARAGState, runtime: Runtime[ARAGContext]) -> str:
    return "reflection" if needs_reflection(state, runtime) else "finalize"


def reflection(state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig) -> dict:
    started = time.perf_counter()
    k = state["request"].k
    first = state["ranking"]
    assert first is not None  # route_after_ranker reflects on a ranking only
    critique = (
        f"\nA first ranking was: {', '.join(str(i['item_id']) for i in first['items'])} "
        f"(confidence {first['confidence']}). The NLI agent's best fits were: "
        f"{', '.join(map(str, nli_best(state, k)))}. Critique the first ranking against the "
        "user context and the NLI verdicts, then give your corrected ranking."
    )

    def run() -> dict:
        revised = rank(context_of(runtime), state, ranking_task(state, k, critique), config)
        return {"ranking": revised, "reflection": {"first": first, "revised": revised}}

    update = llm_step(state, "reflection", run, fallback={"reflection": {"first": first}})
    return {**update, "timings": timed("reflection", started)}
