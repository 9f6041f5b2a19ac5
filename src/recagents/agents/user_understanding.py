"""User Understanding: a short structured profile from the user context (demographics, recent
history, what similar users liked, the request)."""

from __future__ import annotations

import time

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.agents.prompting import ask, capped, timed
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step


class UserProfile(BaseModel):
    long_term: capped(160, "Lasting tastes in one sentence (genres, eras, tone).")
    session_intent: capped(160, "What the user wants right now, in one sentence.")
    likes: list[capped(40, "a short phrase")] = Field(
        max_length=5, description="Up to 5 short phrases: what the user enjoys."
    )
    dislikes: list[capped(40, "a short phrase")] = Field(
        max_length=3, description="Up to 3 short phrases: what the user avoids."
    )


PROMPT = (
    "TASK (User Understanding): from <user_context> only, describe this user's taste. "
    "Ignore <candidates>. Keep every field short: long_term and session_intent one sentence "
    "each, likes at most 5 and dislikes at most 3 short phrases. If the request is empty, "
    "infer the intent from the recent ratings."
)


def user_understanding(
    state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig
) -> dict:
    started = time.perf_counter()
    update = llm_step(
        state,
        "user_understanding",
        lambda: {
            "profile": ask(context_of(runtime), state, UserProfile, PROMPT, config).model_dump()
        },
        fallback={"profile": None},
    )
    return {**update, "timings": timed("user_understanding", started)}
