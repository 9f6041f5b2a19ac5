"""Score, don't generate: a probability distribution over a small label set per prompt, read
from the model's next-token log-probabilities, one generated token per prompt.

    batch = score_labels(handle, prefix, suffixes, labels=("0", "1", "2", "3"))
    batch.scores[i].probs      # {"0": p0, …, "3": p3}, each in [0, 1], summing to 1
    batch.scores[i].expected   # Σ p(label) · position / (len(labels) - 1), in [0, 1]

Every prompt is the prefix with its suffix appended to the prefix's last (human) message, so
no chat-template tokens stand between them: the prefix (system message, user block, task)
comes first and is byte-identical, so llama.cpp serves it from its prompt cache after the first
prompt (``batch.cached_tokens`` sums what the backend reports as read from the cache:
``usage_metadata.input_token_details.cache_read``, i.e. llama.cpp's ``cache_n``/OpenAI's
``cached_tokens``). Prompts run ``concurrency`` at a time over the backend's slots (LangChain's
``batch`` with ``max_concurrency``).

Backends: the embedded server, any OpenAI-compatible server and OpenAI return ``logprobs`` /
``top_logprobs`` on chat completions. Where a backend returns none (``capabilities.logprobs``
false, e.g. Ollama through langchain-ollama), each prompt instead generates ONE label token,
grammar-constrained to the labels (a one-hot distribution; ``method = "label"``), and the reason
is in ``capabilities.logprobs_note``.

Labels missing from a prompt's top log-probabilities get probability 0; a prompt where no label
is among them (the model wanted to say something else) is scored by its generated token when
that is a label, else it is ``usable=False`` with a uniform distribution. ``ScoringError`` when
no prompt of the batch is usable: callers fall back (flagged), never invent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, create_model

from recagents.errors import RecagentsError
from recagents.llm.failures import call_with_retries, explain_failure
from recagents.llm.structured import structured_call

TOP_LOGPROBS = 10  # OpenAI allows up to 20; the labels of a sound prompt are far inside 10
ScoreMethod = Literal["logprobs", "label"]


class ScoringError(RecagentsError):
    """No prompt of a batch gave a usable distribution over the labels."""


@dataclass(frozen=True)
class LabelScores:
    probs: dict[str, float]
    """Probability of each label (normalised over the labels: sums to 1)."""
    expected: float
    """Expected label position scaled to [0, 1]: 0 = the first label for sure, 1 = the last."""
    usable: bool = True
    """False: the answer held no label (the distribution is uniform and carries no signal)."""


class _GeneratedLabel(BaseModel):  # the fallback's answer; its label narrowed to the labels
    label: str


@dataclass
class ScoreBatch:
    scores: list[LabelScores]
    method: ScoreMethod
    prompt_tokens: int = 0
    generated_tokens: int = 0
    cached_tokens: int | None = None
    """Prompt tokens served from the backend's prompt cache (None: the backend says nothing)."""
    unusable: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "prompts": len(self.scores),
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.generated_tokens,
            "cached_tokens": self.cached_tokens,
            "unusable": self.unusable,
        }


def distribution(logprobs: dict[str, float], labels: Sequence[str]) -> LabelScores:
    """Label distribution from token log-probabilities (token text → logprob; a token counts
    for the label it equals once stripped). No label present → uniform and ``usable=False``."""
    mass = {label: 0.0 for label in labels}
    for token, logprob in logprobs.items():
        label = token.strip()
        if label in mass and math.isfinite(logprob):
            mass[label] += math.exp(logprob)
    total = sum(mass.values())
    if total <= 0.0:
        uniform = {label: 1.0 / len(labels) for label in labels}
        return LabelScores(uniform, _expected(uniform, labels), usable=False)
    probs = {label: m / total for label, m in mass.items()}
    return LabelScores(probs, _expected(probs, labels))


def one_hot(label: str, labels: Sequence[str]) -> LabelScores:
    probs = {x: 1.0 if x == label else 0.0 for x in labels}
    return LabelScores(probs, _expected(probs, labels))


def _expected(probs: dict[str, float], labels: Sequence[str]) -> float:
    if len(labels) == 1:
        return probs[labels[0]]
    value = sum(probs[x] * i for i, x in enumerate(labels)) / (len(labels) - 1)
    return min(1.0, max(0.0, value))


