"""NLI: does each candidate fit this user's context? Batched (chunks run concurrently), ids
constrained to the chunk, exactly one verdict per candidate (missing ones become neutral).

NLI reads the raw user context, not the profile, so it runs in parallel with User
Understanding (as in ARAG).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.agents.prompting import ask, capped, sized, timed
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step
from recagents.llm.structured import constrain_ids


class Verdict(BaseModel):
    item_id: int
    label: Literal["supports", "neutral", "contradicts"]
    score: float = Field(ge=0, le=1, description="How well the movie fits the user, 0 to 1.")
    reason: capped(100, "At most 15 words, naming a concrete reason.")


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

    def run() -> dict:
        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            parts = list(pool.map(lambda chunk: _judge(ctx, state, chunk, config), chunks))
        judged = {i: v for part in parts for i, v in part.items()}
        return {
            "verdicts": [
                {**judged[i], "judged": True} if i in judged else neutral(i, "not judged")
                for i in ids
            ]
        }

    update = llm_step(
        state, "nli", run, fallback={"verdicts": [neutral(i, "NLI unavailable") for i in ids]}
    )
    k = state["request"]["k"]
    nli_cfg = ctx.config.nli
    update["accepted"] = accept(update["verdicts"], ids, k, nli_cfg.threshold, nli_cfg.min_keep)
    return {**update, "timings": timed("nli", started)}
