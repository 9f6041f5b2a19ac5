"""The assistant's state (persisted per thread by the checkpointer) and its run context."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from recagents.agents.config import AgentsConfig
from recagents.assistant.config import AssistantConfig, Mode
from recagents.services.context import ServiceContext
from recagents.services.grounding import TitleIndex

if TYPE_CHECKING:
    from recagents.assistant.plan_mode.demos import DemoBank
    from recagents.llm.factory import LLMHandle
from recagents.tools.candidates import CandidateSets, merge_candidate_sets


class StepRecord(TypedDict, total=False):
    """One tool call of a turn: what ran, with which (resolved) arguments, and what came back."""

    step: int
    tool: str
    args: dict
    status: str  # success | failure
    message: str
    data: Any
    reason: str  # why it was called, where the model said so
    attempt: int  # plan mode: 1, or 2 after a re-plan
    optional: bool  # plan mode: a compiled chain's step whose failure does not stop the run


class AssistantState(TypedDict, total=False):
    # the conversation: the user's messages and the assistant's final answers (persisted)
    messages: Annotated[list[AnyMessage], add_messages]
    candidate_sets: Annotated[CandidateSets, merge_candidate_sets]
    last_recommendation: dict | None  # {"user_id", "handle", "items": [{item_id,title,...}]}
    user_id: int | None  # the user the conversation is about (remembered across turns)
    previous_trace: list[StepRecord]  # the tool calls of the turn before this one
    last_form: dict | None  # the last compiled recommendation: {"form", "items", "reference_id"}
    # this turn (reset by begin_turn)
    question: str
    plan: dict | None
    form: dict | None  # the understood message: {"parsed", "raw", "reference_id", "exclude", "k"}
    verdict: dict | None  # the constraint verifier's (see verifier.Verdict)
    trace: list[StepRecord]
    replans: int
    direct_without_data: bool  # the planner answered untooled a message about unknown ids
    scratch: list[AnyMessage]  # tools mode: this turn's model/tool dialogue
    rounds: int
    answer: dict  # {"text", "items": [{"id","title"}], "removed": [...]}
    usage: dict  # this turn's LLM usage (tokens, calls, seconds)


@dataclass
class AssistantContext:
    """What a run needs besides its state: services, the model, knobs (LangGraph context)."""

    services: ServiceContext
    llm: LLMHandle | None  # None only in wiring tests that never reach the model
    config: AssistantConfig
    mode: Mode
    demos: DemoBank | None = None  # plan mode's demonstrations
    agents_config: AgentsConfig | None = None

    def required_llm(self) -> LLMHandle:
        """The model, where a step calls it (``LLMUnavailableError`` without one)."""
        if self.llm is None:
            from recagents.llm.failures import LLMUnavailableError

            raise LLMUnavailableError("no LLM configured for the assistant", backend="none")
        return self.llm

    @cached_property
    def title_index(self) -> TitleIndex:
        """The catalogue's titles, indexed once per service context (for grounding replies)."""
        return self.services.title_index
