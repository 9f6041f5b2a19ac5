"""``GET /users/{id}`` (profile and history) and ``POST /users/{id}/recommend``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Security

from recagents.agents.state import MAX_AGENT_K
from recagents.api import services
from recagents.api.deps import Resources, TimeoutS, UseLLM, require_token
from recagents.api.errors import ApiRoute, responses
from recagents.api.routers.recommend import answer
from recagents.api.schemas import MAX_ID, RecommendResponse, UserOut, UserRecommendBody
from recagents.services.requests import MAX_INTERACTIONS

router = APIRouter(
    prefix="/users",
    tags=["users"],
    route_class=ApiRoute,
    dependencies=[Security(require_token)],
    responses=responses(400, 401, 403, 404, 500),
)

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="MovieLens user id (1-943).")]
LimitOverride = Annotated[
    int | None,
    Query(ge=1, le=MAX_AGENT_K, description="How many items (agentic_rec's query parameter)."),
]


@router.get("/{user_id}")
def get_user(
    user_id: UserId,
    resources: Resources,
    history_limit: Annotated[
        int, Query(ge=0, le=MAX_INTERACTIONS, description="How many recent ratings to list.")
    ] = 50,
) -> UserOut:
    """The user's demographics, a one-line `text`, and the most recent ratings (oldest first;
    `n_ratings` counts all). Ids are strings, as in agentic_rec."""
    resources.services.store.require_user(user_id)
    return services.user_out(resources.services, user_id, str, history_limit)


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
        req = services.user_request(
            resources.services,
            user_id,
            text=body.text,
            query=body.query,
            limit=limit or body.limit,
            filters=body.filters,
        )
        return req, str

    return await answer(request, resources, build, llm, timeout_s)
