"""Run the ARAG graph for one request: ``recommend_with_agents``, and ``stream_agents`` for
callers that show each agent's step as it finishes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from recagents.agents.config import AgentsConfig
from recagents.agents.graph import graph
from recagents.agents.state import ARAGContext, RecRequest
from recagents.agents.steps import llm_rounds
from recagents.llm.accounting import Usage, UsageTracker
from recagents.services.context import ServiceContext

if TYPE_CHECKING:
    from recagents.llm.factory import LLMHandle

BLACKBOARD_KEYS = (
    "history",
    "profile",
    "profile_cached",
    "profile_dropped",
    "verdicts",
    "scoring",
    "accepted",
    "summary",
    "ranking",
    "reflection",
    "explanations",
)


class AgentPick(BaseModel):
    """One recommended item, best first: the fused score and the checked explanation."""

    id: int
    title: str
    year: int | None
    genres: list[str]
    score: float
    explanation: str
    filled: bool  # the explanation is the data template (the LLM wrote none, or a false one)
    llm_rank: int | None  # the item's place in the LLM's order (None: no LLM ranking)
    base_rank: int  # its place in the retrieval order


class ARAGResult(BaseModel):
    items: list[AgentPick]
    candidates: list[int]
    blackboard: dict[str, Any]
    retrieval: dict[str, Any]
    usage: Usage
    fallback: bool
    errors: list[str]


def _inputs(req: RecRequest) -> dict:
    return {"request": req}


def _result(state: dict, tracker: UsageTracker, seconds: float, llm_used: bool) -> ARAGResult:
    return ARAGResult(
        items=state.get("items", []),
        candidates=[c["item_id"] for c in state.get("candidates", [])],
        blackboard={key: state.get(key) for key in BLACKBOARD_KEYS},
        retrieval=state.get("retrieval", {}),
        usage=tracker.usage().model_copy(
            update={
                "llm_rounds": llm_rounds(state.get("llm_nodes", [])),  # the agents' steps
                "wall_seconds": round(seconds, 3),
                "per_node_seconds": state.get("timings", {}),
            }
        ),
        fallback=llm_used and state.get("ranking") is None,
        errors=state.get("errors", []),
    )


def _context(
    services: ServiceContext, llm: LLMHandle | None, config: AgentsConfig | None
) -> ARAGContext:
    return ARAGContext(services, llm, config or AgentsConfig.load(services.settings))


def recommend_with_agents(
    services: ServiceContext,
    request: RecRequest,
    llm: LLMHandle | None = None,
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
    llm: LLMHandle | None = None,
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
