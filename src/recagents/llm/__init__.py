"""LLM access: provider factory, embedded local server, structured output, accounting.

    from recagents.llm import make_chat_model, structured_call, constrain_ids
    handle = make_chat_model(settings)            # LLMHandle: .chat_model .backend .model ...
    Ranked = constrain_ids(Ranking, candidate_ids)  # ids limited to the candidates
    result = structured_call(handle, Ranked, messages)  # .value .attempts .usage

A host process starts the embedded model in its lifespan with ``start_local_server(settings)``
and stops it with ``stop_all_local_servers()``; the package installs no signal handlers.

Names are imported lazily so that `import recagents.llm` (e.g. by the CLI) stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "LLMHandle": "factory",
    "make_chat_model": "factory",
    "resolve_provider": "factory",
    "start_local_server": "factory",
    "Capabilities": "capabilities",
    "capabilities_for": "capabilities",
    "structured_call": "structured",
    "constrain_ids": "structured",
    "StructuredResult": "structured",
    "UsageTracker": "accounting",
    "Usage": "accounting",
    "LLMCall": "accounting",
    "LLMUnavailableError": "failures",
    "LLMConfigError": "failures",
    "StructuredOutputError": "failures",
    "ensure_local_weights": "weights",
    "stop_all_local_servers": "local_server",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"recagents.llm.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'recagents.llm' has no attribute {name!r}")
