"""How a tool call meets its conversation: state in, state updates out.

The tools are ONE static list. What a call needs arrives through LangGraph's ``ToolRuntime``:
``runtime.context`` is the ``ServiceContext`` (stores, recommender, holdout view), or a
``ToolContext`` that adds what the run offers beyond it (the agents path of recommend_items),
and ``runtime.state["candidate_sets"]`` the conversation's candidate sets. A tool that creates sets
returns a ``Command`` that adds them to the state (and its ``ToolMessage``), so the checkpointer
persists them. Outside a graph, ``run_tool_call`` builds the runtime by hand (tests, the replay,
the plan executor).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypedDict

from recagents.errors import InvalidArgumentError
from recagents.services.context import ServiceContext
from recagents.tools.candidates import (
    CandidateSets,
    looks_like_handle,
    merge_candidate_sets,
    new_set,
    next_handle,
    resolve_handle,
)

if TYPE_CHECKING:
    from recagents.tools.recommend import AgentsPath

INLINE_LIMIT = 20  # id sets up to this size are returned inline, larger ones as handle + preview
PREVIEW_SIZE = 10


class ToolState(TypedDict, total=False):
    """The part of a graph's state the tools read and write."""

    messages: Annotated[list[AnyMessage], add_messages]
    candidate_sets: Annotated[CandidateSets, merge_candidate_sets]


def _position(state: Mapping[str, Any], tool_call_id: str | None) -> int:
    """This call's index among the tool calls of the model turn that issued it (0 if none)."""
    for message in reversed(state.get("messages") or []):
        if isinstance(message, AIMessage) and message.tool_calls:
            ids = [c.get("id") for c in message.tool_calls]
            return ids.index(tool_call_id) if tool_call_id in ids else 0
    return 0


@dataclass(frozen=True)
class ToolContext:
    """A run's context for the tools: the services, and the ARAG agents when the run
    recommends through them (recommend_items then takes its agents path)."""

    services: ServiceContext
    agents: AgentsPath | None = None


@dataclass
class ToolScope:
    """One tool call's view of its conversation: resolve handles, register new sets."""

    ctx: ServiceContext
    sets: CandidateSets
    position: int = 0
    created: CandidateSets = field(default_factory=dict)
    agents: AgentsPath | None = None  # recommend_items' agents path (None: the engine's)

    def resolve(
        self, items: str | Sequence[int | str] | None, what: str = "items"
    ) -> list[int] | None:
        """A handle or a list of ids → checked ids (order kept); ``None`` stays ``None``."""
        if items is None:
            return None
        if isinstance(items, str):
            if looks_like_handle(items):
                ids = resolve_handle({**self.sets, **self.created}, items)
            else:
                parts = [p for p in items.replace(",", " ").split() if p]
                if not parts or not all(p.isdigit() for p in parts):
                    raise InvalidArgumentError(
                        f"{what} must be a candidate handle like 'C1' or a list of item ids, "
                        f"got {items[:60]!r}"
                    )
                ids = [int(p) for p in parts]
        else:
            ids = []
            for value in items:
                if isinstance(value, bool) or not str(value).strip().isdigit():
                    raise InvalidArgumentError(f"{what} holds {value!r}: item ids are integers")
                ids.append(int(value))
        return self.ctx.check_items(ids, what=what)

    def register(self, ids: Sequence[int], origin: str) -> str:
        """Keep ``ids`` as a new candidate set of this conversation; returns its handle."""
        handle = next_handle(
            {**self.sets, **self.created}, self.position if not self.created else 0
        )
        self.created[handle] = new_set(ids, origin)
        return handle

    def id_set(self, ids: Sequence[int], origin: str) -> dict:
        """An id list for a result: always a handle; the ids inline when few, else a preview."""
        ids = list(ids)
        handle = self.register(ids, origin)
        if len(ids) <= INLINE_LIMIT:
            return {"handle": handle, "count": len(ids), "item_ids": ids}
        titles = self.ctx.titles
        preview = [{"item_id": i, "title": titles.get(i)} for i in ids[:PREVIEW_SIZE]]
        return {"handle": handle, "count": len(ids), "preview": preview}


def scope_of(runtime: ToolRuntime | None) -> ToolScope:
    ctx = getattr(runtime, "context", None)
    if isinstance(ctx, ServiceContext):
        ctx = ToolContext(ctx)
    if runtime is None or not isinstance(ctx, ToolContext):
        raise InvalidArgumentError(
            "the tools need a ServiceContext (or a ToolContext) as the run's context "
            "(graph.invoke(..., context=ctx))"
        )
    state = getattr(runtime, "state", None) or {}
    sets = state.get("candidate_sets") or {} if isinstance(state, Mapping) else {}
    position = _position(state, runtime.tool_call_id)
    return ToolScope(ctx.services, dict(sets), position, agents=ctx.agents)


def tool_output(runtime: ToolRuntime, scope: ToolScope, name: str, result: dict) -> Any:
    """The result dict, or a ``Command`` adding the new candidate sets to the state."""
    if not scope.created:
        return result
    message = ToolMessage(
        content=json.dumps(result, default=str), tool_call_id=runtime.tool_call_id or "", name=name
    )
    return Command(update={"candidate_sets": scope.created, "messages": [message]})


@dataclass
class ToolCallResult:
    result: dict
    candidate_sets: CandidateSets  # the conversation's sets after the call


def run_tool_call(
    tool: BaseTool,
    args: dict,
    ctx: ServiceContext,
    candidate_sets: CandidateSets | None = None,
    *,
    call_id: str | None = None,
    agents: AgentsPath | None = None,
) -> ToolCallResult:
    """Run one tool outside a graph: the state is just the candidate sets (``agents``: the
    run recommends through the ARAG agents)."""
    sets = dict(candidate_sets or {})
    call_id = call_id or f"call-{uuid.uuid4().hex[:8]}"
    runtime = ToolRuntime(
        state={"messages": [], "candidate_sets": sets},
        context=ToolContext(ctx, agents),
        config={},
        stream_writer=lambda _chunk: None,
        tool_call_id=call_id,
        store=None,
    )
    out = tool.invoke(
        {
            "type": "tool_call",
            "id": call_id,
            "name": tool.name,
            "args": {**args, "runtime": runtime},
        }
    )
    if isinstance(out, Command):
        update = out.update or {}
        sets = merge_candidate_sets(sets, update.get("candidate_sets"))
        out = update["messages"][-1]
    if isinstance(out, ToolMessage):
        out = out.content  # the JSON text of tool_output
    result = json.loads(out) if isinstance(out, str) else out
    return ToolCallResult(result, sets)


class ToolArgs(BaseModel):
    """Mixin of every tool's argument schema: the injected runtime (hidden from the model)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    runtime: SkipJsonSchema[ToolRuntime | None] = Field(default=None, exclude=True)


ItemsArg = Annotated[
    list[Annotated[int, Field(ge=1)]] | str | None,
    Field(
        description="Restrict to these items: EITHER a candidate handle like 'C3' returned by "
        "an earlier tool (preferred for large sets) OR a list of item ids. Omit for the whole "
        "catalog."
    ),
]
RequiredItemsArg = Annotated[
    list[Annotated[int, Field(ge=1)]] | str,
    Field(description="The items: a handle like 'C1' or a list of item ids."),
]
