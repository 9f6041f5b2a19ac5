"""Rounds, totals and the callback handler (no real LLM)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from recagents.llm.accounting import LLMCall, LLMUsage, UsageTracker, count_rounds


def test_rounds_merge_overlapping_calls():
    calls = [
        LLMCall(0.0, 1.0),  # round 1: two parallel nodes
        LLMCall(0.1, 1.5),
        LLMCall(1.6, 2.0),  # round 2
        LLMCall(2.0, 3.0),  # round 3 (starts exactly when the previous ended)
    ]
    assert count_rounds(calls) == 3
    assert count_rounds(list(reversed(calls))) == 3
    assert count_rounds([]) == 0


def test_usage_totals_and_dict():
    calls = [LLMCall(0.0, 1.0, 100, 10), LLMCall(0.5, 2.0, 50, 5, error="Timeout")]
    usage = LLMUsage.from_calls(calls)
    assert (usage.calls, usage.input_tokens, usage.output_tokens) == (2, 150, 15)
    assert usage.total_tokens == 165 and usage.rounds == 1 and usage.errors == 1
    assert usage.latency_s == 2.0 and usage.llm_time_s == 2.5
    out = usage.as_dict(include_calls=True)
    assert out["total_tokens"] == 165 and len(out["per_call"]) == 2
    assert "per_call" not in usage.as_dict()
    assert LLMUsage().as_dict()["calls"] == 0


class SlowChat(BaseChatModel):
    delay_s: float = 0.2

    @property
    def _llm_type(self) -> str:
        return "slow"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        time.sleep(self.delay_s)
        usage = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage("ok", usage_metadata=usage))]
        )


def test_tracker_counts_parallel_calls_as_one_round():
    tracker = UsageTracker()
    chat = SlowChat()
    config = {"callbacks": [tracker]}
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: chat.invoke("x", config=config), range(2)))
    chat.invoke("y", config=config)
    usage = tracker.usage()
    assert usage.calls == 3 and usage.rounds == 2
    assert usage.input_tokens == 9 and usage.output_tokens == 6
    mark = tracker.mark()
    chat.invoke("z", config=config)
    assert tracker.usage(since=mark).calls == 1
    tracker.reset()
    assert tracker.usage().calls == 0
