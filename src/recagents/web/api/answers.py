"""How the recommendation routes (``/recommend``, ``/users/{id}/recommend``,
``/items/{id}/recommend``) answer: the ARAG agents in a worker thread, within a deadline; the
retrieval-only answers (``?llm=false``) cached per app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from cachetools import LRUCache
from fastapi import Request

from recagents.agents import RecRequest
from recagents.resources import AppResources
from recagents.web.api import adapters
from recagents.web.api.deps import (
    agents_config,
    base_agents_config,
    run_bounded,
    run_llm_work,
)
from recagents.web.api.schemas import RecommendResponse


def answer_cache(request: Request) -> LRUCache | None:
    """The app's cache of retrieval-only answers (None when RECAGENTS_API_CACHE_SIZE=0). Only
    the event loop touches it."""
    state = request.app.state
    cache: LRUCache | Literal[False] | None = getattr(state, "answer_cache", None)
    if cache is None:
        size = state.settings.api_cache_size
        cache = LRUCache(maxsize=size) if size else False
        state.answer_cache = cache
    return None if cache is False else cache  # (an empty LRUCache is falsy)


async def answer(
    request: Request,
    resources: AppResources,
    build: Callable[[], tuple[RecRequest, adapters.IdOut]],
    llm: bool,
    timeout_s: float | None,
    cache_key: tuple | None = None,
) -> RecommendResponse:
    """Build the ARAG request and answer it, all in a worker thread: the default pool without
    the LLM, the LLM's own pool (with its deadline) with it. Without the LLM the answer is a
    function of the request and the read-only stores: ``cache_key`` (everything the route
    read from the request) finds a previous one (``usage.cached``)."""
    ctx = resources.services

    def work() -> RecommendResponse:
        req, out = build()
        handle = resources.get_llm() if llm else None
        config = agents_config(request, req.k, llm=llm)
        result = adapters.run_agents(ctx, req, handle, config)
        return adapters.recommend_response(ctx, result, out)

    if llm:
        return await run_llm_work(request, work, timeout_s)
    cache = answer_cache(request)
    key = None
    if cache is not None and cache_key is not None:
        key = (*cache_key, id(base_agents_config(request)))
        if (hit := cache.get(key)) is not None:
            return hit.model_copy(update={"usage": hit.usage.model_copy(update={"cached": True})})
    result = await run_bounded(request, work)
    if cache is not None and key is not None:
        cache[key] = result
    return result
