"""``GET /healthz``: the stores, the model and the LLM backend, each with its status (open: no
token needed). Never starts the LLM nor loads a part that no request has used yet."""

from __future__ import annotations

from fastapi import APIRouter, Response

from recagents.api import services
from recagents.api.deps import Resources
from recagents.api.errors import ApiRoute
from recagents.api.schemas import HealthOut

router = APIRouter(tags=["health"], route_class=ApiRoute)


@router.get(
    "/healthz",
    responses={503: {"model": HealthOut, "description": "A store cannot be read."}},
)
def healthz(resources: Resources, response: Response) -> HealthOut:
    """`ok`; `degraded` when the LLM is down or misconfigured (retrieval still answers);
    `error` (503) when a store or the model cannot be read."""
    health = services.health(resources)
    if health.status == "error":
        response.status_code = 503
    return health
