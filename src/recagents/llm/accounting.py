"""Token, latency and round accounting through a LangChain callback handler.

``UsageTracker`` records every chat-model call it sees (tokens in/out, latency, time to first
token when streamed). Attach one to a chat model (the factory gives each handle a process-wide
tracker) or pass a fresh one per turn in ``config={"callbacks": [tracker]}``: callbacks in the
config reach every LLM call made below, including LangGraph nodes run in parallel.

*Rounds* are sequential LLM steps: calls whose time intervals overlap (parallel nodes) count as
one round, so a turn with user-understanding ∥ NLI → summary → ranker has 3 rounds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult


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

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "latency_s": round(self.latency_s, 4),
            "first_token_s": None if self.first_token_s is None else round(self.first_token_s, 4),
            "cached_tokens": self.cached_tokens,
            "error": self.error,
        }


@dataclass
class LLMUsage:
    """Totals over a set of calls (a turn, a request, or the whole process)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    rounds: int = 0
    latency_s: float = 0.0
    """Wall-clock span from the first call's start to the last call's end."""
    llm_time_s: float = 0.0
    """Sum of the calls' latencies (> latency_s when calls ran in parallel)."""
    errors: int = 0
    cached_tokens: int = 0
    """Prompt tokens served from the backend's prompt cache (part of ``input_tokens``)."""
    per_call: list[LLMCall] = field(default_factory=list, repr=False)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self, *, include_calls: bool = False) -> dict:
        out = {
            "calls": self.calls,
            "rounds": self.rounds,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "latency_s": round(self.latency_s, 4),
            "llm_time_s": round(self.llm_time_s, 4),
            "cached_tokens": self.cached_tokens,
            "errors": self.errors,
        }
        if include_calls:
            out["per_call"] = [c.as_dict() for c in self.per_call]
        return out

    @classmethod
    def from_calls(cls, calls: list[LLMCall]) -> LLMUsage:
        calls = sorted(calls, key=lambda c: c.started)
        if not calls:
            return cls()
        return cls(
            calls=len(calls),
            input_tokens=sum(c.input_tokens for c in calls),
            output_tokens=sum(c.output_tokens for c in calls),
            rounds=count_rounds(calls),
            latency_s=max(c.ended for c in calls) - calls[0].started,
            llm_time_s=sum(c.latency_s for c in calls),
            errors=sum(1 for c in calls if c.error),
            cached_tokens=sum(c.cached_tokens for c in calls),
            per_call=calls,
        )


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

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
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

    def usage(self, since: int = 0) -> LLMUsage:
        """Totals of the calls recorded so far (those after ``since``: see ``mark()``)."""
        with self._lock:
            calls = [c for c in self._calls if c.seq >= since]
        return LLMUsage.from_calls(calls)

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
