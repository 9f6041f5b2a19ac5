"""What the routes depend on: the shared resources, the bearer-token check, the agents' knobs and
the runner that keeps LLM work off the event loop.

Auth (``require_token``): tokens come from ``RECAGENTS_API_TOKENS`` (comma-separated). With
tokens set, every API request needs ``Authorization: Bearer <token>`` (401 without, 403 with a
wrong one). Without tokens the API is open on a loopback address only; a server listening
elsewhere (``app.state.bind_host``) without tokens answers 401 saying to set them
(``recagents serve`` refuses to start that way in the first place).
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from recagents.agents.config import AgentsConfig
from recagents.api.errors import LLMDeadlineError
from recagents.app.resources import AppResources
from recagents.settings import Settings

T = TypeVar("T")

LLM_CONCURRENCY = 4  # LLM requests worked on at once; more wait (within their deadline)
DEADLINE_ROUNDS = 5  # default deadline: this many LLM timeouts (ARAG has ≤ 5 sequential rounds)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="One of the tokens in RECAGENTS_API_TOKENS (comma-separated). Not needed on a "
    "loopback address when no tokens are configured.",
)


def get_resources(request: Request) -> AppResources:
    return request.app.state.resources


Resources = Annotated[AppResources, Depends(get_resources)]


# --- auth --------------------------------------------------------------------------------------
def configured_tokens(settings: Settings) -> list[str]:
    secret = settings.api_tokens
    raw = secret.get_secret_value() if secret is not None else ""
    return [t.strip() for t in raw.split(",") if t.strip()]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> None:
    tokens = configured_tokens(request.app.state.settings)
    host = getattr(request.app.state, "bind_host", None)
    if not tokens:
        if is_loopback(host):
            return
        raise _unauthorized(
            f"this server listens on {host!r} (not loopback) and no API tokens are configured: "
            "set RECAGENTS_API_TOKENS=token1,token2 and send 'Authorization: Bearer <token>'"
        )
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    given = credentials.credentials.encode()
    if not any(secrets.compare_digest(given, t.encode()) for t in tokens):
        raise HTTPException(403, detail="invalid token: not one of RECAGENTS_API_TOKENS")


# --- the agents and the LLM -------------------------------------------------------------------
def agents_config(request: Request, limit: int, *, llm: bool) -> AgentsConfig:
    """``app.state.agents_config`` (tests set a small one) or the configured one, with a pool
    at least ``limit`` large (the agents choose ``limit`` items among the pool). Without the
    LLM, the neighbours' favourites (read only by the agents' prompts) are not looked up: the
    same answer, a little sooner."""
    state = request.app.state
    config = getattr(state, "agents_config", None)
    if config is None:
        config = state.agents_config = AgentsConfig.load(state.settings)
    update: dict = {}
    if config.retrieval.pool_size < limit:
        update["retrieval"] = config.retrieval.model_copy(update={"pool_size": limit})
    if not llm and config.user_understanding.neighbour_items:
        uu = config.user_understanding.model_copy(update={"neighbour_items": 0})
        update["user_understanding"] = uu
    return config.model_copy(update=update) if update else config


UseLLM = Annotated[
    bool,
    Query(
        description="false: retrieval only (BPR, plot search, Swing; template explanations), "
        "answered in milliseconds without the LLM."
    ),
]
TimeoutS = Annotated[
    float | None,
    Query(
        gt=0,
        le=3600,
        description="Longest wait for the LLM work in seconds (then 504). Default: "
        f"{DEADLINE_ROUNDS} × RECAGENTS_LLM_TIMEOUT_S.",
    ),
]


def _llm_limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter = getattr(state, "llm_limiter", None)
    if limiter is None:  # created in the loop (anyio needs one); one per app
        limiter = state.llm_limiter = anyio.CapacityLimiter(LLM_CONCURRENCY)
    return limiter


async def run_llm_work(request: Request, work: Callable[[], T], timeout_s: float | None) -> T:
    """``work()`` in a worker thread of the LLM's own pool (the event loop and the threads of
    the other routes stay free), within a deadline: past it, 504 (the thread finishes on its
    own; its answer is dropped)."""
    settings: Settings = request.app.state.settings
    deadline = timeout_s or DEADLINE_ROUNDS * settings.llm_timeout_s
    result: Any = None
    with anyio.move_on_after(deadline) as scope:
        result = await anyio.to_thread.run_sync(
            work, limiter=_llm_limiter(request), abandon_on_cancel=True
        )
    if scope.cancelled_caught:
        raise LLMDeadlineError(f"the LLM work did not finish within {deadline:g} s")
    return result
