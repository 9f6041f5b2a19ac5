"""LLM failures → one clear message naming the provider and the setting to fix.

``explain_failure`` turns the exceptions of the OpenAI client, the Ollama client and httpx into
``RecagentsError`` subclasses; ``call_with_retries`` retries transient
failures a bounded number of times with exponential backoff, on tenacity (OpenAI-style clients
retry by themselves, see the factory).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import openai
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from recagents.errors import BackendUnavailableError, RecagentsError

log = logging.getLogger(__name__)
T = TypeVar("T")


class LLMUnavailableError(BackendUnavailableError):
    """The LLM endpoint cannot be reached, timed out, or failed on the server side."""

    def __init__(self, message: str, *, backend: str, setting: str | None = None):
        super().__init__(message)
        self.backend = backend
        self.setting = setting


class LLMConfigError(RecagentsError):
    """The LLM is misconfigured: missing or bad key, unknown model, missing base URL."""

    def __init__(self, message: str, *, backend: str, setting: str | None = None):
        super().__init__(message)
        self.backend = backend
        self.setting = setting


class StructuredOutputError(RecagentsError):
    """The model gave no schema-valid answer within the allowed attempts."""

    def __init__(self, message: str, *, attempts: int, last_output: str | None = None):
        super().__init__(message)
        self.attempts = attempts
        self.last_output = last_output


_URL_SETTING = {
    "openai": "RECAGENTS_LLM_PROVIDER (network access to api.openai.com)",
    "openai-compatible": "RECAGENTS_LLM_BASE_URL",
    "ollama": "RECAGENTS_OLLAMA_BASE_URL",
    "local": "RECAGENTS_LOCAL_MODEL / RECAGENTS_LOCAL_START_TIMEOUT_S",
}
_KEY_SETTING = {"openai": "RECAGENTS_OPENAI_API_KEY", "openai-compatible": "RECAGENTS_LLM_API_KEY"}
_MODEL_SETTING = {
    "openai": "RECAGENTS_LLM_MODEL",
    "openai-compatible": "RECAGENTS_LLM_MODEL",
    "ollama": "RECAGENTS_OLLAMA_MODEL",
    "local": "RECAGENTS_LOCAL_MODEL",
}


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explain_failure(
    exc: BaseException,
    *,
    backend: str,
    model: str,
    base_url: str | None,
    timeout_s: float | None = None,
) -> RecagentsError | None:
    """The clear error for ``exc``, or None when ``exc`` is not an LLM transport/API failure."""
    if isinstance(exc, RecagentsError):
        return exc
    where = f"{backend} LLM ({model} at {base_url or 'default endpoint'})"
    if isinstance(exc, openai.LengthFinishReasonError):
        return StructuredOutputError(
            f"{where} hit its output limit before the answer was complete: raise "
            "RECAGENTS_LLM_MAX_TOKENS or ask for less",
            attempts=1,
        )
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return LLMUnavailableError(
            f"{where} did not answer within {timeout_s or '?'} s: raise RECAGENTS_LLM_TIMEOUT_S, "
            "shorten the request, or choose a faster model",
            backend=backend,
            setting="RECAGENTS_LLM_TIMEOUT_S",
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        setting = _KEY_SETTING.get(backend, "RECAGENTS_LLM_API_KEY")
        return LLMConfigError(
            f"{where} rejected the API key ({_short(exc, 160)}): set {setting}",
            backend=backend,
            setting=setting,
        )
    if isinstance(exc, openai.NotFoundError):
        setting = _MODEL_SETTING[backend]
        return LLMConfigError(
            f"{where}: model {model!r} or endpoint not found ({_short(exc, 160)}): set {setting} "
            "to a model the server lists, and check that the base URL ends in /v1",
            backend=backend,
            setting=setting,
        )
    if isinstance(exc, openai.RateLimitError):
        return LLMUnavailableError(
            f"{where} refused the request for rate limit or quota ({_short(exc, 160)}): wait, "
            "or check the account's quota",
            backend=backend,
        )
    if isinstance(exc, openai.BadRequestError):
        return LLMConfigError(
            f"{where} rejected the request ({_short(exc)}): if the prompt is too long, raise the "
            "context (RECAGENTS_LOCAL_CTX_SIZE / RECAGENTS_OLLAMA_NUM_CTX) or shorten it",
            backend=backend,
        )
    if isinstance(exc, openai.APIConnectionError | httpx.ConnectError | ConnectionError):
        setting = _URL_SETTING[backend]
        hint = {
            "ollama": "start it with `ollama serve`, or set RECAGENTS_OLLAMA_BASE_URL",
            "local": "the embedded server stopped; its log is under <data_dir>/logs",
        }.get(backend, f"check {setting}")
        return LLMUnavailableError(
            f"{where} is unreachable ({_short(exc, 160)}): {hint}", backend=backend, setting=setting
        )
    if isinstance(exc, openai.APIStatusError):
        return LLMUnavailableError(
            f"{where} failed with HTTP {exc.status_code} ({_short(exc, 200)})", backend=backend
        )
    try:  # the Ollama client raises its own error type for HTTP errors
        from ollama import ResponseError
    except ImportError:  # pragma: no cover - langchain-ollama brings ollama
        return None
    if isinstance(exc, ResponseError):
        if exc.status_code == 404:
            return LLMConfigError(
                f"{where}: model not found ({_short(exc, 160)}): run `ollama pull {model}` or "
                f"set {_MODEL_SETTING['ollama']}",
                backend=backend,
                setting="RECAGENTS_OLLAMA_MODEL",
            )
        if exc.status_code in (401, 403):
            return LLMConfigError(
                f"{where} refused access ({_short(exc, 160)})", backend=backend, setting=None
            )
        return LLMUnavailableError(
            f"{where} failed with HTTP {exc.status_code} ({_short(exc, 200)})", backend=backend
        )
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: connection refused/reset, timeouts, 5xx, rate limits."""
    if isinstance(exc, RecagentsError):
        return False
    if isinstance(exc, openai.APIConnectionError | openai.RateLimitError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and status >= 500


def _retrying(
    retries: int,
    base_delay_s: float,
    max_delay_s: float,
    before_retry: Callable[[RetryCallState], None],
) -> Retrying:
    """tenacity policy: up to ``retries`` retries of transient failures, exponential backoff
    (base, 2×base, 4×base … capped), ``before_retry`` between the sleep and the next try, the
    last exception re-raised as is."""

    def log_retry(state: RetryCallState) -> None:  # tenacity sets outcome and next_action
        outcome, action = state.outcome, state.next_action
        log.warning(
            "LLM call failed (%s); retry %d/%d in %.1f s",
            outcome.exception() if outcome is not None else None,
            state.attempt_number,
            retries,
            action.sleep if action is not None else 0.0,
        )

    return Retrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=base_delay_s, max=max_delay_s),
        retry=retry_if_exception(is_transient),
        before_sleep=log_retry,
        before=before_retry,
        sleep=_sleep,
        reraise=True,
    )


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def call_with_retries(
    fn: Callable[[], T],
    *,
    retries: int,
    base_delay_s: float = 0.5,
    max_delay_s: float = 8.0,
    before_retry: Callable[[], None] | None = None,
) -> T:
    """Run ``fn``; retry transient failures up to ``retries`` times with exponential backoff
    (``before_retry`` runs before each retry, e.g. to restart a dead local server)."""

    def before(state: RetryCallState) -> None:
        if before_retry is not None and state.attempt_number > 1:
            before_retry()

    return _retrying(retries, base_delay_s, max_delay_s, before)(fn)
