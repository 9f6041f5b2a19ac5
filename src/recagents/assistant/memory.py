"""What the prompts show of the conversation: earlier turns, the remembered user, the last
recommendation, candidate sets and the previous turn's tool calls."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, HumanMessage

from recagents.assistant.prompts import compact

if TYPE_CHECKING:
    from recagents.assistant.state import AssistantState, StepRecord

_INT = re.compile(r"(?<![\w.])(\d{1,5})(?!\w|\.\d)")  # "user 3." counts, "7.5" does not


def earlier_turns(state: AssistantState, turns: int) -> list[tuple[str, str]]:
    """(question, answer) of up to ``turns`` turns before the current question."""
    messages = list(state.get("messages") or [])
    if messages and isinstance(messages[-1], HumanMessage):
        messages = messages[:-1]
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for m in messages:
        if isinstance(m, HumanMessage):
            question = m.text
        elif isinstance(m, AIMessage) and question is not None and not m.tool_calls:
            pairs.append((question, m.text))
            question = None
    return pairs[-turns:] if turns else []


def trace_lines(
    trace: Iterable[StepRecord], with_data: bool = False, limit: int = 600
) -> list[str]:
    lines = []
    for r in trace:
        args = compact(r.get("args", {}), 300)
        line = f"{r['step']}. {r['tool']}({args}) -> {r.get('status')}: {r.get('message', '')}"
        if with_data and r.get("data") is not None:
            line += f"\n   data: {compact(r['data'], limit)}"
        lines.append(line)
    return lines


def digest(state: AssistantState, turns: int) -> str:
    """The conversation so far, compactly (empty string for a first turn)."""
    parts = []
    for q, a in earlier_turns(state, turns):
        parts.append(f"User: {q[:300]}\nAssistant: {a[:400]}")
    if state.get("user_id"):
        parts.append(f"The conversation is about user {state['user_id']}.")
    rec = state.get("last_recommendation")
    if rec and rec.get("items"):
        listed = "; ".join(
            f"{n}. item {i['item_id']} {i.get('title')}" for n, i in enumerate(rec["items"], 1)
        )
        parts.append(f"Last recommendation (user {rec.get('user_id')}): {listed}")
    previous = state.get("previous_trace") or []
    if previous:
        parts.append("Tools used in the previous turn:\n" + "\n".join(trace_lines(previous)))
    return "\n".join(parts)


def numbers_in(texts: Iterable[str]) -> set[int]:
    found: set[int] = set()
    for text in texts:
        found.update(int(m) for m in _INT.findall(text or ""))
    return found


def known_user_ids(state: AssistantState) -> set[int]:
    """User ids the conversation has given (a plan may not use any other)."""
    texts = [m.text for m in state.get("messages") or [] if isinstance(m, HumanMessage)]
    known = numbers_in(texts)
    user_id = state.get("user_id")
    if user_id:
        known.add(int(user_id))
    return known


def ids_in(value: Any) -> list[int]:
    """Every item id a tool result holds (keys item_id / item_ids), in order."""
    found: list[int] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "item_id" and isinstance(x, int):
                    found.append(x)
                elif k == "item_ids" and isinstance(x, list):
                    found.extend(i for i in x if isinstance(i, int))
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(value)
    return list(dict.fromkeys(found))
