"""Per-turn LLM usage: the assistant's own calls plus those the ARAG agents made."""

from __future__ import annotations


def add_usage(total: dict | None, *, calls=0, tokens_in=0, tokens_out=0, seconds=0.0) -> dict:
    total = dict(total or {})
    total["llm_calls"] = total.get("llm_calls", 0) + int(calls)
    total["tokens_in"] = total.get("tokens_in", 0) + int(tokens_in)
    total["tokens_out"] = total.get("tokens_out", 0) + int(tokens_out)
    total["llm_seconds"] = round(total.get("llm_seconds", 0.0) + float(seconds), 3)
    return total


def add_llm_usage(total: dict | None, usage) -> dict:
    """Add a ``recagents.llm.LLMUsage``."""
    return add_usage(
        total,
        calls=usage.calls,
        tokens_in=usage.input_tokens,
        tokens_out=usage.output_tokens,
        seconds=usage.llm_time_s,
    )


def add_agents_usage(total: dict | None, data) -> dict:
    """Add the usage an ARAG recommendation reported in its tool data."""
    u = data.get("usage") if isinstance(data, dict) else None
    if not u:
        return dict(total or {})
    return add_usage(
        total,
        calls=u.get("llm_calls", 0),
        tokens_in=u.get("tokens_in", 0),
        tokens_out=u.get("tokens_out", 0),
        seconds=u.get("llm_seconds", 0.0),
    )
