"""User Understanding: a short structured profile from the user context (demographics, recent
history, what similar users liked, the request).

The code checks the profile against the ratings it was shown: a "like" naming a movie the user
rated low, or a "dislike" naming one rated well, is dropped (``profile_dropped`` says which).

Profiles are cached in the agents' LangGraph Store (the configured database) under a key made
of the whole user block (user, history, neighbours, request text) and the model: a returning
user with the same history and request costs no profile call.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from typing import Annotated

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.agents.prompting import SYSTEM, Capped, ask, timed
from recagents.agents.state import ARAGContext, ARAGState, context_of
from recagents.agents.steps import llm_step

log = logging.getLogger(__name__)
NAMESPACE = ("recagents", "user_profiles")

ShortPhrase = Annotated[str, Capped(24), Field(description="a short phrase")]


# What the chat shows as the user's taste. Display-only: the fused order and the explanations
# do not read it, so it is kept short (it is the one profile call a new user pays for; each
# generated token costs ~40 ms on the 0.5B and ~100 ms on the 1.5B on 2 cores). No class
# docstrings: pydantic would put them into the JSON schema.
class TasteProfile(BaseModel):  # a request without text: nothing to say about "now"
    long_term: Annotated[
        str,
        Capped(80),
        Field(description="Lasting tastes in one short sentence (genres, eras, tone)."),
    ]
    likes: list[ShortPhrase] = Field(
        max_length=2, description="Up to 2 short phrases: what the user enjoys."
    )
    dislikes: list[ShortPhrase] = Field(
        max_length=1, description="At most 1 short phrase: what the user avoids."
    )


class UserProfile(TasteProfile):
    session_intent: Annotated[
        str,
        Capped(60),
        Field(description="What the user wants right now, in a few words."),
    ]


PROMPT = "TASK (User Understanding), as described above."  # the task itself: ``PROFILE_TASK``


LIKED_AT_LEAST = 3  # a like naming a movie the user rated below this is false
DISLIKED_AT_MOST = 2  # a dislike naming a movie the user rated above this is false


def _norm(text: str) -> str:
    text = re.sub(r"\(\d{4}\)", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "", text)  # no spaces: capped phrases glue words


def _named(phrase: str, history: list[dict]) -> dict | None:
    """The history movie a phrase names (its title, or the start of it: phrases are capped)."""
    said = _norm(phrase)
    if len(said) < 4:
        return None
    for h in history:
        title = _norm(str(h.get("title") or ""))
        if title and (title.startswith(said) or said.startswith(title)):
            return h
    return None


def check_profile(profile: dict, history: list[dict]) -> tuple[dict, list[str]]:
    """Drop the likes and dislikes that contradict the ratings shown to the model: a "like"
    naming a history movie rated below ``LIKED_AT_LEAST``, a "dislike" naming one rated above
    ``DISLIKED_AT_MOST``. Returns the checked profile and what was dropped, with why."""
    checked, dropped = dict(profile), []
    for key, ok in (("likes", lambda r: r >= LIKED_AT_LEAST),
                    ("dislikes", lambda r: r <= DISLIKED_AT_MOST)):  # fmt: skip
        kept = []
        for phrase in profile.get(key) or []:
            movie = _named(phrase, history) or {}
            rating = movie.get("rating")
            if rating is not None and not ok(rating):
                dropped.append(f"{key}: {phrase!r} (the user rated {movie['title']} {rating:g}/5)")
            else:
                kept.append(phrase)
        checked[key] = kept
    return checked, dropped


def profile_key(ctx: ARAGContext, state: ARAGState) -> str:
    model = getattr(ctx.llm, "model", None)
    what = f"{model}\x00{SYSTEM}\x00{PROMPT}\x00{state['user_block']}"
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
    form = UserProfile if state["request"].request_text else TasteProfile

    def run() -> dict:
        value = ask(
            ctx,
            state,
            form,
            PROMPT,
            config,
            candidates=with_candidates,
            schema_note=False,
            compact=True,  # every string is capped
        )
        profile, dropped = check_profile(value.model_dump(), state.get("history") or [])
        if cfg.cache:
            _keep(ctx, key, profile)
        return {"profile": profile, "profile_cached": False, "profile_dropped": dropped}

    update = llm_step(state, "user_understanding", run, fallback={"profile": None})
    return {**update, "timings": timed("user_understanding", started)}
