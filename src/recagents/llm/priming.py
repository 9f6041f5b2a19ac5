"""Prime the embedded server's prompt cache with the fixed prefixes (system messages) that every
request of a kind starts with, so the first chat turn reads them from the cache too.

llama.cpp keeps each slot's last prompt (and, with ``cache_ram``, earlier ones in memory) and
serves a new request's longest common prefix from it. The assistant's intent prompt and the
agents' prompt each start with a long fixed system message (~760 and ~250 tokens: ~15 s and
~5 s of prompt processing for the 1.5B on 2 cores); sending each once with one generated token
at startup moves that cost out of the first turn.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage


def prime_prompt_cache(handle, prefixes: Sequence[Sequence[BaseMessage]]) -> int:
    """Send each prefix once (one generated token each) on the embedded backend; returns the
    prompt tokens sent (0 elsewhere: a remote backend caches by itself or bills the tokens)."""
    if handle.backend != "local":
        return 0
    chat = handle.chat_model.bind(max_tokens=1)
    sent = 0
    for prefix in prefixes:
        reply = chat.invoke(list(prefix))
        sent += int((reply.usage_metadata or {}).get("input_tokens") or 0)
    return sent
