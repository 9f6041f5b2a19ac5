"""``GET /items/{id}`` (metadata and text) and ``POST /items/{id}/recommend`` (similar items)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Security

from recagents.web.api import adapters
from recagents.web.api.answers import answer
from recagents.web.api.deps import (
    LimitOverride,
    Resources,
    TimeoutS,
    UseLLM,
    require_token,
    run_bounded,
)
from recagents.web.api.errors import ApiRoute, responses
from recagents.web.api.schemas import MAX_ID, AsciiInt, ItemOut, RecommendResponse, SimilarBody

router = APIRouter(
    prefix="/items",
    tags=["items"],
    route_class=ApiRoute,
    dependencies=[Security(require_token)],
    responses=responses(400, 401, 403, 404, 413, 429, 500, 504),
)

ItemId = Annotated[AsciiInt, Path(ge=1, le=MAX_ID, description="MovieLens item id (1-1682).")]


@router.get("/{item_id}")
async def get_item(request: Request, item_id: ItemId, resources: Resources) -> ItemOut:
    """The item's metadata; `text` is its description (plot). Ids are strings, as in
    agentic_rec. (Pages are kept in memory once read: the catalogue is read-only; a first read
    goes to the store in a worker thread.)"""
    ctx = resources.services
    if (hit := adapters.cached_item(ctx, item_id, str)) is not None:
        return hit
    return await run_bounded(request, lambda: adapters.item_out(ctx, item_id, str))


@router.post("/{item_id}/recommend", responses=responses(503, 504))
async def recommend_similar(
    request: Request,
    item_id: ItemId,
    resources: Resources,
    body: Annotated[SimilarBody | None, Body()] = None,
    limit: LimitOverride = None,
    llm: UseLLM = True,
    timeout_s: TimeoutS = None,
) -> RecommendResponse:
    """Items similar to this one (never itself), like `POST /recommend/item` with `item_id`.
    Ids are strings, as in agentic_rec."""
    body = body or SimilarBody()

    def build():
        req = adapters.similar_request(
            resources.services,
            item_id,
            text=body.text,
            history=[],
            limit=limit or body.limit,
            filters=body.filters,
        )
        return req, str

    key = ("similar", item_id, body.model_dump_json(), limit)
    return await answer(request, resources, build, llm, timeout_s, cache_key=key)
