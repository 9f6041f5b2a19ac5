"""Scripted replies for wiring tests: each ARAG agent's task answered with valid JSON.

Never the evidence that the agents work (that is ``test_arag_llm.py`` with the real model): it
only drives routing, repair, fill, fusion and fallback logic deterministically.
"""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.messages import BaseMessage


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


@pytest.fixture
def scripted(scripted_llm):
    """scripted(**arag_reply options) -> an LLMHandle over a ScriptedChat."""
    return lambda **options: scripted_llm(arag_reply(**options))
