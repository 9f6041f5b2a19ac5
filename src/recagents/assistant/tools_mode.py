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
    grounded_reasons,
    list_answer,
    recommendation_of,
    render,
    turn_records,
    verdict_lists,
)
from recagents.assistant.executor import run_call
from recagents.assistant.memory import digest, earlier_turns
from recagents.assistant.prompts import TOOLS_SYSTEM, as_data, compact
from recagents.assistant.state import AssistantContext, AssistantState
from recagents.assistant.usage import add_agents_usage, add_llm_usage
from recagents.llm.accounting import UsageTracker
from recagents.services.grounding import drop_title_lists
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
    model = run.required_llm().chat_model.bind_tools(list(TOOLS))
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
    scratch = state.get("scratch")
    last = scratch[-1] if scratch else None
    more = state.get("rounds", 0) < runtime.context.config.max_tool_rounds
    if isinstance(last, AIMessage) and last.tool_calls and more:
        return "tools"
    return "verify" if state.get("form") else "respond"


def tools_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    run = runtime.context
    trace = list(state.get("trace") or [])
    sets = dict(state.get("candidate_sets") or {})
    usage = state.get("usage")
    replies = []
    calling = state["scratch"][-1]
    assert isinstance(calling, AIMessage)  # after_agent routes here on tool calls only
    for call in calling.tool_calls:
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
    """The model's last message, grounded; items = the allowed movies it names, in order.

    Behind the verifier (a list request): the reply may name only the verified items, and when
    the model's list broke a constraint (or the verifier re-ran it) the reply is written from
    the data instead, like plan mode's list answers."""
    run = runtime.context
    records = state.get("trace") or []
    verdict = state.get("verdict")
    if verdict is not None and verdict_lists(state):
        if not verdict.get("satisfied") or verdict.get("enforced"):
            return list_answer(state, run, turn_records(state), verdict)
        return _verified_reply(state, run, records, verdict)
    text = _model_text(state)
    if not text.strip():
        text = fallback_text(records, "the model gave no final reply")
    allowed = allowed_ids(state, records)
    grounded = run.title_index.ground(text, allowed)
    body = grounded.text or fallback_text(records)
    rec = recommendation_of(records)
    if rec and rec.get("items") and "explain" not in body.lower():
        body += f"\n\n{OFFER}"
    return finalize_turn(state, body, grounded.items, state.get("usage"), records, grounded.removed)


def _model_text(state: AssistantState) -> str:
    """The model's final reply text ("" when its last message still calls tools)."""
    scratch = state.get("scratch")
    last = scratch[-1] if scratch else None
    return last.text if isinstance(last, AIMessage) and not last.tool_calls else ""


def _verified_reply(state: AssistantState, run: AssistantContext, records, verdict: dict) -> dict:
    """The model's reply about a list that passed the verifier: grounded to the verified items
    (plus the reference movie), with the verified list under it in the verifier's order."""
    text = _model_text(state)
    items = list(verdict.get("items") or [])
    reference = (state.get("form") or {}).get("reference_id")
    grounded = run.title_index.ground(text, [*items, *([reference] if reference else [])])
    rec = recommendation_of(records)
    text = drop_title_lists(grounded.text, run.title_index) if items else grounded.text
    body = render(run, text, items, grounded_reasons(run, rec))
    if rec and items:
        body += f"\n\n{OFFER}"
    return finalize_turn(state, body, items, state.get("usage"), records, grounded.removed)
