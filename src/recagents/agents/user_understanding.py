"""User Understanding: a short structured profile from the user context (demographics, recent
history, what similar users liked, the request).

Profiles are cached in the agents' LangGraph Store (the configured database) under a key made
of the whole user block (user, history, neighbours, request text) and the model: a returning
user with the same history and request costs no profile call.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Annotated

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.agents.prompting import Capped, ask, timed
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step

log = logging.getLogger(__name__)
NAMESPACE = ("recagents", "user_profiles")

ShortPhrase = Annotated[str, Capped(24), Field(description="a short phrase")]


# What the chat shows as the user's taste. Display-only: the fused order and the explanations
# do not read it, so it is kept short (it is the one profile call a new user pays for). No class
# docstring: pydantic would put it into the JSON schema.
class UserProfile(BaseModel):
    long_term: Annotated[
        str,
        Capped(80),
        Field(description="Lasting tastes in one short sentence (genres, eras, tone)."),
    ]
    session_intent: Annotated[
        str,
        Capped(60),
        Field(description="What the user wants right now, in a few words."),
    ]
    likes: list[ShortPhrase] = Field(
        max_length=2, description="Up to 2 short phrases: what the user enjoys."
    )
    dislikes: list[ShortPhrase] = Field(
        max_length=1, description="At most 1 short phrase: what the user avoids."
    )


PROMPT = (
    "TASK (User Understanding): from <user_context> only, describe this user's taste as JSON: "
    '{"long_term": lasting tastes in one short sentence (genres, eras, tone), '
    '"session_intent": what the user wants now, in a few words, "likes": at most 2 short '
    'phrases, "dislikes": at most 1 short phrase}. If the request is empty, infer the intent '
    "from the recent ratings."
)


def profile_key(ctx: ARAGContext, state: ARAGState) -> str:
    model = getattr(ctx.llm, "model", None)
    what = f"{model}\x00{PROMPT}\x00{state['user_block']}"
    return hashlib.sha256(what.encode()).hexdigest()


def _cached(ctx: ARAGContext, key: str) -> dict | None:
    try:
        item = ctx.services.get_agent_store().get(NAMESPACE, key)
    except Exception as exc:  # noqa: BLE001 - a cache miss, never a failed recommendation
        log.warning("profile cache read failed: %s", exc)
        return None
    return None if item is None else dict(item.value)


def _keep(ctx: ARAGContext, key: str, profile: dict) -> None:
    try:
        ctx.services.get_agent_store().put(NAMESPACE, key, profile)
    except Exception as exc:  # noqa: BLE001
        log.warning("profile cache write failed: %s", exc)


def user_understanding(
    state: ARAGState, runtime: Runtime[ARAGContext], config: RunnableConfig
) -> dict:
    started = time.perf_counter()
    ctx = context_of(runtime)
    cfg = ctx.config.user_understanding
    if not cfg.enabled:
        return {"profile": None, "timings": timed("user_understanding", started)}
    key = profile_key(ctx, state)
    found = _cached(ctx, key) if cfg.cache else None
    if found is not None:
        return {
            "profile": found,
            "profile_cached": True,
            "timings": timed("user_understanding", started),
        }
    with_candidates = ctx.config.nli.method == "generate"  # the earlier prompt layout

    def run() -> dict:
        value = ask(
            ctx, state, UserProfile, PROMPT, config, candidates=with_candidates, schema_note=False
        )
        profile = value.model_dump()
        if cfg.cache:
            _keep(ctx, key, profile)
        return {"profile": profile, "profile_cached": False}

    update = llm_step(state, "user_understanding", run, fallback={"profile": None})
    return {**update, "timings": timed("user_understanding", started)}
