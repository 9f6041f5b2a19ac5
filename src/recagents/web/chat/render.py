"""What the chat shows, as pure functions (no Chainlit here, so they are unit-tested alone).

- ``AnswerStream``: the answer writer streams JSON (``{"text": "…", "item_ids": […]}``); this
  pulls the ``text`` value out as it grows and releases whole sentences that are safe to show
  before grounding has run — a sentence naming a movie no tool returned is held back (the
  grounded final answer replaces the streamed draft anyway, so nothing invented is ever shown).
- ``items_table``: the recommended movies as a Markdown table (title, year, genres, why).
- ``final_markdown``: the grounded answer with its numbered list replaced by that table.
- ``usage_line``: LLM calls, tokens and seconds of the turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from recagents.llm.accounting import Usage
from recagents.services.grounding import NOT_AN_END

_TEXT_KEY = re.compile(r'"text"\s*:\s*"')
_SENTENCE_END = re.compile(NOT_AN_END + r"(?<=[.!?:])\s+|\n+")
MAX_CELL = 160


def _json_string_prefix(raw: str) -> tuple[str, bool]:
    """Decode the longest complete prefix of a JSON string body; (text, closed)."""
    out, i = [], 0
    while i < len(raw):
        ch = raw[i]
        if ch == '"':
            return "".join(out), True
        if ch == "\\":
            if i + 1 >= len(raw):
                break
            if raw[i + 1] == "u":
                if i + 6 > len(raw):
                    break
                out.append(json.loads(f'"{raw[i : i + 6]}"'))
                i += 6
                continue
            out.append(json.loads(f'"{raw[i : i + 2]}"'))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out), False


class AnswerStream:
    """Feed streamed JSON pieces; ``feed`` returns the newly releasable text."""

    def __init__(self, is_safe) -> None:
        self.is_safe = is_safe  # sentence -> bool
        self.raw = ""
        self.released = 0  # characters of the decoded text already released
        self.blocked = False

    def feed(self, piece: str) -> str:
        self.raw += piece
        if self.blocked:
            return ""
        match = _TEXT_KEY.search(self.raw)
        if not match:
            return ""
        text, closed = _json_string_prefix(self.raw[match.end() :])
        pending = text[self.released :]
        cuts = [m.end() for m in _SENTENCE_END.finditer(pending)]
        end = len(pending) if closed else (cuts[-1] if cuts else 0)
        out = []
        start = 0
        for cut in [c for c in cuts if c <= end] + ([end] if closed and end not in cuts else []):
            sentence = pending[start:cut]
            if sentence.strip() and not self.is_safe(sentence):
                self.blocked = True
                break
            out.append(sentence)
            start = cut
        released = "".join(out)
        self.released += len(released)
        return released


def _cell(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value or "")
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def items_table(rows: Iterable[dict], reasons: dict[int, str]) -> str:
    """``rows``: item details (``item_id``, ``title``, ``year``, ``genres``) in answer order."""
    lines = ["| # | Title | Year | Genres | Why |", "|---|---|---|---|---|"]
    for n, row in enumerate(rows, 1):
        why = reasons.get(row["item_id"], "")
        lines.append(
            f"| {n} | {_cell(row.get('title'))} | {_cell(row.get('year'))} | "
            f"{_cell(row.get('genres'))} | {_cell(why)} |"
        )
    return "\n".join(lines)


def final_markdown(answer: str, titles: list[str], table: str) -> str:
    """``answer`` with its numbered list of ``titles`` (the assistant's rendering) replaced by
    ``table``; the table is appended when no such list is found."""
    if not titles:
        return answer
    blocks = answer.split("\n\n")
    for i, block in enumerate(blocks):
        if block.lstrip().startswith(f"1. {titles[0]}"):
            blocks[i] = table
            return "\n\n".join(blocks)
    return f"{answer}\n\n{table}"


def usage_line(usage: Usage, seconds: float) -> str:
    calls = usage.llm_calls
    if not calls:
        return f"_no LLM calls · {seconds:.1f} s_"
    return (
        f"_{calls} LLM call{'s' if calls != 1 else ''} · "
        f"{usage.tokens_in:,} → {usage.tokens_out:,} tokens · "
        f"{seconds:.1f} s_"
    )


def ids_in(data: Any) -> set[int]:
    """Every ``item_id`` / ``id`` in a tool's data (what the stream may name before grounding)."""
    found: set[int] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("item_id", "id") and isinstance(value, int):
                found.add(value)
            else:
                found |= ids_in(value)
    elif isinstance(data, list):
        for value in data:
            found |= ids_in(value)
    return found


def as_json(value: Any, limit: int = 20_000) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return text if len(text) <= limit else text[:limit] + "\n…"
