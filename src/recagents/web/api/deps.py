"""What the routes depend on: the shared resources, the bearer-token check, the agents' knobs and
the runner that keeps LLM work off the event loop.

Auth (``require_token``): tokens come from ``RECAGENTS_API_TOKENS`` (comma-separated). With
tokens set, every API request needs ``Authorization: Bearer <token>`` (401 without, 403 with a
wrong one). Without tokens the API is open on a loopback address only; a server listening
elsewhere (``app.state.bind_host``) without tokens answers 401 saying to set them
(``recagents serve`` refuses to start that way in the first place).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from recagents.agents.config import AgentsConfig
from recagents.agents.state import MAX_AGENT_K
from recagents.resources import AppResources
from recagents.settings import Settings
from recagents.web.api.errors import LLMDeadlineError, WorkDeadlineError
from recagents.web.api.schemas import AsciiInt

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
READ, PERSONAL = "read", "personal"  # token scopes: the catalogue and recommendations / users


@dataclass(frozen=True)
class Principal:
    """Who is asking: the scopes of the token (``key``: a digest of it, for the rate limits;
    None without tokens, on loopback)."""

    scopes: frozenset[str]
    key: str | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


OPEN = Principal(frozenset({READ, PERSONAL}))  # loopback without tokens: a single local user


def _split(secret: SecretStr | None) -> list[str]:
    raw = secret.get_secret_value() if secret is not None else ""
    return [t.strip() for t in raw.split(",") if t.strip()]


def configured_tokens(settings: Settings) -> list[str]:
    """Every configured token, whatever its scopes."""
    return _split(settings.api_tokens) + _split(settings.api_personal_tokens)


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


def _matches(given: bytes, tokens: list[str]) -> bool:
    found = False
    for token in tokens:  # every token is compared: the time does not say which one matched
        found |= secrets.compare_digest(given, token.encode())
    return found


def authenticate(request: Request) -> Principal:
    """The caller's principal from the ``Authorization`` header, or 401/403 (``HTTPException``).
    Reads headers only: ``ApiRoute`` calls it before the body is read."""
    settings: Settings = request.app.state.settings
    read, personal = _split(settings.api_tokens), _split(settings.api_personal_tokens)
    host = getattr(request.app.state, "bind_host", None)
    if not read and not personal:
        if is_loopback(host):
            return OPEN
        raise _unauthorized(
            f"this server listens on {host!r} (not loopback) and no API tokens are configured: "
            "set RECAGENTS_API_TOKENS=token1,token2 and send 'Authorization: Bearer <token>'"
        )
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    given = credentials.encode()
    key = hashlib.sha256(given).hexdigest()[:16]
    if _matches(given, personal):
        return Principal(frozenset({READ, PERSONAL}), key)
    if _matches(given, read):
        return Principal(frozenset({READ}), key)
    raise HTTPException(403, detail="invalid token: not one of RECAGENTS_API_TOKENS")


async def require_token(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """The caller (``ApiRoute`` authenticated it before reading the body); declared on every
    protected route, which also documents the bearer scheme in the OpenAPI schema."""
    principal = getattr(request.state, "principal", None)
    return principal if principal is not None else authenticate(request)


Caller = Annotated[Principal, Security(require_token)]


def optional_principal(request: Request) -> Principal | None:
    """The caller if the request carries valid credentials (or needs none), else None."""
    try:
        return authenticate(request)
    except HTTPException:
        return None


# --- rate limits (per token) --------------------------------------------------------------------
class RateLimits:
    """Per-token request limits (``limits``' moving windows, in memory: one process)."""

    def __init__(self, settings: Settings) -> None:
        from limits import parse_many
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rules = {
            "requests": parse_many(settings.api_rate_limit),
            "profiles": parse_many(settings.api_personal_rate_limit),
        }
        self._text = {
            "requests": settings.api_rate_limit,
            "profiles": settings.api_personal_rate_limit,
        }

    def hit(self, kind: str, principal: Principal) -> None:
        """Count one ``kind`` ("requests", "profiles") for the token; over a limit: 429."""
        if principal.key is None:
            return
        for rule in self._rules[kind]:
            if not self._limiter.hit(rule, kind, principal.key):
                reset = self._limiter.get_window_stats(rule, kind, principal.key).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise HTTPException(
                    429,
                    detail=f"rate limit of this token exceeded ({self._text[kind]} {kind}): "
                    f"retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )


def rate_limits(request: Request) -> RateLimits:
    state = request.app.state
    limits = getattr(state, "rate_limits", None)
    if limits is None:
        limits = state.rate_limits = RateLimits(state.settings)
    return limits


# --- the agents and the LLM -------------------------------------------------------------------
def base_agents_config(request: Request) -> AgentsConfig:
    """``app.state.agents_config`` (tests set a small one), else the configured one."""
    state = request.app.state
    config = getattr(state, "agents_config", None)
    if config is None:
        config = state.agents_config = AgentsConfig.load(state.settings)
    return config


def agents_config(request: Request, limit: int, *, llm: bool) -> AgentsConfig:
    """``app.state.agents_config`` (tests set a small one) or the configured one, with a pool
    at least ``limit`` large (the agents choose ``limit`` items among the pool). Without the
    LLM, the neighbours' favourites (read only by the agents' prompts) are not looked up: the
    same answer, a little sooner."""
    config = base_agents_config(request)
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
LimitOverride = Annotated[
    AsciiInt | None,
    Query(ge=1, le=MAX_AGENT_K, description="How many items (agentic_rec's query parameter)."),
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


async def run_bounded(request: Request, work: Callable[[], T]) -> T:
    """``work()`` (non-LLM: catalogue, retrieval) in a worker thread, within
    ``RECAGENTS_API_DEADLINE_S``: past it, 504 (the thread's answer is dropped)."""
    deadline = request.app.state.settings.api_deadline_s
    result: Any = None
    with anyio.move_on_after(deadline) as scope:
        result = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    if scope.cancelled_caught:
        raise WorkDeadlineError(
            f"the request's work did not finish within {deadline:g} s (RECAGENTS_API_DEADLINE_S)"
        )
    return result
