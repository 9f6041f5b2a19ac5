"""NLI: does each candidate fit this user's context? One verdict per candidate.

``nli.method: score`` (default): each candidate is *scored*, not argued: one prompt per
candidate (the user block and the task first, byte-identical, so the backend caches them; the
candidate's line last) and ONE generated token, read as a distribution over the graded labels
0-3 from the next-token log-probabilities (``llm.scoring``). The verdict keeps the
probabilities and the expected relevance in [0, 1]; no rationale is generated.

``nli.method: generate`` (the earlier design, kept for comparison): batched JSON verdicts with
a label, a score and a 15-word reason, ids constrained to the chunk (chunks run concurrently);
missing ones become neutral.

NLI reads the raw user context, not the profile, so it runs in parallel with User
Understanding (as in ARAG).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.agents.prompting import (
    Capped,
    ask,
    concurrency,
    gate,
    messages,
    movie_line,
    sized,
    timed,
)
from recagents.agents.state import ARAGContext, ARAGState, Candidate, context_of
from recagents.agents.steps import llm_step
from recagents.llm.scoring import score_labels
from recagents.llm.structured import constrain_ids

LABELS = ("0", "1", "2", "3")
SCORE_TASK = (
    "TASK (NLI): how well does the movie below fit this user's lasting taste and the request? "
    "Answer with one digit: 0 = poor fit, 1 = weak fit, 2 = good fit, 3 = excellent fit.\n"
    "Movie: "
)


class Verdict(BaseModel):
    item_id: int
    label: Literal["supports", "neutral", "contradicts"]
    score: float = Field(ge=0, le=1, description="How well the movie fits the user, 0 to 1.")
    reason: Annotated[
        str, Capped(100), Field(description="At most 15 words, naming a concrete reason.")
    ]


class Verdicts(BaseModel):
    verdicts: list[Verdict]


def _prompt(ids: list[int]) -> str:
    return (
        "TASK (NLI): for EACH of these candidate ids, in this order: "
        f"{', '.join(map(str, ids))}, judge whether <user_context> supports recommending it "
        "(label supports / neutral / contradicts), with a score from 0 (clearly wrong for "
        "this user) to 1 (clearly right) and a reason of at most 15 words that names a concrete "
        "link (a liked movie, a genre, the request). One verdict per id, no other ids."
    )


def _judge(ctx: ARAGContext, state: ARAGState, ids: list[int], config) -> dict[int, dict]:
    schema = sized(constrain_ids(Verdicts, ids), "verdicts", len(ids), len(ids))
    value = ask(ctx, state, schema, _prompt(ids), config, max_tokens=60 * len(ids) + 50)
    out: dict[int, dict] = {}
    for v in value.verdicts:
        if v.item_id in ids and v.item_id not in out:  # the first verdict per id counts
            out[v.item_id] = {**v.model_dump(), "reason": " ".join(v.reason.split()[:15])}
    return out


def scored_line(c: Candidate) -> str:
    """The candidate's line in its scoring prompt: title, year, genres, the cut plot."""
    plot = f" | {c['plot']}" if c["plot"] else ""
    return movie_line(c["title"], c["year"], c["genres"]) + plot


def verdict_of(item_id: int, probs: dict[str, float], relevance: float, usable: bool) -> dict:
    label = "supports" if relevance >= 0.6 else "contradicts" if relevance <= 0.3 else "neutral"
    return {
        "item_id": item_id,
        "label": label,
        "score": round(relevance, 4),
        "probs": {k: round(v, 4) for k, v in probs.items()},
        "judged": usable,
    }


def _score_all(ctx: ARAGContext, state: ARAGState, config) -> dict:
    candidates = state["candidates"]
    prefix = messages(state, SCORE_TASK, candidates=False)
    with gate(ctx):
        batch = score_labels(
            ctx.llm,
            prefix,
            [scored_line(c) for c in candidates],
            LABELS,
            config=config,
            concurrency=concurrency(ctx),
        )
    verdicts = [
        verdict_of(c["item_id"], s.probs, s.expected, s.usable)
        for c, s in zip(candidates, batch.scores, strict=True)
    ]
    return {"verdicts": verdicts, "scoring": batch.as_dict()}


def neutral(item_id: int, why: str) -> dict:
    return {"item_id": item_id, "label": "neutral", "score": 0.5, "reason": why, "judged": False}


def accept(verdicts: list[dict], base_order: list[int], k: int, threshold: float, min_keep: int):
    """Ids with score >= threshold, best score first (ties: retrieval order); never fewer than
    max(2k, min_keep) (or all when there are fewer candidates)."""
    rank = {i: r for r, i in enumerate(base_order)}
    ordered = sorted(verdicts, key=lambda v: (-v["score"], rank[v["item_id"]]))
    keep = [v["item_id"] for v in ordered if v["score"] >= threshold]
    floor = min(len(ordered), max(2 * k, min_keep))
    if len(keep) < floor:
        keep = [v["item_id"] for v in ordered[:floor]]
    return keep


def nli(state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig) -> dict:
    started = time.perf_counter()
    ctx = context_of(runtime)
    ids = [c["item_id"] for c in state["candidates"]]
    size = ctx.config.nli.chunk_size
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]

    def generate() -> dict:
        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            parts = list(pool.map(lambda chunk: _judge(ctx, state, chunk, config), chunks))
        judged = {i: v for part in parts for i, v in part.items()}
        return {
            "verdicts": [
                {**judged[i], "judged": True} if i in judged else neutral(i, "not judged")
                for i in ids
            ]
        }

    def score() -> dict:
        return _score_all(ctx, state, config)

    run = score if ctx.config.nli.method == "score" else generate
    update = llm_step(
        state, "nli", run, fallback={"verdicts": [neutral(i, "NLI unavailable") for i in ids]}
    )
    k = state["request"].k
    nli_cfg = ctx.config.nli
    # The scored design hands every candidate on: the fusion ranker weighs the relevance against
    # the engine's order (fusion_weight 0 must give the engine's order, whatever the scores), and
    # a threshold on a small model's uncalibrated relevance only cuts at random. The generated
    # design keeps ARAG's filter: its ranker reads a short list.
    threshold = 0.0 if nli_cfg.method == "score" else nli_cfg.threshold
    update["accepted"] = accept(update["verdicts"], ids, k, threshold, nli_cfg.min_keep)
    return {**update, "timings": timed("nli", started)}
