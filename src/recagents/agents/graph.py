"""The ARAG graph: retrieve → (User Understanding ∥ NLI) → Context Summary → Item Ranker
→ [Reflection] → finalize, on one shared blackboard (``ARAGState``).

The scoring design (the default: ``nli.method: score``, ``ranker.method: fusion``) has 2
sequential LLM rounds: UU (cached per user block) ∥ NLI (one generated token per candidate,
read as a distribution over graded labels), then the ranker's one short explanation call for
the final k (a typed form: the model picks one of the true reasons the code wrote per movie,
``agents.reasons``); Context Summary and the ranker's order need no LLM (the order fuses the engine's
with NLI's relevance). ``finalize`` checks every explanation against the store. The generated
design (``generate`` / ``generate``) has at most 4 rounds (UU ∥ NLI, CS, IR), 5 with
reflection. Without an LLM (``context.llm is None``) the graph goes from retrieval straight
to ``finalize``.
NLI asks no LLM when the fusion weight is 0 (``nli.when_unweighted: skip``, the default): the
order is then the engine's whatever the scores, so the default costs UU and the explanations.
Ablations (``nli.enabled`` / ``context_summary.enabled`` false in the agents config): the node
stays in the graph but asks no LLM — without NLI every candidate goes on (no verdicts); without
Context Summary the ranker reads the profile and the verdicts the summary would condense.
LangGraph Studio opens it through ``langgraph.json`` (``resources.studio_arag_graph``).
"""

from __future__ import annotations

import time

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from recagents.agents.context_summary import context_summary, evidence
from recagents.agents.nli import nli
from recagents.agents.prompting import candidate_block, timed, user_block
from recagents.agents.ranker import finalize, ranker
from recagents.agents.reflection import reflection, route_after_ranker
from recagents.agents.retrieval import retrieve
from recagents.agents.state import ARAGContext, ARAGState, RecRequest, context_of
from recagents.agents.user_understanding import user_understanding
from recagents.errors import InvalidArgumentError


def retrieval(state: ARAGState, runtime: Runtime[ARAGContext]) -> dict:
    started = time.perf_counter()
    req = RecRequest.model_validate(state["request"])
    ctx = context_of(runtime)
    found = retrieve(ctx.services, req, ctx.config)
    if req.k > len(found.candidates):
        raise InvalidArgumentError(
            f"k={req.k} is larger than the candidate pool ({len(found.candidates)} items after "
            "filters and history): ask for fewer items or relax the filters"
        )
    return {
        "candidates": found.candidates,
        "history": found.history,
        "retrieval": found.info,
        "accepted": [c["item_id"] for c in found.candidates],
        "user_block": user_block(
            user=found.user,
            request_text=req.request_text,
            history=found.history,
            favourites=found.neighbour_favourites,
            cold_start=found.info["cold_start"],
        ),
        "candidate_block": candidate_block(found.candidates),
        "request": req,
        "errors": [],
        "timings": timed("retrieval", started),
    }


def route_after_retrieval(state: ARAGState, runtime: Runtime[ARAGContext]) -> list[str] | str:
    if context_of(runtime).llm is None:
        return "finalize"
    return ["user_understanding", "nli"]


def nli_or_skip(state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig) -> dict:
    """NLI; or no verdicts (``accepted`` stays every candidate) in the ablation "without NLI",
    or when its scores could not change the order (fusion weight 0), saying so."""
    agents = context_of(runtime).config
    skipped = agents.nli_skipped()
    if skipped:
        return {"verdicts": [], "scoring": {"skipped": skipped}}
    if agents.nli.enabled:
        return nli(state, runtime, config)
    return {"verdicts": []}


def context_summary_or_skip(
    state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig
) -> dict:
    """Context Summary, or (ablation "without Context Summary") the uncondensed evidence."""
    if context_of(runtime).config.context_summary.enabled:
        return context_summary(state, runtime, config)
    return {"summary": evidence(state)}


def build_graph():
    graph = StateGraph(ARAGState, context_schema=ARAGContext)
    graph.add_node("retrieval", retrieval)
    graph.add_node("user_understanding", user_understanding)
    graph.add_node("nli", nli_or_skip)
    graph.add_node("context_summary", context_summary_or_skip)
    graph.add_node("ranker", ranker)
    graph.add_node("reflection", reflection)
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "retrieval")
    graph.add_conditional_edges(
        "retrieval", route_after_retrieval, ["user_understanding", "nli", "finalize"]
    )
    graph.add_edge(["user_understanding", "nli"], "context_summary")
    graph.add_edge("context_summary", "ranker")
    graph.add_conditional_edges("ranker", route_after_ranker, ["reflection", "finalize"])
    graph.add_edge("reflection", "finalize")
    graph.add_edge("finalize", END)
    return graph.compile(name="arag")


graph = build_graph()
