"""``POST /recommend`` (alias ``/recommend/user``) and ``POST /recommend/item``: agentic_rec's
routes, answered by the ARAG agents (``?llm=false``: retrieval only, in milliseconds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from cachetools import LRUCache
from fastapi import APIRouter, Body, Request, Security

from recagents.agents import RecRequest
from recagents.resources import AppResources
from recagents.web.api import services
from recagents.web.api.deps import (
    Resources,
    TimeoutS,
    UseLLM,
    agents_config,
    base_agents_config,
    require_token,
    run_bounded,
    run_llm_work,
)
from recagents.web.api.errors import ApiRoute, responses
from recagents.web.api.schemas import (
    ITEM_EXAMPLES,
    RECOMMEND_EXAMPLES,
    ItemRecommendBody,
    RecommendBody,
    RecommendResponse,
)

router = APIRouter(
    tags=["recommend"],
    route_class=ApiRoute,
    dependencies=[Security(require_token)],
    responses=responses(400, 401, 403, 404, 413, 429, 500, 503, 504),
)


def answer_cache(request: Request) -> LRUCache | None:
    """The app's cache of retrieval-only answers (None when RECAGENTS_API_CACHE_SIZE=0). Only
    the event loop touches it."""
    state = request.app.state
    cache = getattr(state, "answer_cache", None)
    if cache is None:
        size = state.settings.api_cache_size
        cache = state.answer_cache = LRUCache(maxsize=size) if size else False
    return None if cache is False else cache  # (an empty LRUCache is falsy)


async def answer(
    request: Request,
    resources: AppResources,
    build: Callable[[], tuple[RecRequest, services.IdOut]],
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
        result = services.run_agents(ctx, req, handle, config)
        return services.recommend_response(ctx, result, out)

    if llm:
        return await run_llm_work(request, work, timeout_s)
    cache = answer_cache(request)
    key = None
    if cache is not None and cache_key is not None:
        key = (*cache_key, id(base_agents_config(request)))
        if (hit := cache.get(key)) is not None:
            return hit.model_copy(update={"usage": {**hit.usage, "cached": True}})
    result = await run_bounded(request, work)
    if key is not None:
        cache[key] = result
    return result


@router.post("/recommend")
@router.post("/recommend/user")
async def recommend(
    request: Request,
    resources: Resources,
    body: Annotated[RecommendBody, Body(openapi_examples=RECOMMEND_EXAMPLES)],
    llm: UseLLM = True,
    timeout_s: TimeoutS = None,
) -> RecommendResponse:
    """Ranked, explained, unseen items for a known user (`user_id`) or a cold start (`text`
    and/or `history`; neither: popular items). 404 for an unknown `user_id` without text or
    history (with them, the request is a cold start)."""
    return await answer(
        request,
        resources,
        lambda: (services.recommend_request(body), services.body_id_type(body)),
        llm,
        timeout_s,
        cache_key=("recommend", body.model_dump_json()),
    )


@router.post("/recommend/item")
async def recommend_item(
    request: Request,
    resources: Resources,
    body: Annotated[ItemRecommendBody, Body(openapi_examples=ITEM_EXAMPLES)],
    llm: UseLLM = True,
    timeout_s: TimeoutS = None,
) -> RecommendResponse:
    """Items similar to an item (`item_id`, never returned itself), to free text, or to a short
    history. 404 for an unknown `item_id`."""
    ctx = resources.services

    def build() -> tuple[RecRequest, services.IdOut]:
        item_id = None if body.item_id is None else int(body.item_id)
        req = services.similar_request(
            ctx,
            item_id,
            text=body.text,
            history=body.history,
            limit=body.limit,
            filters=body.filters,
        )
        return req, services.body_id_type(body)

    key = ("item", body.model_dump_json())
    return await answer(request, resources, build, llm, timeout_s, cache_key=key)
