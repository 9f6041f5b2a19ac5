"""Item Ranker: the final k with explanations, ids constrained to the accepted candidates.

Post-validation drops duplicates and non-candidates; ``finalize`` fuses the ranker's order with
BPR's (weighted reciprocal rank), fills from BPR's order when the model returned too few and
flags every filled item, and falls back to the retrieval order with template explanations when
the LLM failed.
"""

from __future__ import annotations

import time
from typing import Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel

from recagents.agents.fusion import fuse
from recagents.agents.prompting import ask, capped, sized, timed
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step
from recagents.llm.structured import constrain_ids


class RankedItem(BaseModel):
    item_id: int
    explanation: capped(
        220,
        "One or two sentences naming something concrete from the user's history or the movie "
        "(a liked title, a genre, the plot).",
    )


class Ranking(BaseModel):
    items: list[RankedItem]
    confidence: Literal["low", "medium", "high"]


def ranking_task(state: ARAGState, k: int, extra: str = "") -> str:
    accepted = state.get("accepted", [])
    return (
        f"Context summary: {state.get('summary') or 'none'}\n{extra}"
        f"\nTASK (Item Ranker): choose the {k} best movies for this user among these accepted "
        f"ids only: {', '.join(map(str, accepted))}. Best first, each id once. For each, one "
        "or two sentences explaining why, naming something concrete (a movie the user rated, "
        "a genre, the plot, the request). Then your confidence (low / medium / high)."
    )


def clean_ranking(value: Ranking, allowed: list[int], k: int) -> dict:
    """Duplicates and ids outside ``allowed`` dropped, at most k kept."""
    seen: set[int] = set()
    items = []
    for item in value.items:
        if item.item_id in allowed and item.item_id not in seen and item.explanation.strip():
            seen.add(item.item_id)
            items.append({"item_id": item.item_id, "explanation": item.explanation.strip()})
    return {"items": items[:k], "confidence": value.confidence}


def rank(ctx: ARAGContext, state: ARAGState, task: str, config) -> dict:
    accepted = state.get("accepted", [])
    k = state["request"]["k"]
    schema = sized(constrain_ids(Ranking, accepted), "items", 1, min(k, len(accepted)))
    value = ask(ctx, state, schema, task, config, max_tokens=90 * state["request"]["k"] + 60)
    return clean_ranking(value, accepted, state["request"]["k"])


def ranker(state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig) -> dict:
    started = time.perf_counter()
    k = state["request"]["k"]
    update = llm_step(
        state,
        "ranker",
        lambda: {"ranking": rank(context_of(runtime), state, ranking_task(state, k), config)},
        fallback={"ranking": None},
    )
    return {**update, "timings": timed("ranker", started)}


def template_explanation(state: ARAGState, candidate: dict) -> str:
    """A grounded reason without the LLM: a shared genre with a rated movie, or the source."""
    genres = set(candidate["genres"])
    for h in state.get("history", []):
        shared = sorted(genres & set(h["genres"]))
        if shared and (h.get("rating") or 0) >= 4:
            return f"{' and '.join(shared)}, like {h['title']}, which you rated {h['rating']:g}/5."
    sources = candidate["sources"]
    if "search" in sources:
        return "Its plot matches your request."
    if "popularity" in sources:
        return "Popular with many users (no personal history to go on)."
    return "Ranked high by the collaborative-filtering model for your rating history."


def finalize(state: ARAGState, runtime: Runtime[ARAGContext]) -> dict:
    started = time.perf_counter()
    cfg = context_of(runtime).config.ranker
    k = state["request"]["k"]
    by_id = {c["item_id"]: c for c in state["candidates"]}
    accepted = set(state.get("accepted") or by_id)
    base = [c["item_id"] for c in state["candidates"] if c["item_id"] in accepted]
    ranking = state.get("ranking")
    llm_items = (ranking or {}).get("items", [])
    explanations = {i["item_id"]: i["explanation"] for i in llm_items}
    if ranking is None:  # the LLM failed (or was not asked): the retrieval order
        order = [(i, 1.0 / (cfg.rrf_k + r)) for r, i in enumerate(base, 1)]
    else:
        weight = cfg.fusion_weight
        order = fuse(list(explanations), base, weight, cfg.rrf_k)
    llm_rank = {i: r for r, i in enumerate(explanations, start=1)}
    items = []
    for item_id, score in order[:k]:
        c = by_id[item_id]
        filled = item_id not in explanations
        items.append(
            {
                "id": item_id,
                "title": c["title"],
                "year": c["year"],
                "genres": c["genres"],
                "score": round(score, 6),
                "explanation": explanations.get(item_id) or template_explanation(state, c),
                "filled": filled,
                "llm_rank": llm_rank.get(item_id),
                "base_rank": c["base_rank"],
            }
        )
    return {"items": items, "timings": timed("finalize", started)}
