"""Tools mode: a native tool-calling loop (OpenAI, Ollama tool models).

The model sees the tools' schemas, calls them (several per turn, handles chaining results), and
writes the reply; every call goes through the same executor and privacy policy as plan mode,
and the reply is grounded the same way before it is sent.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime

from recagents.assistant.answering import (
    OFFER,
    allowed_ids,
    fallback_text,
    finalize_turn,
    recommendation_of,
)
from recagents.assistant.executor import run_call
from recagents.assistant.memory import digest, earlier_turns
from recagents.assistant.prompts import TOOLS_SYSTEM, as_data, compact
from recagents.assistant.state import AssistantContext, AssistantState
from recagents.assistant.usage import add_agents_usage, add_llm_usage
from recagents.llm.accounting import UsageTracker
from recagents.tools.registry import TOOLS


def agent_messages(state: AssistantState, run: AssistantContext) -> list:
    messages: list = [SystemMessage(TOOLS_SYSTEM)]
    memory = digest({**state, "messages": []}, 0)  # remembered user, recommendation, tools
    if memory:
        messages.append(SystemMessage(as_data("conversation_memory", memory)))
    for question, answer in earlier_turns(state, run.config.history_turns):
        messages += [HumanMessage(question), AIMessage(answer)]
    messages.append(HumanMessage(state["question"]))
    return messages + list(state.get("scratch") or [])


def agent_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    run = runtime.context
    tracker = UsageTracker()
    model = run.llm.chat_model.bind_tools(list(TOOLS))
    try:
        reply = model.invoke(agent_messages(state, run), config={"callbacks": [tracker]})
    except Exception as exc:  # noqa: BLE001 - the turn still gets a polite reply
        reply = AIMessage(fallback_text([], f"the language model failed: {type(exc).__name__}"))
    usage = add_llm_usage(state.get("usage"), tracker.usage())
    return {
        "scratch": [*(state.get("scratch") or []), reply],
        "rounds": state.get("rounds", 0) + 1,
        "usage": usage,
    }


def after_agent(state: AssistantState, runtime: Runtime[AssistantContext]) -> str:
    last = (state.get("scratch") or [None])[-1]
    more = state.get("rounds", 0) < runtime.context.config.max_tool_rounds
    return "tools" if isinstance(last, AIMessage) and last.tool_calls and more else "respond"


def tools_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    run = runtime.context
    trace = list(state.get("trace") or [])
    sets = dict(state.get("candidate_sets") or {})
    usage = state.get("usage")
    replies = []
    for call in state["scratch"][-1].tool_calls:
        record, sets = run_call(
            run, call["name"], call.get("args") or {}, sets, trace, state["question"],
            len(trace) + 1,
        )  # fmt: skip
        record["attempt"] = 1
        trace.append(record)
        usage = add_agents_usage(usage, record.get("data"))
        result = {k: record.get(k) for k in ("status", "message", "data")}
        replies.append(
            ToolMessage(
                compact(result, run.config.result_chars),
                tool_call_id=call.get("id") or "",
                name=call["name"],
            )
        )
    return {
        "scratch": [*state["scratch"], *replies],
        "trace": trace,
        "candidate_sets": sets,
        "usage": usage,
    }


def respond_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    """The model's last message, grounded; items = the allowed movies it names, in order."""
    run = runtime.context
    records = state.get("trace") or []
    last = (state.get("scratch") or [None])[-1]
    text = last.text if isinstance(last, AIMessage) and not last.tool_calls else ""
    if not text.strip():
        text = fallback_text(records, "the model gave no final reply")
    allowed = allowed_ids(state, records)
    grounded = run.title_index.ground(text, allowed)
    body = grounded.text or fallback_text(records)
    rec = recommendation_of(records)
    if rec and rec.get("items") and "explain" not in body.lower():
        body += f"\n\n{OFFER}"
    return finalize_turn(state, body, grounded.items, state.get("usage"), records, grounded.removed)
