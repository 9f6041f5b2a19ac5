"""Progress events of a turn, for callers that show the agents at work (the chat UI).

``emit`` writes one event into LangGraph's ``custom`` stream (``graph.stream(...,
stream_mode="custom")``); outside a streamed run it does nothing, so the executor calls it
unconditionally. Events are small JSON objects:

- ``{"kind": "node_start", "node"}`` when a model step of the assistant starts (``understand``,
  ``plan``), so a caller can show it running before its one LLM call returns;
- ``{"kind": "tool_start", "step", "tool", "args"}`` before a tool call runs;
- ``{"kind": "agent", "step", "agent", "output", "seconds"}`` when an ARAG agent finishes
  (inside a ``recommend_items`` call that goes through the agents);
- ``{"kind": "tool_end", "step", "tool", "args", "status", "message", "data"}`` after it.
"""

from __future__ import annotations

from typing import Any

DATA_PREVIEW = 20  # rows of a tool's data an event carries


def emit(event: dict) -> None:
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except RuntimeError:  # not inside a graph run
        return
    writer(event)


def preview(data: Any) -> Any:
    """At most ``DATA_PREVIEW`` rows of a tool's data (the UI shows a preview, not dumps)."""
    if isinstance(data, list) and len(data) > DATA_PREVIEW:
        return [*data[:DATA_PREVIEW], f"… {len(data) - DATA_PREVIEW} more"]
    if isinstance(data, dict):
        return {k: preview(v) for k, v in data.items()}
    return data


def agent_output(node: str, update: dict) -> dict:
    """What an ARAG agent wrote on the blackboard, without the bookkeeping keys."""
    hidden = {"timings", "llm_nodes", "errors", "request"}  # the request: the caller's own
    out = {k: v for k, v in (update or {}).items() if k not in hidden}
    if node == "retrieval" and "candidates" in out:
        out["candidates"] = [
            {"item_id": c["item_id"], "title": c["title"], "sources": c["sources"]}
            for c in out["candidates"]
        ]
    if update and update.get("errors"):
        out["errors"] = update["errors"]
    return preview(out)


def agent_seconds(node: str, update: dict) -> float | None:
    timings = (update or {}).get("timings") or {}
    value = timings.get(node)
    return round(float(value), 2) if isinstance(value, int | float) else None
