"""Item Ranker: the final order of the accepted candidates, and explanations for the top k.

``ranker.method: fusion`` (default): no LLM ranks. The order is the active engine's (retrieval)
order fused with NLI's relevance order (weighted reciprocal rank, ``fusion_weight`` tuned on the
``valid`` view by ``eval ranking --tune``); then ONE short call explains the final k only:
by default the model picks, per movie, one of the true reasons the code wrote from the store
(``agents.reasons``; no call where each movie has a single reason), or with
``explanations.method: write`` it writes the sentences (``agents.explanations``). Without relevance scores (NLI failed) the order is the
engine's, flagged as a fallback.

``ranker.method: generate`` (the earlier design): the LLM writes a permutation of k ids with
explanations, ids constrained to the accepted candidates; duplicates and non-candidates are
dropped, and the generated order is fused with the engine's the same way.

``finalize`` takes the top k, fills from the engine's order (flagged) when the model returned
too few, and checks every explanation against the store: a false one is replaced by the data
template and counted.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.agents.config import RankerConfig
from recagents.agents.explanations import check, facts, sentence_cap, template, write
from recagents.agents.fusion import fuse
from recagents.agents.prompting import Capped, ask, sized, timed
from recagents.agents.reasons import asked_genres, choose, reasons
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step
from recagents.llm.structured import constrain_ids


class RankedItem(BaseModel):
    item_id: int
    explanation: Annotated[
        str,
        Capped(220),
        Field(
            description="One or two sentences naming something concrete from the user's "
            "history or the movie (a liked title, a genre, the plot)."
        ),
    ]


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
    k = state["request"].k
    schema = sized(constrain_ids(Ranking, accepted), "items", 1, min(k, len(accepted)))
    value = ask(ctx, state, schema, task, config, max_tokens=90 * state["request"].k + 60)
    return clean_ranking(value, accepted, state["request"].k)


def fusion_ranking(state: ARAGState, cfg: RankerConfig, *, scored: bool = True) -> dict | None:
    """The accepted candidates, the engine's order fused with the NLI relevance order
    (weighted reciprocal rank, ``ranker.fusion_weight``); None when NLI was asked and scored
    nothing. ``scored=False`` (NLI switched off): the engine's order, not a fallback."""
    verdicts = {v["item_id"]: v for v in state.get("verdicts", []) if v.get("judged")}
    if not verdicts and scored:
        return None
    accepted = state.get("accepted") or [c["item_id"] for c in state["candidates"]]
    ids = set(accepted)
    base = [c["item_id"] for c in state["candidates"] if c["item_id"] in ids]
    rank = {i: r for r, i in enumerate(base)}
    relevance = sorted(
        (i for i in base if i in verdicts), key=lambda i: (-verdicts[i]["score"], rank[i])
    )
    fused = fuse(relevance, base, cfg.fusion_weight, cfg.rrf_k)
    return {
        "method": "fusion",
        "llm_order": relevance,
        "order": [i for i, _ in fused],
        "scores": {i: round(score, 6) for i, score in fused},
        "items": [],
    }


def _explained(ctx: ARAGContext, state: ARAGState, ranking: dict, config) -> dict:
    """``ranking`` with one explanation per item of its top k: the model's pick among the true
    reasons (``choose``; no call where each movie has one) or its own sentence (``write``)."""
    k = state["request"].k
    by_id = {c["item_id"]: c for c in state["candidates"]}
    chosen = [by_id[i] for i in ranking["order"][:k]]
    if not ctx.config.explanations.enabled:
        return {"ranking": ranking}
    request = state["request"]
    fs = facts(ctx, state, chosen)

    def explained(sentences: list[str], **more) -> dict:
        items = [
            {"item_id": f["item_id"], "explanation": r} for f, r in zip(fs, sentences, strict=True)
        ]
        return {"ranking": {**ranking, "items": items, "facts": fs, **more}}

    if ctx.config.explanations.method == "write":
        return llm_step(
            state,
            "explanations",
            lambda: explained(write(ctx, state, fs, request.request_text, config)),
            fallback={"ranking": ranking},
        )
    asked = asked_genres(
        request.request_text, (request.filters.genres if request.filters else None) or []
    )
    options = [reasons(f, by_id[f["item_id"]]["sources"], asked) for f in fs]
    if all(len(o) == 1 for o in options):  # nothing to choose: no LLM call
        return explained([o[0] for o in options], reasons=options)

    def run() -> dict:
        picked = choose(ctx, state, fs, options, request.request_text, config)
        return explained(picked, reasons=options)

    return llm_step(state, "explanations", run, fallback={"ranking": ranking})


