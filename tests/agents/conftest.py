"""A scripted chat model for wiring tests: it answers each ARAG agent's task with valid JSON.

Never the evidence that the agents work (that is ``test_arag_llm.py`` with the real model): it
only drives routing, repair, fill, fusion and fallback logic deterministically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from recagents.llm.capabilities import Capabilities
from recagents.llm.factory import LLMHandle


class ScriptedChat(BaseChatModel):
    reply: Callable[[list[BaseMessage]], str]
    calls: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        task = messages[-1].content
        self.calls.append(task)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply(messages)))])


def ids_after(text: str, marker: str) -> list[int]:
    listed = re.search(re.escape(marker) + r"\s*([\d, ]+)", text).group(1)
    return [int(x) for x in re.findall(r"\d+", listed)]


def arag_reply(*, ranker_drop: int = 0, confidence: str = "high", bad_first_rank: bool = False):
    """Answers per task; the ranker returns the accepted ids reversed, minus ``ranker_drop``."""
    state = {"ranker_calls": 0}

    def reply(messages: list[BaseMessage]) -> str:
        task = next(m.content for m in reversed(messages) if "TASK (" in str(m.content))
        if "TASK (User Understanding)" in task:
            return json.dumps(
                {
                    "long_term": "likes classic comedies",
                    "session_intent": "something light",
                    "likes": ["comedy"],
                    "dislikes": ["gore"],
                }
            )
        if "TASK (NLI)" in task:
            ids = ids_after(task, "in this order:")
            return json.dumps(
                {
                    "verdicts": [
                        {
                            "item_id": i,
                            "label": "supports",
                            "score": 0.9 - 0.02 * n,
                            "reason": "fits",
                        }
                        for n, i in enumerate(ids)
                    ]
                }
            )
        if "TASK (Context Summary)" in task:
            return json.dumps({"summary": "Light comedies the user may enjoy."})
        if "TASK (Item Ranker)" in task:
            state["ranker_calls"] += 1
            ids = ids_after(task, "accepted ids only:")
            k = int(re.search(r"choose the (\d+) best", task).group(1))
            if bad_first_rank and state["ranker_calls"] == 1:
                return json.dumps({"items": [{"item_id": 999999, "explanation": "x"}],
                                   "confidence": "high"})  # fmt: skip
            chosen = list(reversed(ids))[: max(k - ranker_drop, 0)]
            items = [{"item_id": i, "explanation": f"Because of movie {i}."} for i in chosen]
            if chosen and len(chosen) < k:  # a duplicate, where the schema leaves room
                items.append({"item_id": chosen[0], "explanation": "duplicate"})
            return json.dumps({"items": items, "confidence": confidence})
        raise AssertionError(f"unexpected task: {task[:200]}")

    return reply


def scripted_handle(reply) -> LLMHandle:
    return LLMHandle(
        chat_model=ScriptedChat(reply=reply, calls=[]),
        backend="openai-compatible",
        model="scripted",
        capabilities=Capabilities(native_tools=False, json_schema=True, context_tokens=8192),
        structured_attempts=3,
    )


@pytest.fixture
def scripted():
    """scripted(**arag_reply options) -> an LLMHandle over a ScriptedChat."""
    return lambda **options: scripted_handle(arag_reply(**options))


@pytest.fixture(scope="session")
def agent_services(tool_settings, sqlite_url, tool_recommender, tool_vectors, swing_index):
    """Services over the SQLite store (session): what the agents retrieve from."""
    from recagents.services import ServiceContext
    from recagents.stores.metadata import MetadataStore, make_engine

    store = MetadataStore(make_engine(sqlite_url, read_only=True))
    yield ServiceContext(tool_settings, store, tool_recommender, tool_vectors, swing_index)
    store.close()


@pytest.fixture
def small_config():
    """A small pool, so the real model's calls stay short on 2 cores."""
    from recagents.agents.config import AgentsConfig

    return AgentsConfig.model_validate(
        {"retrieval": {"pool_size": 8}, "nli": {"chunk_size": 8, "min_keep": 6}}
    )
