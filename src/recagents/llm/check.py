"""`llm check`: start/use the configured backend, run one structured request, measure it.

Prompt and generation speeds come from the streamed request itself: prompt tokens over the time
to the first token, and the remaining generated tokens over the rest of the request.
"""

from __future__ import annotations

import logging
import time

from pydantic import BaseModel, Field

from recagents.errors import RecagentsError
from recagents.llm.factory import configured_model_name, make_chat_model, resolve_provider
from recagents.llm.structured import constrain_ids, structured_call
from recagents.settings import Settings

log = logging.getLogger(__name__)

_CANDIDATES = {
    101: "Alien (1979): sci-fi horror aboard a space freighter",
    102: "Toy Story (1995): animated toys come to life",
    103: "Blade Runner (1982): a detective hunts replicants in future Los Angeles",
    104: "Fargo (1996): a kidnapping goes wrong in snowy Minnesota",
    105: "The Terminator (1984): a cyborg assassin is sent back in time",
}


class _Pick(BaseModel):
    item_id: int = Field(description="id of the chosen movie, one of the candidates")
    reason: str = Field(description="why it fits, at most 12 words")


class CheckAnswer(BaseModel):
    """The two candidates that best fit the user."""

    picks: list[_Pick] = Field(min_length=2, max_length=2)


def _messages() -> list[tuple[str, str]]:
    lines = "\n".join(f"{i}: {t}" for i, t in _CANDIDATES.items())
    return [
        ("system", "You recommend movies. Use only the candidate ids you are given."),
        ("user", f"The user loves science fiction.\nCandidates:\n{lines}\nPick the best two."),
    ]


def run_check(settings: Settings, provider: str | None = None, model: str | None = None) -> dict:
    """The `llm check` report; raises RecagentsError (with a clear message) on failure."""
    t0 = time.perf_counter()
    handle = make_chat_model(settings, provider=provider, model=model)
    startup_s = time.perf_counter() - t0
    schema = constrain_ids(CheckAnswer, list(_CANDIDATES))
    result = structured_call(handle, schema, _messages(), stream=True)
    ids = [p.item_id for p in result.value.picks]
    structured_ok = set(ids) <= set(_CANDIDATES) and len(ids) == 2
    call = result.usage.per_call[-1]
    prompt_tps = gen_tps = None
    if call.first_token_s and call.first_token_s > 0 and call.input_tokens:
        prompt_tps = call.input_tokens / call.first_token_s
        gen_time = call.latency_s - call.first_token_s
        if call.output_tokens > 1 and gen_time > 0:
            gen_tps = (call.output_tokens - 1) / gen_time
    return {
        "backend": handle.backend,
        "model": handle.model,
        "structured_ok": structured_ok,
        "prompt_tokens_per_s": None if prompt_tps is None else round(prompt_tps, 2),
        "generation_tokens_per_s": None if gen_tps is None else round(gen_tps, 2),
        "latency_s": round(result.usage.llm_wall_seconds, 3),
        "prompt_tokens": call.input_tokens,
        "completion_tokens": call.output_tokens,
        "attempts": result.attempts,
        "startup_s": round(startup_s, 3),
        "base_url": handle.base_url,
        "capabilities": handle.capabilities.as_dict(),
        "answer_ids": ids,
    }


def check_report(settings: Settings, provider: str | None = None, model: str | None = None):
    """(report, exit code): failures become a report with an "error" key and code 1."""
    try:
        report = run_check(settings, provider, model)
    except Exception as exc:  # noqa: BLE001 - the contract: one JSON line, exit code 1
        if not isinstance(exc, RecagentsError):
            log.exception("llm check failed unexpectedly")
        backend: str  # the provider as resolved, else as asked for
        try:
            backend = resolve_provider(settings, provider)
            model = configured_model_name(settings, backend, model)
        except RecagentsError:
            backend = provider or settings.llm_provider
        return {
            "backend": backend,
            "model": model,
            "structured_ok": False,
            "error": str(exc),
            "error_type": type(exc).__name__,
        }, 1
    return report, 0 if report["structured_ok"] else 1
