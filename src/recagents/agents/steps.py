"""How an agent node degrades: a failed LLM step records why and hands its fallback on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from recagents.agents.state import ARAGState
from recagents.errors import BackendUnavailableError, RecagentsError

log = logging.getLogger(__name__)


def llm_step(state: ARAGState, name: str, run: Callable[[], dict], fallback: dict) -> dict:
    """``run()``'s state update, or ``fallback`` plus the error when the LLM failed for good.

    An unreachable backend marks the run ``llm_down``: later agents skip the LLM instead of
    waiting for the same timeout again.
    """
    if state.get("llm_down"):
        return {**fallback, "errors": [f"{name}: skipped (the LLM is unavailable)"]}
    try:
        return {**run(), "llm_nodes": [name]}
    except RecagentsError as exc:
        log.warning("%s failed: %s", name, exc)
        down = {"llm_down": True} if isinstance(exc, BackendUnavailableError) else {}
        return {**fallback, "errors": [f"{name}: {exc}"], "llm_nodes": [name], **down}
    except Exception as exc:  # noqa: BLE001 - a client bug must not lose the recommendation
        log.exception("%s failed unexpectedly", name)
        error = f"{name}: unexpected {type(exc).__name__}: {exc}"
        return {**fallback, "errors": [error], "llm_nodes": [name]}


# The graph's sequential LLM stages: nodes of one stage run in parallel.
STAGES = (
    ("user_understanding", "nli"),
    ("context_summary",),
    ("ranker", "explanations"),
    ("reflection",),
)


def llm_rounds(nodes: list[str]) -> int:
    """Sequential LLM rounds of a run: the stages in which some node asked the LLM."""
    return sum(any(n in nodes for n in stage) for stage in STAGES)
