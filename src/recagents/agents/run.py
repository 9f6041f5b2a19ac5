"""Run the ARAG graph for one request: ``recommend_with_agents``, and ``stream_agents`` for
callers that show each agent's step as it finishes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from recagents.agents.config import AgentsConfig
from recagents.agents.graph import graph
from recagents.agents.state import ARAGContext, RecRequest
from recagents.agents.steps import llm_rounds
from recagents.llm.accounting import UsageTracker
from recagents.services.context import ServiceContext

BLACKBOARD_KEYS = (
    "history",
    "profile",
    "profile_cached",
    "verdicts",
    "scoring",
    "accepted",
    "summary",
    "ranking",
    "reflection",
    "explanations",
)


class ARAGResult(BaseModel):
    items: list[dict]
    candidates: list[int]
    blackboard: dict[str, Any]
    retrieval: dict[str, Any]
    usage: dict[str, Any]
    fallback: bool
    errors: list[str]


def _inputs(req: RecRequest) -> dict:
    return {"request": req.model_dump(mode="json")}


def _result(state: dict, tracker: UsageTracker, seconds: float, llm_used: bool) -> ARAGResult:
    usage = tracker.usage()
    return ARAGResult(
        items=state.get("items", []),
        candidates=[c["item_id"] for c in state.get("candidates", [])],
        blackboard={key: state.get(key) for key in BLACKBOARD_KEYS},
        retrieval=state.get("retrieval", {}),
        usage={
            "llm_rounds": llm_rounds(state.get("llm_nodes", [])),
            "llm_calls": usage.calls,
            "tokens_in": usage.input_tokens,
            "tokens_out": usage.output_tokens,
            "tokens_cached": usage.cached_tokens,
            "seconds": round(seconds, 3),
            "llm_seconds": round(usage.latency_s, 3),
            "per_node_seconds": state.get("timings", {}),
        },
        fallback=llm_used and state.get("ranking") is None,
        errors=state.get("errors", []),
    )


def _context(services: ServiceContext, llm, config: AgentsConfig | None) -> ARAGContext:
    return ARAGContext(services, llm, config or AgentsConfig.load(services.settings))


def recommend_with_agents(
    services: ServiceContext,
    request: RecRequest,
    llm=None,
    *,
    config: AgentsConfig | None = None,
) -> ARAGResult:
    """Ranked, explained, unseen items for ``request`` (``llm=None``: retrieval only)."""
    tracker = UsageTracker()
    started = time.perf_counter()
    state = graph.invoke(
        _inputs(request),
        config={"callbacks": [tracker]},
        context=_context(services, llm, config),
    )
    return _result(state, tracker, time.perf_counter() - started, llm is not None)


def stream_agents(
    services: ServiceContext,
    request: RecRequest,
    llm=None,
    *,
    config: AgentsConfig | None = None,
) -> Iterator[tuple[str, Any]]:
    """Yields ``(node, update)`` as each agent finishes, then ``("result", ARAGResult)``."""
    tracker = UsageTracker()
    started = time.perf_counter()
    state: dict = {}
    for mode, chunk in graph.stream(
        _inputs(request),
        config={"callbacks": [tracker]},
        context=_context(services, llm, config),
        stream_mode=["updates", "values"],
    ):
        if mode == "values":
            state = chunk
            continue
        yield from chunk.items()
    yield "result", _result(state, tracker, time.perf_counter() - started, llm is not None)
