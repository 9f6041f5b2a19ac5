"""Assistant test helpers: a scripted planner/answerer and an assistant over the test stores."""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from recagents.assistant import Assistant, AssistantConfig
from recagents.assistant.plan_mode.demos import DemoBank
from recagents.assistant.plan_mode.intent import INTENT_SYSTEM
from recagents.assistant.prompts import ANSWER_SYSTEM, PLANNER_SYSTEM


def task_of(messages: list[BaseMessage]) -> str:
    first = str(messages[0].content)
    if first == PLANNER_SYSTEM:
        return "plan"
    if first == ANSWER_SYSTEM:
        return "answer"
    if first == INTENT_SYSTEM:
        return "form"
    return "other"


def allowed_ids(messages: list[BaseMessage]) -> list[int]:
    """The item ids the answer writer was shown (what a sound model may pick from)."""
    results = re.search(r"<tool_results>(.*?)</tool_results>", str(messages[-1].content), re.S)
    return [int(i) for i in re.findall(r'"item_id":(\d+)', results[1])] if results else []


def plan_mode_reply(plans: list[dict], answers: list[dict] | None = None, seen: list | None = None):
    """Replies with the given plans in turn, and the given answers (default: a short text)."""
    state = {"plan": 0, "answer": 0}

    def reply(messages: list[BaseMessage]) -> str:
        if seen is not None:
            seen.append((task_of(messages), str(messages[-1].content)))
        if task_of(messages) == "plan":
            plan = plans[min(state["plan"], len(plans) - 1)]
            state["plan"] += 1
            return json.dumps(plan)
        if task_of(messages) == "answer":
            pool = answers or [{"text": "Here is what I found."}]
            answer = pool[min(state["answer"], len(pool) - 1)]
            state["answer"] += 1
            return json.dumps(answer(messages) if callable(answer) else answer)
        raise AssertionError(f"unexpected prompt: {str(messages[0].content)[:100]}")

    return reply


@pytest.fixture(scope="session")
def demo_bank():
    from recagents.stores.embeddings import Embedder

    return DemoBank.load(Embedder(threads=1))


@pytest.fixture
def make_assistant(agent_services):
    """make_assistant(llm, mode="plan", checkpointer=None, **config) over the test stores."""

    def make(llm, mode="plan", checkpointer=None, demos=None, **config) -> Assistant:
        config.setdefault("recommend_via", "engine")
        # scripted plan-mode tests script the free-form planner; a real model gets the default
        config.setdefault(
            "planner", "free" if llm is not None and llm.model == "scripted" else "compiled"
        )
        return Assistant(
            agent_services,
            llm,
            checkpointer=checkpointer if checkpointer is not None else InMemorySaver(),
            config=AssistantConfig(**config),
            mode=mode,
            demos=demos,
        )

    return make
