"""``GET /users/{id}`` (profile and history) and ``POST /users/{id}/recommend``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Security

from recagents.assistant.policy import user_fields_allowed
from recagents.services.requests import MAX_INTERACTIONS
from recagents.web.api import adapters
from recagents.web.api.answers import answer
from recagents.web.api.deps import (
    PERSONAL,
    Caller,
    LimitOverride,
    Resources,
    TimeoutS,
    UseLLM,
    rate_limits,
    require_token,
    run_bounded,
)
from recagents.web.api.errors import ApiRoute, responses
from recagents.web.api.schemas import (
    MAX_ID,
    AsciiInt,
    RecommendResponse,
    UserOut,
    UserRecommendBody,
)

router = APIRouter(
    prefix="/users",
    tags=["users"],
    route_class=ApiRoute,
    dependencies=[Security(require_token)],
    responses=responses(400, 401, 403, 404, 413, 429, 500, 504),
)

UserId = Annotated[AsciiInt, Path(ge=1, le=MAX_ID, description="MovieLens user id (1-943).")]


@router.get("/{user_id}")
async def get_user(
    request: Request,
    user_id: UserId,
    resources: Resources,
    caller: Caller,
    history_limit: Annotated[
        AsciiInt,
        Query(ge=0, le=MAX_INTERACTIONS, description="How many recent ratings to list."),
    ] = 50,
    dates: Annotated[
        bool, Query(description="Give each rating's date (needs the `personal` scope).")
    ] = False,
    zip_code: Annotated[
        bool, Query(description="Give the zip code (needs the `personal` scope).")
    ] = False,
) -> UserOut:
    """The user's ratings (most recent, oldest first; `n_ratings` counts all) and, for a token
    with the `personal` scope, the demographics and a one-line `text`; rating dates and the
    zip code only where asked (`?dates=true`, `?zip_code=true`). A `read` token gets the
    ratings without dates and `null` personal fields; asking it for dates or the zip code is
    403. Profile reads are rate-limited per token (RECAGENTS_API_PERSONAL_RATE_LIMIT). Ids are
    strings, as in agentic_rec."""
    personal = caller.allows(PERSONAL)
    if (dates or zip_code) and not personal:
        raise HTTPException(
            403,
            detail="rating dates and zip codes need a token with the personal scope "
            "(RECAGENTS_API_PERSONAL_TOKENS)",
        )
    rate_limits(request).hit("profiles", caller)
    fields = user_fields_allowed(personal_scope=personal, asks_zip=zip_code)
    ctx = resources.services

    def work() -> UserOut:
        ctx.store.require_user(user_id)
        return adapters.user_out(ctx, user_id, str, history_limit, fields=fields, dates=dates)

    return await run_bounded(request, work)


@router.post("/{user_id}/recommend", responses=responses(503, 504))
async def recommend_for_user(
    request: Request,
    user_id: UserId,
    resources: Resources,
    body: Annotated[UserRecommendBody | None, Body()] = None,
    limit: LimitOverride = None,
    llm: UseLLM = True,
    timeout_s: TimeoutS = None,
) -> RecommendResponse:
    """Recommendations for a known user (agentic_rec: no body, `?limit=`); the optional body
    adds text, the current query and filters. Ids are strings, as in agentic_rec."""
    body = body or UserRecommendBody()

    def build():
        req = adapters.user_request(
            resources.services,
            user_id,
            text=body.text,
            query=body.query,
            limit=limit or body.limit,
            filters=body.filters,
        )
        return req, str

    key = ("user", user_id, body.model_dump_json(), limit)
    return await answer(request, resources, build, llm, timeout_s, cache_key=key)
