"""Domain errors → HTTP answers, for the API's routes only.

``ApiRoute`` (every API router's ``route_class``) turns a ``RecagentsError`` raised by a route or
its dependencies into a JSON answer, so the handlers need no app-level registration and never
touch the chat UI mounted beside the API:

- ``NotFoundError`` (unknown user, item, genre, person) → 404 ``{"detail", "code"}``;
- ``InvalidArgumentError`` / ``EmptyResultError`` (a valid body the catalogue cannot satisfy) →
  422 in FastAPI's own validation-error shape (``{"detail": [{"loc", "msg", "type"}]}``);
- the LLM past the request's deadline → 504; the LLM unreachable, failed or timing out inside
  the agents → 503 (``?llm=false`` still answers); a store not built → 503;
- anything else of ours → 500 with its message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from recagents.errors import (
    BackendUnavailableError,
    EmptyResultError,
    InvalidArgumentError,
    NotBuiltError,
    NotFoundError,
    RecagentsError,
)
from recagents.llm.failures import LLMConfigError
from recagents.web.api.schemas import ErrorBody

log = logging.getLogger(__name__)


class LLMDeadlineError(BackendUnavailableError):
    """The LLM work of one request ran past its deadline (``timeout_s``)."""


class LLMDownError(BackendUnavailableError):
    """The agents could not reach the LLM (unreachable, or a call timed out)."""


class WorkDeadlineError(RecagentsError):
    """The non-LLM work of one request ran past ``RECAGENTS_API_DEADLINE_S``."""


RETRY_HINT = "retry later, or add ?llm=false for retrieval only (milliseconds)"


def _error(status: int, message: str, code: str, data: Any = None) -> JSONResponse:
    body = ErrorBody(detail=message, code=code, data=data).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status)


def _unprocessable(message: str, data: Any = None) -> JSONResponse:
    entry: dict[str, Any] = {"loc": ["body"], "msg": message, "type": "value_error"}
    if data is not None:
        entry["ctx"] = {"data": data}
    return JSONResponse({"detail": [entry]}, status_code=422)


def error_response(exc: RecagentsError) -> JSONResponse:
    """The HTTP answer for one of our errors."""
    message = str(exc)
    if isinstance(exc, NotFoundError):
        return _error(404, message, "not_found")
    if isinstance(exc, InvalidArgumentError):
        return _unprocessable(message)
    if isinstance(exc, EmptyResultError):
        return _unprocessable(message, exc.data)
    if isinstance(exc, LLMDeadlineError):
        return _error(504, f"{message}: {RETRY_HINT}", "llm_timeout")
    if isinstance(exc, WorkDeadlineError):
        return _error(504, message, "deadline")
    if isinstance(exc, LLMDownError):
        return _error(503, f"{message}: {RETRY_HINT}", "llm_unavailable")
    if isinstance(exc, BackendUnavailableError):
        timed_out = getattr(exc, "setting", None) == "RECAGENTS_LLM_TIMEOUT_S"
        if timed_out:
            return _error(504, f"{message}; {RETRY_HINT}", "llm_timeout")
        return _error(503, message, "backend_unavailable")
    if isinstance(exc, NotBuiltError):
        return _error(503, message, "not_built")
    if isinstance(exc, LLMConfigError):
        return _error(503, message, "llm_config")
    return _error(500, message, "internal")


class StrictJSONRequest(Request):
    """A request whose JSON body is parsed by orjson: strict RFC 8259, so ``NaN``/``Infinity``
    literals, lone surrogates (``"\\ud800"``) and numbers beyond a double are a 422
    ("JSON decode error", as FastAPI answers any malformed JSON), never a value that fails later
    when it is echoed or encoded."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class ApiRoute(APIRoute):
    """An ``APIRoute`` that, before FastAPI reads the body, authenticates the caller (routes
    that declare ``require_token``: 401/403 on headers alone) and counts the token's rate
    limit (429); refuses a body over ``RECAGENTS_API_MAX_BODY_BYTES`` (413, ``limited_receive``);
    parses JSON strictly (``StrictJSONRequest``); and answers our domain errors (see the module
    doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        from recagents.web.api.deps import authenticate, rate_limits, require_token

        handler = super().get_route_handler()
        protected = any(d.dependency is require_token for d in self.dependencies)

        async def handle(request: Request) -> Response:
            if protected:
                principal = authenticate(request)  # headers only: the body is still unread
                request.state.principal = principal
                rate_limits(request).hit("requests", principal)
            limit = request.app.state.settings.api_max_body_bytes
            receive = limited_receive(request, limit)
            strict = StrictJSONRequest(request.scope, receive, request._send)
            try:
                return await handler(strict)
            except RecagentsError as exc:
                return error_response(exc)

        return handle


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        413, detail=f"the body is larger than {limit} bytes (RECAGENTS_API_MAX_BODY_BYTES)"
    )


def limited_receive(request: Request, limit: int) -> Receive:
    """The request's ``receive``, refusing a body over ``limit`` bytes with a JSON 413: at once
    when ``Content-Length`` says so, else as soon as the chunks read add up past it (nothing
    more is read). Starlette's ``RequestBodyLimitMiddleware`` answers in plain text."""
    length = request.headers.get("content-length", "")
    if length and (not length.isascii() or not length.isdigit() or int(length) > limit):
        raise _too_large(limit)
    receive, total = request.receive, 0

    async def counted() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise _too_large(limit)
        return message

    return counted


