"""``GET /healthz``: ``ok`` / ``degraded`` / ``error`` for anyone; the stores, the model and the
LLM backend, each with its status and details, only for a caller the API would serve (a valid
token, or loopback without tokens). Never starts the LLM nor loads a part that no request has
used yet."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from recagents.web.api import adapters
from recagents.web.api.deps import Resources, optional_principal
from recagents.web.api.errors import ApiRoute
from recagents.web.api.schemas import HealthOut

router = APIRouter(tags=["health"], route_class=ApiRoute)


@router.get(
    "/healthz",
    response_model_exclude_none=True,
    responses={503: {"model": HealthOut, "description": "A store cannot be read."}},
)
def healthz(request: Request, resources: Resources, response: Response) -> HealthOut:
    """`ok`; `degraded` when the LLM is down or misconfigured (retrieval still answers);
    `error` (503) when a store or the model cannot be read. `components` (paths, database,
    model, LLM backend) only with a valid bearer token (or on loopback without tokens)."""
    health = adapters.health(resources)
    if health.status == "error":
        response.status_code = 503
    if optional_principal(request) is None:
        return HealthOut(status=health.status)
    return health
