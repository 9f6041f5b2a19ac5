"""The scoring primitive: label distributions from next-token log-probabilities.

Unit tests pin the arithmetic; the ``llm`` tests run the REAL local 0.5B: distributions valid,
identical prompts identical, a shared prefix served from the cache, and a batch of 30 costs 30
generated tokens where 30 generated verdicts would cost far more."""

from __future__ import annotations

import math

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from recagents.llm.scoring import ScoringError, distribution, one_hot, score_labels

LABELS = ("0", "1", "2", "3")


def test_distribution_normalises_over_the_labels_and_ignores_other_tokens():
    s = distribution({"3": math.log(0.5), " 2": math.log(0.25), "The": math.log(0.25)}, LABELS)
    assert s.usable and s.probs == pytest.approx({"0": 0, "1": 0, "2": 1 / 3, "3": 2 / 3})
    assert s.expected == pytest.approx((2 / 3 * 3 + 1 / 3 * 2) / 3)
    none = distribution({"The": -0.1}, LABELS)
    assert not none.usable and sum(none.probs.values()) == pytest.approx(1)
    assert one_hot("1", LABELS).expected == pytest.approx(1 / 3)


def test_a_backend_without_logprobs_generates_one_label(scripted_llm):
    import dataclasses

    handle = scripted_llm(lambda messages: '{"label": "2"}')
    handle.capabilities = dataclasses.replace(
        handle.capabilities, logprobs=False, logprobs_note="no logprobs here"
    )
    batch = score_labels(handle, [SystemMessage("rate")], ["a", "b"], LABELS)
    assert batch.method == "label" and batch.notes == ["no logprobs here"]
    assert [s.probs["2"] for s in batch.scores] == [1.0, 1.0]


def test_garbage_from_every_prompt_is_an_error(scripted_llm):
    handle = scripted_llm(lambda messages: "I refuse")  # no logprobs, no label
    with pytest.raises(ScoringError, match="no probability on the labels"):
        score_labels(handle, [SystemMessage("rate")], ["a", "b"], LABELS)


PREFIX = [
    SystemMessage(
        "You rate how well a movie fits a user. Answer with one digit: 0 = poor fit, "
        "1 = weak fit, 2 = good fit, 3 = excellent fit."
    ),
    HumanMessage(
        "<user_context>\nUser 4: 24 years old, male, technician.\nRated recently: Star Wars "
        "(1977) [Action, Adventure, Sci-Fi] 5/5; Contact (1997) [Drama, Sci-Fi] 5/5; Air Force "
        "One (1997) [Action, Thriller] 5/5.\n</user_context>\nMovie: "
    ),
]


@pytest.mark.llm
def test_real_model_scores_are_distributions_reproducible_and_cached(local_handle):
    lines = [f"Movie number {n} ({1960 + n}) [Drama, Comedy]" for n in range(30)]
    batch = score_labels(local_handle, PREFIX, lines, LABELS)
    assert batch.method == "logprobs" and len(batch.scores) == 30 and batch.unusable == 0
    for s in batch.scores:
        assert all(0 <= p <= 1 for p in s.probs.values())
        assert sum(s.probs.values()) == pytest.approx(1, abs=1e-6) and 0 <= s.expected <= 1
    # one generated token per prompt: 30 tokens for 30 candidates (a generated verdict with a
    # reason costs ~60 tokens per candidate in the earlier NLI)
    assert batch.generated_tokens == 30
    # the shared prefix is served from the cache after the first prompt
    assert batch.cached_tokens is not None and batch.cached_tokens >= 25 * 40
    # identical prompts on the same cache state give identical scores; across cache states
    # (a cold prefix vs a cached one) llama.cpp computes in other batch sizes, so the floats
    # may differ in the third decimal
    a, b = lines[0], lines[1]
    twice = score_labels(local_handle, PREFIX, [b, a, b, a], LABELS)
    assert twice.scores[1].probs == twice.scores[3].probs
    assert twice.scores[1].probs == pytest.approx(batch.scores[0].probs, abs=0.02)