def ranker(state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig) -> dict:
    started = time.perf_counter()
    ctx = context_of(runtime)
    k = state["request"].k
    if ctx.config.ranker.method == "fusion":
        scored = ctx.config.nli.enabled and not ctx.config.nli_skipped()
        ranking = fusion_ranking(state, ctx.config.ranker, scored=scored)
        if ranking is None:  # NLI gave no scores: the flagged engine order
            update = {"ranking": None, "errors": ["ranker: no relevance scores to fuse"]}
        else:
            update = _explained(ctx, state, ranking, config)
        return {**update, "timings": timed("ranker", started)}
    update = llm_step(
        state,
        "ranker",
        lambda: {"ranking": rank(ctx, state, ranking_task(state, k), config)},
        fallback={"ranking": None},
    )
    return {**update, "timings": timed("ranker", started)}


def _final_order(state: ARAGState, cfg: RankerConfig) -> list[tuple[int, float]]:
    accepted = set(state.get("accepted") or [c["item_id"] for c in state["candidates"]])
    base = [c["item_id"] for c in state["candidates"] if c["item_id"] in accepted]
    ranking = state.get("ranking")
    if ranking is None:  # the LLM failed (or was not asked): the retrieval order
        return [(i, 1.0 / (cfg.rrf_k + r)) for r, i in enumerate(base, 1)]
    if ranking.get("method") == "fusion":
        return [(i, ranking["scores"][i]) for i in ranking["order"]]
    generated = [i["item_id"] for i in ranking.get("items", [])]
    return fuse(generated, base, cfg.fusion_weight, cfg.rrf_k)


def finalize(state: ARAGState, runtime: Runtime[ARAGContext]) -> dict:
    """The top k with explanations, each checked against the store: a false one is replaced
    by the data template and counted (``explanations`` on the blackboard)."""
    started = time.perf_counter()
    ctx = context_of(runtime)
    k = state["request"].k
    by_id = {c["item_id"]: c for c in state["candidates"]}
    ranking = state.get("ranking") or {}
    written = {i["item_id"]: i["explanation"] for i in ranking.get("items", [])}
    llm_rank = (
        {i: r for r, i in enumerate(ranking.get("llm_order") or written, start=1)}
        if ranking
        else {}
    )
    order = _final_order(state, ctx.config.ranker)[:k]
    # the facts the explanations were written from (the fusion ranker's), the rest computed here
    fs = {f["item_id"]: f for f in ranking.get("facts", [])}
    missing = [by_id[i] for i, _ in order if i not in fs]
    if missing:
        fs.update((f["item_id"], f) for f in facts(ctx, state, missing))
    checker = _checker(ctx, state)
    replaced, items = [], []
    for item_id, score in order:
        c = by_id[item_id]
        text = written.get(item_id)
        why = checker(text, fs[item_id]) if text else None
        if why:
            replaced.append({"item_id": item_id, "why": why, "text": text})
        explanation = text if text and not why else template(fs[item_id], c["sources"])
        items.append(
            {
                "id": item_id,
                "title": c["title"],
                "year": c["year"],
                "genres": c["genres"],
                "score": round(score, 6),
                "explanation": explanation,
                "filled": item_id not in written,
                "llm_rank": llm_rank.get(item_id),
                "base_rank": c["base_rank"],
            }
        )
    report = {"written": sum(i in written for i, _ in order), "replaced": replaced}
    return {"items": items, "explanations": report, "timings": timed("finalize", started)}


def _checker(ctx: ARAGContext, state: ARAGState):
    req = state["request"]
    history = state.get("history", [])
    pool = {c["item_id"]: c for c in state["candidates"]}
    known = {**{h["item_id"]: h for h in history}, **pool}
    genres = {i: list(x["genres"]) for i, x in known.items()}
    years = {i: x["year"] for i, x in known.items()}
    asked = asked_genres(req.request_text, (req.filters.genres if req.filters else None) or [])

    rated = {h["item_id"] for h in history}

    def run(text: str, fact) -> str | None:
        return check(
            text,
            fact,
            index=ctx.services.title_index,
            # a sentence may name its own movie and the user's rated ones; another candidate
            # named is the sentence of another movie (small models shift them by one)
            allowed_ids=rated | {fact["item_id"]},
            named_genres=genres,
            named_years=years,
            request_text=req.request_text,
            request_genres=asked,
            max_chars=sentence_cap(ctx.config.explanations.max_words),
        )

    return run
