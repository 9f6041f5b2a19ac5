"""Per-turn LLM usage: the assistant's own calls plus those the ARAG agents made.

The turn's state keeps the usage as ``Usage``'s JSON (the checkpointer persists the state);
these helpers add a part to it.
"""

from __future__ import annotations

from recagents.llm.accounting import Usage


def add_llm_usage(total: dict | None, usage: Usage) -> dict:
    """``total`` (a ``Usage`` as JSON, or nothing yet) plus ``usage``."""
    return (Usage.model_validate(total or {}) + usage).model_dump(mode="json")


def add_agents_usage(total: dict | None, data) -> dict:
    """Add the usage an ARAG recommendation reported in its tool data."""
    usage = data.get("usage") if isinstance(data, dict) else None
    if not usage:
        return dict(total or {})
    return add_llm_usage(total, Usage.model_validate(usage))
