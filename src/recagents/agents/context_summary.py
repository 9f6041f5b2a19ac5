"""Context Summary: condenses the accepted candidates' evidence, with the profile, for the
ranker.

With the fusion ranker (the default) nothing downstream reads prose, so the summary is short
and written from the data, with no LLM call: the profile's gist and the accepted candidates
with the highest relevance. With the generated ranker it is an LLM call, as in ARAG.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.agents.prompting import Capped, ask, timed
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step


class ContextSummary(BaseModel):
    summary: Annotated[
        str,
        Capped(480),
        Field(description="At most 80 words: what the accepted movies offer this user."),
    ]


def evidence(state: ARAGState) -> str:
    """The profile and the accepted candidates' verdicts, compact."""
    verdicts = {v["item_id"]: v for v in state.get("verdicts", [])}
    lines = [
        f"[id {i}] {verdicts[i]['label']} {verdicts[i]['score']:.2f}"
        + (f": {verdicts[i]['reason']}" if verdicts[i].get("reason") else "")
        for i in state.get("accepted", [])
        if i in verdicts
    ]
    profile = state.get("profile")
    head = f"User profile: {json.dumps(profile, ensure_ascii=False)}\n" if profile else ""
    return head + "Accepted candidates with the NLI verdicts:\n" + "\n".join(lines)


def template_summary(state: ARAGState) -> str:
    profile = state.get("profile") or {}
    likes = ", ".join(profile.get("likes", [])[:3])
    return (f"The user likes {likes}. " if likes else "") + (
        f"{len(state.get('accepted', []))} candidates passed the NLI filter."
    )


def data_summary(state: ARAGState, top: int = 5) -> str:
    """A short summary from the blackboard alone (no LLM)."""
    titles = {c["item_id"]: c["title"] for c in state["candidates"]}
    verdicts = {v["item_id"]: v for v in state.get("verdicts", []) if v.get("judged")}
    best = sorted(
        (i for i in state.get("accepted", []) if i in verdicts),
        key=lambda i: -verdicts[i]["score"],
    )[:top]
    profile = state.get("profile") or {}
    head = f"{profile['long_term']} " if profile.get("long_term") else ""
    fits = ", ".join(f"{titles[i]} ({verdicts[i]['score']:.2f})" for i in best)
    accepted = len(state.get("accepted", []))
    return head + f"{accepted} candidates accepted" + (f"; best fits: {fits}." if fits else ".")


def context_summary(
    state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig
) -> dict:
    started = time.perf_counter()
    if context_of(runtime).config.ranker.method == "fusion":
        return {"summary": data_summary(state), "timings": timed("context_summary", started)}
    task = (
        f"{evidence(state)}\n\nTASK (Context Summary): in at most 80 words, summarise what the "
        "accepted candidates offer this user and which of them fit the request best, naming "
        "concrete movies and reasons. No recommendations outside the accepted ids."
    )
    update = llm_step(
        state,
        "context_summary",
        lambda: {"summary": ask(context_of(runtime), state, ContextSummary, task, config).summary},
        fallback={"summary": template_summary(state)},
    )
    return {**update, "timings": timed("context_summary", started)}
