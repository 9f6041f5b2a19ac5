"""The assistant as one object: ``Assistant(services, llm, ...)`` → ``ask(question, thread_id)``.

It owns nothing global and opens nothing: the composition root (``recagents.resources``:
``AppResources.assistant(...)``) builds it from the parts it opened once (stores, LLM handle,
checkpointer, demonstrations bank) and closes them; tests build it from their fixtures.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import AIMessageChunk, HumanMessage
from pydantic import BaseModel

from recagents.agents.config import AgentsConfig
from recagents.assistant.config import AssistantConfig, Mode
from recagents.assistant.graph import build
from recagents.assistant.plan_mode.demos import DemoBank
from recagents.assistant.state import AssistantContext, AssistantState
from recagents.errors import InvalidArgumentError
from recagents.llm.accounting import Usage
from recagents.services.context import ServiceContext

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from recagents.llm.factory import LLMHandle

MAX_QUESTION = 4000


class AnswerItem(BaseModel):
    """A movie the answer recommends or lists."""

    id: int
    title: str | None


class AskResult(BaseModel):
    answer: str
    items: list[AnswerItem]  # in the answer's order
    tool_calls: list[dict]  # [{"name", "args"}] in the order they ran (the turn's trace)
    usage: Usage  # the turn's, the ARAG agents' calls included
    thread_id: str
    mode: str
    removed: list[str] = []  # sentences the grounding check dropped
    trace: list[dict] = []  # every call with status and message (for "which tools and why")
    # the verifier's verdict on a compiled turn: {"parsed", "satisfied", "violations", ...}
    constraints: dict | None = None


def constraints_of(state: dict) -> dict | None:
    """``{"parsed", "satisfied", "violations", ...}`` for a compiled turn, else None."""
    verdict = state.get("verdict")
    if verdict:
        return verdict
    form = state.get("form")
    if form:  # understood, but nothing listed to check (facts, a question back)
        return {"parsed": form.get("parsed"), "satisfied": True, "violations": []}
    return None


def default_mode(llm: LLMHandle | None) -> Mode:
    return "tools" if llm is not None and llm.capabilities.native_tools else "plan"


class Assistant:
    def __init__(
        self,
        services: ServiceContext,
        llm: LLMHandle | None,
        *,
        checkpointer: BaseCheckpointSaver | None = None,
        config: AssistantConfig | None = None,
        mode: Mode | None = None,
        demos: DemoBank | None = None,
        agents_config: AgentsConfig | None = None,
    ) -> None:
        self.config = config or AssistantConfig.load(services.settings)
        self.context = AssistantContext(
            services=services,
            llm=llm,
            config=self.config,
            mode=mode or self.config.mode or default_mode(llm),
            demos=demos,
            agents_config=agents_config
            or self.config.agents_config(AgentsConfig.load(services.settings)),
        )
        self.graph = build().compile(checkpointer=checkpointer, name="assistant")

    @property
    def mode(self) -> Mode:
        return self.context.mode

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 60}

    def _inputs(self, question: str) -> AssistantState:
        question = (question or "").strip()
        if not question:
            raise InvalidArgumentError("the question is empty: ask something about movies")
        if len(question) > MAX_QUESTION:
            raise InvalidArgumentError(
                f"the question is {len(question)} characters long; the limit is {MAX_QUESTION}"
            )
        return {"messages": [HumanMessage(question)]}

    def ask(self, question: str, thread_id: str | None = None) -> AskResult:
        thread_id = thread_id or uuid.uuid4().hex
        state = self.graph.invoke(
            self._inputs(question), config=self._config(thread_id), context=self.context
        )
        return self.result(state, thread_id)

    def events(self, question: str, thread_id: str) -> Iterator[tuple[str, Any]]:
        """Everything a live view needs, in order: ``("update", (node, update))`` when a step
        of the turn finishes, ``("progress", event)`` for each tool call and ARAG agent (see
        ``progress.py``), ``("token", (node, text))`` for each streamed piece of an LLM reply,
        then ``("result", AskResult)``."""
        # several stream modes: (mode, chunk) pairs, which LangGraph's stubs do not express
        parts = cast(
            "Iterator[tuple[str, Any]]",
            self.graph.stream(
                self._inputs(question),
                config=self._config(thread_id),
                context=self.context,
                stream_mode=["updates", "custom", "messages"],
            ),
        )
        for mode, chunk in parts:
            if mode == "updates":
                for node, update in chunk.items():
                    yield "update", (node, update)
            elif mode == "custom":
                yield "progress", chunk
            else:
                message, meta = chunk
                # pieces of a streamed reply only (not the whole messages a node returns)
                text = message.text if isinstance(message, AIMessageChunk) else ""
                if text:
                    yield "token", (meta.get("langgraph_node", ""), text)
        state = self.graph.get_state(self._config(thread_id)).values
        yield "result", self.result(state, thread_id)

    def history(self, thread_id: str) -> list[dict]:
        """The thread's messages as ``{"role", "content"}`` (empty for an unknown thread)."""
        state = self.graph.get_state(self._config(thread_id)).values or {}
        return [
            {"role": "user" if isinstance(m, HumanMessage) else "assistant", "content": m.text}
            for m in state.get("messages", [])
        ]

    def result(self, state: dict, thread_id: str) -> AskResult:
        answer = state.get("answer") or {}
        titles = self.context.services.titles
        trace = state.get("trace") or []
        return AskResult(
            answer=answer.get("text", ""),
            items=[AnswerItem(id=i, title=titles.get(i)) for i in answer.get("items", [])],
            tool_calls=[{"name": r["tool"], "args": r.get("args", {})} for r in trace],
            usage=Usage.model_validate(state.get("usage") or {}),
            thread_id=thread_id,
            mode=self.mode,
            removed=answer.get("removed", []),
            trace=[{k: v for k, v in r.items() if k != "data"} for r in trace],
            constraints=constraints_of(state),
        )
