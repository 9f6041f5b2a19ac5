"""Candidate bus: large id sets stay server-side, the LLM passes a short handle ("C3").

One namespace per conversation (thread id). Handles are numbered per thread and never reused;
each thread keeps its ``max_sets`` most recently used sets and the bus its ``max_threads`` most
recently used threads (LRU), so memory stays bounded. An unknown or evicted handle is a clear
``NotFoundError`` that lists the handles the conversation still has.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from recagents.errors import InvalidArgumentError, NotFoundError

HANDLE_PATTERN = re.compile(r"^C[1-9][0-9]{0,8}$")


def looks_like_handle(value: str) -> bool:
    return bool(HANDLE_PATTERN.match(value.strip()))


@dataclass
class _Thread:
    sets: OrderedDict[str, tuple[int, ...]] = field(default_factory=OrderedDict)
    origins: dict[str, str] = field(default_factory=dict)
    counter: int = 0


class CandidateBus:
    def __init__(self, max_sets_per_thread: int = 32, max_threads: int = 256):
        if max_sets_per_thread < 1 or max_threads < 1:
            raise InvalidArgumentError("CandidateBus sizes must be >= 1")
        self.max_sets = max_sets_per_thread
        self.max_threads = max_threads
        self._threads: OrderedDict[str, _Thread] = OrderedDict()
        self._lock = threading.Lock()

    def _thread(self, thread_id: str) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None:
            thread = self._threads[thread_id] = _Thread()
            while len(self._threads) > self.max_threads:
                self._threads.popitem(last=False)
        self._threads.move_to_end(thread_id)
        return thread

    def put(self, thread_id: str, item_ids: Sequence[int], origin: str = "") -> str:
        """Store an ordered id set; returns its new handle (``C1``, ``C2``, … per thread)."""
        ids = tuple(dict.fromkeys(int(i) for i in item_ids))
        with self._lock:
            thread = self._thread(thread_id)
            thread.counter += 1
            handle = f"C{thread.counter}"
            thread.sets[handle] = ids
            thread.origins[handle] = origin
            while len(thread.sets) > self.max_sets:
                old, _ = thread.sets.popitem(last=False)
                thread.origins.pop(old, None)
            return handle

    def get(self, thread_id: str, handle: str) -> tuple[int, ...]:
        """The ids behind ``handle`` in this conversation, in their stored order."""
        key = handle.strip()
        with self._lock:
            thread = self._threads.get(thread_id)
            known = list(thread.sets) if thread else []
            if not HANDLE_PATTERN.match(key):
                raise InvalidArgumentError(
                    f"{handle!r} is not a candidate handle: pass a handle like 'C1' returned by an "
                    f"earlier tool, or a list of item ids. Handles available: {known or 'none'}"
                )
            if thread is None or key not in thread.sets:
                raise NotFoundError(
                    f"unknown candidate handle {key!r} in this conversation (it was never issued "
                    f"or has expired): handles available: {known or 'none'}. Re-run the tool "
                    "that produced the set, or pass the item ids as a list."
                )
            thread.sets.move_to_end(key)
            self._threads.move_to_end(thread_id)
            return thread.sets[key]

    def describe(self, thread_id: str) -> dict[str, dict]:
        """handle → {count, origin} for a conversation (for debugging / UI)."""
        with self._lock:
            thread = self._threads.get(thread_id)
            if thread is None:
                return {}
            return {
                h: {"count": len(s), "origin": thread.origins.get(h, "")}
                for h, s in thread.sets.items()
            }

    def drop_thread(self, thread_id: str) -> None:
        with self._lock:
            self._threads.pop(thread_id, None)
