"""``POST /recommend`` (alias ``/recommend/user``) and ``POST /recommend/item``: agentic_rec's
routes, answered by the ARAG agents (``?llm=false``: retrieval only, in milliseconds)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Security

from recagents.agents import RecRequest
from recagents.web.api import adapters
from recagents.web.api.answers import answer
from recagents.web.api.deps import Resources, TimeoutS, UseLLM, require_token
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
        lambda: (adapters.recommend_request(body), adapters.body_id_type(body)),
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

    def build() -> tuple[RecRequest, adapters.IdOut]:
        item_id = None if body.item_id is None else int(body.item_id)
        req = adapters.similar_request(
            ctx,
            item_id,
            text=body.text,
            history=body.history,
            limit=body.limit,
            filters=body.filters,
        )
        return req, adapters.body_id_type(body)

    key = ("item", body.model_dump_json())
    return await answer(request, resources, build, llm, timeout_s, cache_key=key)