def _top_logprobs(msg: AIMessage) -> dict[str, float] | None:
    """The first generated token's top log-probabilities (token → logprob), if returned."""
    content = (msg.response_metadata.get("logprobs") or {}).get("content") or []
    if not content:
        return None
    first = content[0]
    top = {t["token"]: float(t["logprob"]) for t in first.get("top_logprobs") or []}
    top.setdefault(first.get("token", ""), float(first.get("logprob", -math.inf)))
    return top


def _usage(msgs: Sequence[AIMessage], batch: ScoreBatch) -> None:
    cached: int | None = None
    for msg in msgs:
        meta = msg.usage_metadata
        if meta is None:
            continue
        batch.prompt_tokens += int(meta.get("input_tokens") or 0)
        batch.generated_tokens += int(meta.get("output_tokens") or 0)
        details = meta.get("input_token_details")
        read = details.get("cache_read") if details else None
        if read is not None:
            cached = (cached or 0) + int(read)
    batch.cached_tokens = cached


def _with_suffix(prefix: Sequence[BaseMessage], suffix: str) -> list[BaseMessage]:
    last = prefix[-1] if prefix else None
    if isinstance(last, HumanMessage) and isinstance(last.content, str):
        return [*prefix[:-1], HumanMessage(last.content + suffix)]
    return [*prefix, HumanMessage(suffix)]


def _invoke_all(handle, prompts: list[list[BaseMessage]], runnable, config, concurrency: int):
    cfg = {**(config or {}), "max_concurrency": concurrency}

    def once() -> list[AIMessage]:
        return runnable.batch(prompts, config=cfg)

    try:
        return call_with_retries(
            once, retries=handle.transport_retries, before_retry=handle.recover
        )
    except Exception as exc:  # noqa: BLE001 - translated to a clear error
        err = explain_failure(
            exc, backend=handle.backend, model=handle.model, base_url=handle.base_url,
            timeout_s=handle.timeout_s,
        )  # fmt: skip
        if err is None:
            raise
        raise err from exc


def score_labels(
    handle,
    prefix: Sequence[BaseMessage],
    suffixes: Sequence[str],
    labels: Sequence[str],
    *,
    config: dict | None = None,
    concurrency: int | None = None,
) -> ScoreBatch:
    """One ``LabelScores`` per suffix (see the module doc). Raises ``ScoringError`` when no
    prompt is usable, and the backend's clear error when it is unreachable."""
    if not labels or len(set(labels)) != len(labels):
        raise ValueError(f"labels must be distinct and non-empty, got {labels!r}")
    prompts = [_with_suffix(prefix, s) for s in suffixes]
    if not prompts:
        return ScoreBatch([], "logprobs")
    slots = concurrency or 1
    if handle.capabilities.logprobs:
        runnable = handle.chat_model.bind(logprobs=True, top_logprobs=TOP_LOGPROBS, max_tokens=1)
        msgs = _invoke_all(handle, prompts, runnable, config, slots)
        batch = ScoreBatch([], "logprobs")
        _usage(msgs, batch)
        for msg in msgs:
            top = _top_logprobs(msg)
            scores = distribution(top or {}, labels)
            if not scores.usable and str(msg.content).strip() in labels:
                scores = one_hot(str(msg.content).strip(), labels)
            batch.scores.append(scores)
        if any(_top_logprobs(m) is None for m in msgs):
            batch.notes.append("the backend returned no log-probabilities for some prompts")
    else:
        batch = _generated_labels(handle, prompts, labels, config)
    batch.unusable = sum(not s.usable for s in batch.scores)
    if batch.unusable == len(batch.scores):
        raise ScoringError(
            f"{handle.backend} model {handle.model} put no probability on the labels "
            f"{list(labels)} in any of {len(batch.scores)} prompts"
        )
    return batch


def _generated_labels(handle, prompts, labels: Sequence[str], config) -> ScoreBatch:
    """The fallback: one grammar-constrained label per prompt (one-hot distributions)."""
    one_of_labels = cast(Any, Literal)[tuple(labels)]  # a Literal built at runtime
    Label = create_model("Label", __base__=_GeneratedLabel, label=(one_of_labels, ...))
    batch = ScoreBatch([], "label", notes=[handle.capabilities.logprobs_note])
    for prompt in prompts:
        result = structured_call(
            handle, Label, prompt, config=config, max_tokens=16, schema_note=False
        )
        batch.prompt_tokens += result.usage.tokens_in
        batch.generated_tokens += result.usage.tokens_out
        batch.scores.append(one_hot(result.value.label, labels))
    return batch
