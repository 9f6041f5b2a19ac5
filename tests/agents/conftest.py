"""Scripted replies for wiring tests: each ARAG agent's task answered with valid JSON.

Never the evidence that the agents work (that is ``test_arag_llm.py`` with the real model): it
only drives routing, repair, fill, fusion and fallback logic deterministically.
"""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.messages import AIMessage, BaseMessage


def ids_after(text: str, marker: str) -> list[int]:
    listed = re.search(re.escape(marker) + r"\s*([\d, ]+)", text).group(1)
    return [int(x) for x in re.findall(r"\d+", listed)]


SCRIPTED_REASON = "A fine pick for this user's taste."


def fact(item_id, title, year, genres, liked=None, shared=(), crew=None, imdb_rating=None):
    """An explanation ``Fact`` (the facts a test does not need left empty)."""
    from recagents.agents.explanations import Fact

    return Fact(item_id=item_id, title=title, year=year, genres=list(genres), liked=liked,
                shared=list(shared), crew=crew, imdb_rating=imdb_rating)  # fmt: skip


def scored(label_logprobs: dict[str, float]) -> AIMessage:
    """A one-token answer with the top log-probabilities an OpenAI-style server returns."""
    top = [{"token": t, "logprob": lp} for t, lp in label_logprobs.items()]
    best = max(top, key=lambda t: t["logprob"])
    return AIMessage(
        best["token"],
        response_metadata={"logprobs": {"content": [{**best, "top_logprobs": top}]}},
    )


def relevance_of(line: str) -> dict[str, float]:
    """A deterministic graded distribution per movie line (by its length), never uniform."""
    best = len(line) % 4
    return {str(g): (-0.2 if g == best else -2.5 - g) for g in range(4)}


def arag_reply(
    *,
    ranker_drop: int = 0,
    confidence: str = "high",
    bad_first_rank: bool = False,
    false_explanation: str | None = None,
):
    """Answers per task; the ranker returns the accepted ids reversed, minus ``ranker_drop``;
    scoring prompts get log-probabilities; ``false_explanation`` replaces the first written
    explanation."""
    state = {"ranker_calls": 0}

    def reply(messages: list[BaseMessage]) -> str | AIMessage:
        task = next(m.content for m in reversed(messages) if "TASK (" in str(m.content))
        if "TASK (NLI): how well" in task:
            return scored(relevance_of(task.rsplit("Movie: ", 1)[1]))
        if "TASK (Explanations), as described above" in task:
            # the last reason listed for each movie (so a test sees the pick matter)
            picks = ""
            for block in re.split(r"^(?=\d+\. )", task, flags=re.MULTILINE)[1:]:
                picks += re.findall(r"^   ([A-D])\) ", block, flags=re.MULTILINE)[-1]
            return json.dumps({"picks": picks})
        if "TASK (Explanations)" in task:
            n = len(re.findall(r"^\d+\. ", task, flags=re.MULTILINE))
            reasons = [SCRIPTED_REASON] * n
            if false_explanation:
                reasons[0] = false_explanation
            return json.dumps({"reasons": reasons})
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


GENERATE = {"nli": {"method": "generate"}, "ranker": {"method": "generate"}}
WRITE = {"explanations": {"method": "write"}}
"""Explanations written by the model (checked) instead of chosen among the true reasons."""
"""The earlier generated-verdicts / generated-permutation design (still selectable)."""


@pytest.fixture
def scripted(scripted_llm):
    """scripted(**arag_reply options) -> an LLMHandle over a ScriptedChat."""
    return lambda **options: scripted_llm(arag_reply(**options))
