"""Rounds, totals and the callback handler (no real LLM)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from recagents.llm.accounting import LLMCall, Usage, UsageTracker, count_rounds


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
    usage = Usage.from_calls(calls)
    assert (usage.llm_calls, usage.tokens_in, usage.tokens_out) == (2, 150, 15)
    assert usage.tokens_total == 165 and usage.llm_rounds == 1 and usage.llm_errors == 1
    assert usage.llm_wall_seconds == 2.0 and usage.llm_call_seconds == 2.5
    assert len(usage.per_call) == 2 and "per_call" not in usage.model_dump()
    assert Usage().model_dump()["llm_calls"] == 0


def test_wall_seconds_count_overlap_once_and_skip_gaps():
    calls = [LLMCall(0.0, 1.0), LLMCall(0.5, 1.5), LLMCall(3.0, 4.0)]  # a 1.5 s gap
    usage = Usage.from_calls(calls)
    assert usage.llm_wall_seconds == 2.5 and usage.llm_call_seconds == 3.0


def test_adding_sequential_parts():
    first = Usage(llm_calls=2, tokens_in=10, llm_call_seconds=1.0, llm_wall_seconds=0.6)
    agents = Usage(
        llm_calls=3, llm_rounds=2, tokens_in=5, llm_call_seconds=2.0, llm_wall_seconds=1.5,
        wall_seconds=2.0, per_node_seconds={"nli": 0.5},
    )  # fmt: skip
    total = first + agents
    assert (total.llm_calls, total.llm_rounds, total.tokens_in) == (5, 2, 15)
    assert (total.llm_call_seconds, total.llm_wall_seconds) == (3.0, 2.1)
    assert total.wall_seconds is None  # the turn's own wall time was not measured
    assert total.per_node_seconds == {"nli": 0.5}


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
    assert usage.llm_calls == 3 and usage.llm_rounds == 2
    assert usage.tokens_in == 9 and usage.tokens_out == 6
    mark = tracker.mark()
    chat.invoke("z", config=config)
    assert tracker.usage(since=mark).llm_calls == 1
    tracker.reset()
    assert tracker.usage().llm_calls == 0
