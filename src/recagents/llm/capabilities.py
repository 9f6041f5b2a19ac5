"""What each backend can do: native tool calling, JSON-schema output, context size.

Agents read ``handle.capabilities`` to choose native tool calling or plan-then-execute, and the
structured-output helper reads it to choose JSON-schema mode or function calling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from recagents.settings import Settings


@dataclass(frozen=True)
class Capabilities:
    native_tools: bool
    """The model emits real tool calls (else: plan-then-execute with structured outputs)."""
    json_schema: bool
    """The backend constrains output to a JSON schema (else: function calling or JSON mode)."""
    context_tokens: int
    """Tokens one request (prompt + answer) may use."""
    logprobs: bool = True
    """Chat completions return next-token ``logprobs`` / ``top_logprobs`` (``llm.scoring``)."""
    logprobs_note: str = ""
    """Why not, where ``logprobs`` is false (scoring then generates one label token)."""
    compact_json: bool = False
    """The backend takes an llguidance grammar (llama.cpp built with LLGUIDANCE, as the embedded
    xllamacpp server is), so structured answers are constrained to JSON without whitespace:
    the grammar of a plain ``response_format`` lets a small model pretty-print, and each newline
    and indent is a generated token (~40 ms on the 0.5B, ~100 ms on the 1.5B on 2 cores)."""

    def as_dict(self) -> dict:
        return asdict(self)


# Measured on the local Qwen2.5-Coder models: with tools offered they write fenced JSON instead
# of tool calls, while grammar-constrained JSON-schema output is reliable.
_PROFILES: dict[str, Capabilities] = {
    "openai": Capabilities(native_tools=True, json_schema=True, context_tokens=128_000),
    "ollama": Capabilities(
        native_tools=True,
        json_schema=True,
        context_tokens=8192,
        logprobs=False,
        logprobs_note="langchain-ollama returns no token log-probabilities: scoring generates "
        "one grammar-constrained label token per prompt instead",
    ),
    "openai-compatible": Capabilities(native_tools=False, json_schema=True, context_tokens=8192),
    "local": Capabilities(
        native_tools=False, json_schema=True, context_tokens=8192, compact_json=True
    ),
}


def capabilities_for(backend: str, settings: Settings) -> Capabilities:
    """The profile of ``backend``, with the context and tool-calling overrides of ``settings``."""
    base = _PROFILES[backend]
    if backend == "local":
        context = settings.local_ctx_size
    elif backend == "ollama":
        context = settings.llm_context_tokens or settings.ollama_num_ctx
    else:
        context = settings.llm_context_tokens or base.context_tokens
    tools = base.native_tools if settings.llm_tool_calling is None else settings.llm_tool_calling
    return replace(base, native_tools=tools, context_tokens=context)
