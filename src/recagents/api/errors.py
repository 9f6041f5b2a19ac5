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

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from recagents.api.schemas import ErrorBody
from recagents.errors import (
    BackendUnavailableError,
    EmptyResultError,
    InvalidArgumentError,
    NotBuiltError,
    NotFoundError,
    RecagentsError,
)
from recagents.llm.failures import LLMConfigError


class LLMDeadlineError(BackendUnavailableError):
    """The LLM work of one request ran past its deadline (``timeout_s``)."""


class LLMDownError(BackendUnavailableError):
    """The agents could not reach the LLM (unreachable, or a call timed out)."""


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


class ApiRoute(APIRoute):
    """An ``APIRoute`` whose handler answers our domain errors (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RecagentsError as exc:
                return error_response(exc)

        return handle


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes a route can answer."""
    what = {
        400: "The body could not be parsed (e.g. not UTF-8).",
        401: "No token, or the server is not configured for tokens (RECAGENTS_API_TOKENS).",
        403: "The token is not one of RECAGENTS_API_TOKENS.",
        404: "Unknown user, item, genre or person.",
        500: "An unexpected failure of ours.",
        503: "The LLM (or a store) is unavailable; with ?llm=false the route still answers.",
        504: "The LLM did not finish within the request's deadline (timeout_s).",
    }
    return {code: {"model": ErrorBody, "description": what[code]} for code in codes}