def _safe(value: Any, limit: int = 200) -> Any:
    """A JSON-safe, short copy of a location part or message (no lone surrogates)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value if value == value and abs(value) != float("inf") else str(value)
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "…"


async def validation_error_handler(_request: Request, exc: RequestValidationError) -> Response:
    """422 ``{"detail": [{"loc", "msg", "type"}]}`` without the input it failed on: an echo
    could be huge, or not encodable at all (NaN, a lone surrogate) and turn a 422 into a 500."""
    detail = []
    for err in exc.errors()[:20]:
        msg = _safe(err.get("msg", ""), 500)
        if err.get("type") == "json_invalid" and isinstance(err.get("ctx"), dict):
            msg = f"{msg}: {_safe(err['ctx'].get('error', ''))}"
        loc = [_safe(part) for part in err.get("loc", ())][:10]
        detail.append({"loc": loc, "msg": msg, "type": _safe(err.get("type", ""))})
    return JSONResponse({"detail": detail}, status_code=422)


async def internal_error_handler(_request: Request, exc: Exception) -> Response:
    """Anything unexpected: 500 in JSON (the traceback goes to the server log)."""
    log.error("unhandled %s in an API request", type(exc).__name__, exc_info=exc)
    return _error(500, "internal error (logged on the server)", "internal")


def install_error_handlers(app: FastAPI) -> None:
    app.exception_handler(RequestValidationError)(validation_error_handler)
    app.add_exception_handler(Exception, internal_error_handler)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes a route can answer."""
    what = {
        400: "The body could not be parsed (e.g. not UTF-8).",
        413: "The body is larger than RECAGENTS_API_MAX_BODY_BYTES.",
        429: "This token's rate limit (RECAGENTS_API_RATE_LIMIT) is exceeded; see Retry-After.",
        401: "No token, or the server is not configured for tokens (RECAGENTS_API_TOKENS).",
        403: "The token is not one of RECAGENTS_API_TOKENS.",
        404: "Unknown user, item, genre or person.",
        500: "An unexpected failure of ours.",
        503: "The LLM (or a store) is unavailable; with ?llm=false the route still answers.",
        504: "The LLM (timeout_s) or the other work (RECAGENTS_API_DEADLINE_S) ran too long.",
    }
    return {code: {"model": ErrorBody, "description": what[code]} for code in codes}
