"""The ARAG blackboard: the request, the candidates and what each agent writes.

``ARAGState`` is the LangGraph state the agents share; ``ARAGContext`` arrives through the run
(``graph.invoke(..., context=...)``): the services, the LLM handle and the agent knobs.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from recagents.agents.config import AgentsConfig
from recagents.errors import InvalidArgumentError
from recagents.services.context import ServiceContext
from recagents.services.requests import FilterRequest

if TYPE_CHECKING:
    from recagents.llm.factory import LLMHandle

MAX_HISTORY = 200
MAX_TEXT = 2000
MAX_AGENT_K = 50
MAX_CANDIDATE_IDS = 2000  # the catalogue has 1,682 items


class HistoryEvent(BaseModel):
    """One event of an ad-hoc history (agentic_rec's shape); ``event_value`` is a rating 1-5
    when given (else the event counts as liked)."""

    model_config = ConfigDict(extra="ignore")

    item_id: int | str
    event_datetime: str | None = None
    event_name: str | None = None
    event_value: float | None = None


class RecRequest(BaseModel):
    """What to recommend: a known user, or a cold start from text and/or an ad-hoc history."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = Field(None, ge=1, description="MovieLens user id (1-943).")
    text: str | None = Field(
        None, max_length=MAX_TEXT, description="Free text about the user (cold start)."
    )
    history: list[HistoryEvent] = Field(
        default_factory=list, max_length=MAX_HISTORY, description="An ad-hoc history."
    )
    query: str | None = Field(
        None, max_length=MAX_TEXT, description="What is asked for now (the session intent)."
    )
    k: int = Field(5, ge=1, le=MAX_AGENT_K, description=f"How many items (1 to {MAX_AGENT_K}).")
    filters: FilterRequest | None = Field(None, description="Hard filters on the catalogue.")
    alpha: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Blend of the history and the text in the graph-enhanced text retrieval "
        "(0: only the history, 1: only the text); unset: no such retrieval source.",
    )
    candidate_ids: list[Annotated[int, Field(ge=1)]] | None = Field(
        None,
        max_length=MAX_CANDIDATE_IDS,
        description="Only these items (e.g. a candidate set found earlier); with `filters`, "
        "both must hold.",
    )

    @property
    def request_text(self) -> str:
        """The text plot search and the agents read: the query and the free text."""
        return " ".join(t.strip() for t in (self.query, self.text) if t and t.strip())


class Candidate(TypedDict):
    item_id: int
    title: str
    year: int | None
    genres: list[str]
    plot: str  # cut to a few dozen words
    sources: list[str]  # bpr | search | swing | foldin | graph_text | popularity
    base_rank: int  # 1-based position in the retrieval (BPR / fold-in / search) order


def merge_dicts(left: dict | None, right: dict | None) -> dict:
    return {**(left or {}), **(right or {})}


class ARAGState(TypedDict, total=False):
    request: RecRequest  # typed by the retrieval node (Studio's JSON input included)
    retrieval: dict  # how the pool was made: cold_start, popularity, sources, dropped history
    user_block: str  # the shared user context (first in every prompt, byte-identical)
    candidate_block: str  # the shared candidate list (second in every prompt)
    candidates: list[Candidate]
    history: list[dict]  # the user's recent history shown to the agents
    profile: dict | None  # User Understanding
    profile_cached: bool  # the profile came from the agents' store (no LLM call)
    profile_dropped: list[str]  # likes/dislikes the ratings contradict, dropped (with why)
    verdicts: list[dict]  # NLI: {item_id, label, score, probs | reason, judged}
    scoring: dict  # NLI's scoring batch: method, prompt/generated/cached tokens, unusable
    accepted: list[int]  # NLI-filtered candidate ids, best first
    summary: str | None  # Context Summary
    # Item Ranker: {"method", "items": [{item_id, explanation}], "llm_order", "order", "scores"}
    # (fusion) or {"items", "confidence"} (generated)
    ranking: dict | None
    reflection: dict | None
    items: list[dict]  # the final, fused top-k
    explanations: dict  # the check: {"written": n, "replaced": [{item_id, why, text}]}
    llm_down: Annotated[bool, operator.or_]  # the LLM is unreachable: later agents skip it
    llm_nodes: Annotated[list[str], operator.add]  # the agents that asked the LLM
    errors: Annotated[list[str], operator.add]
    timings: Annotated[dict[str, float], merge_dicts]


@dataclass
class ARAGContext:
    """What a run reads besides its state (``graph.invoke(..., context=...)``); the composition
    root (``recagents.resources``) or the caller builds it."""

    services: ServiceContext
    llm: LLMHandle | None  # None = retrieval only
    config: AgentsConfig


def context_of(runtime) -> ARAGContext:
    """The run's ``ARAGContext`` (LangGraph Studio's runs get the one
    ``recagents.resources.studio_arag_graph`` opens)."""
    ctx = getattr(runtime, "context", None)
    if isinstance(ctx, ARAGContext):
        return ctx
    raise InvalidArgumentError(
        "the ARAG graph runs with an ARAGContext (services, LLM, agents config): call "
        "recommend_with_agents / stream_agents, or open the graph through langgraph.json"
    )
