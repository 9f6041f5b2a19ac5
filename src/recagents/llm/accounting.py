"""Token, latency and round accounting through a LangChain callback handler.

``UsageTracker`` records every chat-model call it sees (tokens in/out, latency, time to first
token when streamed). Attach one to a chat model (the factory gives each handle a process-wide
tracker) or pass a fresh one per turn in ``config={"callbacks": [tracker]}``: callbacks in the
config reach every LLM call made below, including LangGraph nodes run in parallel.

*Rounds* are sequential LLM steps: calls whose time intervals overlap (parallel nodes) count as
one round, so a turn with user-understanding ∥ NLI → summary → ranker has 3 rounds.

``Usage`` is the one usage type of the package (the tracker's totals, an ARAG request's, an
assistant turn's, the API's and the CLI's): ``llm_call_seconds`` sums the calls' durations,
``llm_wall_seconds`` is the wall-clock time some call was in flight, ``wall_seconds`` the whole
run's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from pydantic import BaseModel, Field


@dataclass
class LLMCall:
    """One chat-model call."""

    started: float
    ended: float
    input_tokens: int = 0
    output_tokens: int = 0
    first_token_s: float | None = None
    model: str | None = None
    error: str | None = None
    seq: int = 0
    cached_tokens: int = 0
    """Prompt tokens the backend served from its prompt cache (llama.cpp ``cache_n``)."""

    @property
    def latency_s(self) -> float:
        return self.ended - self.started


class Usage(BaseModel):
    """LLM usage of one run (a structured call, an ARAG request, an assistant turn): the one
    shape the agents, the assistant, the API and the CLI report. Each field has one meaning;
    ``+`` adds the usage of a later, sequential part (e.g. the agents' inside a turn)."""

    llm_calls: int = 0
    llm_rounds: int = 0  # sequential LLM steps: calls in flight together count as one
    llm_errors: int = 0  # calls that failed
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0  # part of tokens_in the backend served from its prompt cache
    llm_call_seconds: float = 0.0  # the calls' durations summed (parallel calls each count)
    llm_wall_seconds: float = 0.0  # wall-clock time with at least one LLM call in flight
    wall_seconds: float | None = None  # the whole run's wall-clock time (None: not measured)
    per_node_seconds: dict[str, float] = Field(default_factory=dict)  # the ARAG agents' times
    per_call: list[LLMCall] = Field(default_factory=list, exclude=True, repr=False)

    @property
    def tokens_total(self) -> int:
        return self.tokens_in + self.tokens_out

    def __add__(self, other: Usage) -> Usage:
        nodes = dict(self.per_node_seconds)
        for node, seconds in other.per_node_seconds.items():
            nodes[node] = round(nodes.get(node, 0.0) + seconds, 4)
        wall = None
        if self.wall_seconds is not None and other.wall_seconds is not None:
            wall = round(self.wall_seconds + other.wall_seconds, 4)
        return Usage(
            llm_calls=self.llm_calls + other.llm_calls,
            llm_rounds=self.llm_rounds + other.llm_rounds,
            llm_errors=self.llm_errors + other.llm_errors,
            tokens_in=self.tokens_in + other.tokens_in,
            tokens_out=self.tokens_out + other.tokens_out,
            tokens_cached=self.tokens_cached + other.tokens_cached,
            llm_call_seconds=round(self.llm_call_seconds + other.llm_call_seconds, 4),
            llm_wall_seconds=round(self.llm_wall_seconds + other.llm_wall_seconds, 4),
            wall_seconds=wall,
            per_node_seconds=nodes,
            per_call=[*self.per_call, *other.per_call],
        )

    @classmethod
    def from_calls(cls, calls: list[LLMCall]) -> Usage:
        calls = sorted(calls, key=lambda c: c.started)
        return cls(
            llm_calls=len(calls),
            llm_rounds=count_rounds(calls),
            llm_errors=sum(1 for c in calls if c.error),
            tokens_in=sum(c.input_tokens for c in calls),
            tokens_out=sum(c.output_tokens for c in calls),
            tokens_cached=sum(c.cached_tokens for c in calls),
            llm_call_seconds=round(sum(c.latency_s for c in calls), 4),
            llm_wall_seconds=round(in_flight_seconds(calls), 4),
            per_call=calls,
        )


def in_flight_seconds(calls: list[LLMCall]) -> float:
    """Wall-clock time covered by at least one call (overlapping calls counted once)."""
    total, start = 0.0, 0.0
    end: float | None = None  # the current group's end (None: no call seen yet)
    for call in sorted(calls, key=lambda c: c.started):
        if end is None or call.started > end:
            total += 0.0 if end is None else end - start
            start, end = call.started, call.ended
        else:
            end = max(end, call.ended)
    return total + (0.0 if end is None else end - start)


def count_rounds(calls: list[LLMCall]) -> int:
    """Number of groups of time-overlapping calls (sequential LLM rounds)."""
    rounds, current_end = 0, None
    for call in sorted(calls, key=lambda c: c.started):
        if current_end is None or call.started >= current_end:
            rounds += 1
            current_end = call.ended
        else:
            current_end = max(current_end, call.ended)
    return rounds


def _usage_from_result(response: LLMResult) -> tuple[int, int, str | None, int]:
    """(input, output, model, cached input) from the message usage metadata, else from
    llm_output."""
    inp = out = cached = 0
    found = False
    for generations in response.generations:
        for gen in generations:
            meta = getattr(getattr(gen, "message", None), "usage_metadata", None)
            if meta:
                inp += int(meta.get("input_tokens") or 0)
                out += int(meta.get("output_tokens") or 0)
                cached += int((meta.get("input_token_details") or {}).get("cache_read") or 0)
                found = True
    llm_output = response.llm_output or {}
    if not found:
        usage = llm_output.get("token_usage") or {}
        inp = int(usage.get("prompt_tokens") or 0)
        out = int(usage.get("completion_tokens") or 0)
    model = llm_output.get("model_name") or llm_output.get("model")
    if model is None and response.generations and response.generations[0]:
        msg = getattr(response.generations[0][0], "message", None)
        meta = getattr(msg, "response_metadata", None) or {}
        model = meta.get("model_name") or meta.get("model")
    return inp, out, model, cached


class UsageTracker(BaseCallbackHandler):
    """Records LLM calls; thread-safe; ``usage()`` summarizes them, ``reset()`` starts anew.

    Keeps the last ``max_calls`` calls (a process-wide tracker must not grow forever).
    """

    raise_error = False
    run_inline = True

    def __init__(self, max_calls: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._open: dict[UUID, dict[str, Any]] = {}
        self._calls: deque[LLMCall] = deque(maxlen=max_calls)
        self._seq = 0

    def _record(self, call: LLMCall) -> None:  # with self._lock held
        call.seq = self._seq
        self._seq += 1
        self._calls.append(call)

    # --- callback hooks ----------------------------------------------------------------
    def on_chat_model_start(self, serialized, messages, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self._open[run_id] = {"started": time.perf_counter(), "first": None}

    def on_llm_start(self, serialized, prompts, *, run_id: UUID, **kwargs: Any) -> None:
        self.on_chat_model_start(serialized, prompts, run_id=run_id)

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        with self._lock:
            entry = self._open.get(run_id)
            if entry is not None and entry["first"] is None and token:
                entry["first"] = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        now = time.perf_counter()
        inp, out, model, cached = _usage_from_result(response)
        with self._lock:
            entry = self._open.pop(run_id, None)
            if entry is None:
                return
            first = entry["first"] - entry["started"] if entry["first"] else None
            call = LLMCall(entry["started"], now, inp, out, first, model, cached_tokens=cached)
            self._record(call)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        now = time.perf_counter()
        with self._lock:
            entry = self._open.pop(run_id, None)
            if entry is None:
                return
            self._record(LLMCall(entry["started"], now, error=type(error).__name__))

    # --- reading -----------------------------------------------------------------------
    @property
    def calls(self) -> list[LLMCall]:
        with self._lock:
            return list(self._calls)

    def usage(self, since: int = 0) -> Usage:
        """Totals of the calls recorded so far (those after ``since``: see ``mark()``)."""
        with self._lock:
            calls = [c for c in self._calls if c.seq >= since]
        return Usage.from_calls(calls)

    def mark(self) -> int:
        """A position to pass to ``usage(since=…)`` later. On a shared tracker, calls made
        meanwhile by other threads count too: for exact per-turn figures pass a fresh
        ``UsageTracker`` in ``config={"callbacks": [...]}`` instead."""
        with self._lock:
            return self._seq

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._open.clear()
