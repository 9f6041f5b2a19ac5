"""Candidate sets in conversation state: large id sets stay out of the prompt, the LLM passes a
short handle ("C3").

The sets live in the graph state under ``candidate_sets`` (handle → {"ids", "origin"}), so the
LangGraph checkpointer persists them with the conversation: a resumed chat, another worker or a
restarted process resolves the same handles. ``merge_candidate_sets`` is the state reducer: it
adds new sets and keeps the ``MAX_SETS`` most recent handles per conversation. Handles are
numbered per conversation and never reused; parallel tool calls of one model turn take distinct
numbers (their position in the turn is added).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypedDict

from recagents.errors import InvalidArgumentError, NotFoundError

HANDLE_PATTERN = re.compile(r"^C[1-9][0-9]{0,8}$")
MAX_SETS = 32


class CandidateSet(TypedDict):
    ids: list[int]
    origin: str


CandidateSets = dict[str, CandidateSet]


def looks_like_handle(value: str) -> bool:
    return bool(HANDLE_PATTERN.match(value.strip()))


def handle_number(handle: str) -> int:
    return int(handle[1:])


def merge_candidate_sets(
    left: Mapping[str, CandidateSet] | None, right: Mapping[str, CandidateSet] | None
) -> CandidateSets:
    """State reducer: ``left`` plus ``right``, bounded to the ``MAX_SETS`` newest handles."""
    merged = {**(left or {}), **(right or {})}
    if len(merged) > MAX_SETS:
        newest = sorted(merged, key=handle_number)[-MAX_SETS:]
        merged = {h: merged[h] for h in newest}
    return merged


def next_handle(sets: Mapping[str, CandidateSet], offset: int = 0) -> str:
    """The first unused handle after every handle in ``sets`` (``offset`` for parallel calls)."""
    last = max((handle_number(h) for h in sets), default=0)
    return f"C{last + 1 + offset}"


def new_set(ids: Sequence[int], origin: str) -> CandidateSet:
    return {"ids": list(dict.fromkeys(int(i) for i in ids)), "origin": origin}


def resolve_handle(sets: Mapping[str, CandidateSet], handle: str) -> list[int]:
    """The ids behind ``handle`` in this conversation, in their stored order."""
    key = handle.strip()
    known = sorted(sets, key=handle_number)
    if not HANDLE_PATTERN.match(key):
        raise InvalidArgumentError(
            f"{handle!r} is not a candidate handle: pass a handle like 'C1' returned by an "
            f"earlier tool, or a list of item ids. Handles available: {known or 'none'}"
        )
    if key not in sets:
        raise NotFoundError(
            f"unknown candidate handle {key!r} in this conversation (it was never issued "
            f"or has expired): handles available: {known or 'none'}. Re-run the tool "
            "that produced the set, or pass the item ids as a list."
        )
    return list(sets[key]["ids"])


def describe(sets: Mapping[str, CandidateSet]) -> dict[str, dict]:
    """handle → {count, origin} (for the UI and debugging)."""
    return {h: {"count": len(s["ids"]), "origin": s["origin"]} for h, s in sets.items()}
