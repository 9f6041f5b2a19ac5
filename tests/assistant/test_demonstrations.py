"""The demonstrations bank: valid plans, sound step references, and no benchmark leakage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from recagents.assistant.plan_mode.demos import BANK_PATH, load_bank, load_form_bank
from recagents.assistant.plan_mode.plan import PLAN_ARGS, Plan
from recagents.errors import NotBuiltError

BENCHMARK_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "recsys-agent-eval"
MAX_JACCARD = 0.6
MAX_COSINE = 0.9
REF = re.compile(r"^\$(\d+)(?:\.([A-Za-z_]+))?$")
# Tools whose result carries a candidate handle: the only ones a bare "$N" may point at.
HANDLE_TOOLS = {
    "filter_items",
    "search_plots",
    "popular_items",
    "recommend_items",
    "recent_interactions",
    "similar_users_favourites",
}
# Tools whose data rows carry fields a "$N.field" may read.
FIELD_TOOLS = {"item_metadata", "user_metadata"}


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module", params=["plans", "forms"])
def any_bank(request):
    """Both banks: the plan demonstrations and the intent-form demonstrations."""
    return load_bank() if request.param == "plans" else load_form_bank()


def test_form_bank_teaches_every_intent():
    from recagents.assistant.plan_mode.intent import INTENTS

    forms = load_form_bank()
    assert 25 <= len(forms) <= 80
    questions = [d.question.strip().lower() for d in forms]
    assert len(set(questions)) == len(questions)
    taught = {d.form["intent"] for d in forms}
    assert taught == set(INTENTS), set(INTENTS) - taught


def test_all_form_examples_make_one_fixed_system_text():
    """``form_examples: all``: the whole bank in the system text, byte-identical for every
    message (the server's prompt cache keeps it), and nothing but the message after it."""
    from recagents.assistant.plan_mode.intent import intent_messages

    forms = load_form_bank()
    one = intent_messages("Three westerns for user 8", "", [], forms)
    two = intent_messages("Who directed movie 50?", "", [], forms)
    assert one[0].content == two[0].content
    assert all(d.question in one[0].content for d in forms)
    assert "Examples" not in one[1].content and "Three westerns" in one[1].content


def _refs(value):
    """Every "$N" / "$N.field" string inside ``value``, at any depth."""
    if isinstance(value, str):
        match = REF.match(value.strip())
        return [(int(match[1]), match[2])] if match else []
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    return []


def test_bank_size_and_unique_questions(bank):
    questions = [d.question.strip().lower() for d in bank]
    assert 40 <= len(bank) <= 80, len(bank)
    assert len(set(questions)) == len(questions)


def test_every_plan_validates_and_has_the_right_steps(bank):
    for demo in bank:
        plan = Plan.model_validate({"action": demo.plan.action, "steps": demo.plan.calls()})
        if plan.action == "run_tools":
            assert plan.steps, demo.question
        else:
            assert not plan.steps, demo.question


def test_every_action_and_tool_is_taught(bank):
    assert {d.plan.action for d in bank} == {"run_tools", "ask_user_id", "answer_directly"}
    used = {call["tool"] for d in bank for call in d.plan.calls()}
    assert used == set(PLAN_ARGS), set(PLAN_ARGS) - used


def test_references_point_at_earlier_compatible_steps(bank):
    for demo in bank:
        calls = demo.plan.calls()
        for number, call in enumerate(calls, start=1):
            for target, field in _refs(call["args"]):
                where = f"{demo.question!r} step {number} -> ${target}"
                assert 1 <= target < number, f"{where}: not an earlier step"
                source = calls[target - 1]
                if field is None:
                    assert source["tool"] in HANDLE_TOOLS, f"{where}: no candidate set"
                else:
                    assert source["tool"] in FIELD_TOOLS, f"{where}: no fields"
                    asked = source["args"].get("fields")
                    assert asked is None or field in asked, f"{where}: {field} not asked"


def test_zip_code_only_when_asked(bank):
    for demo in bank:
        for call in demo.plan.calls():
            if "zip_code" in (call["args"].get("fields") or []):
                assert "zip" in demo.question.lower(), demo.question


def _benchmark_queries() -> list[str]:
    if not BENCHMARK_DIR.is_dir():
        pytest.skip(f"no benchmark at {BENCHMARK_DIR}")
    queries = []
    for level in ("easy", "medium", "hard"):
        path = BENCHMARK_DIR / f"evaluation_{level}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data.values() if isinstance(data, dict) else data
        queries += [e["query"] for e in entries]
    assert queries
    return queries


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[a-z#']+", re.sub(r"\d+", "#", text.lower())))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def test_no_benchmark_query_is_copied_by_tokens(any_bank):
    bank = any_bank
    queries = _benchmark_queries()
    worst = max(
        ((_jaccard(_tokens(d.question), _tokens(q)), d.question, q) for d in bank for q in queries),
        key=lambda t: t[0],
    )
    assert worst[0] < MAX_JACCARD, f"max token Jaccard {worst[0]:.3f}: {worst[1]!r} ~ {worst[2]!r}"


def _mask_numbers(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def test_no_benchmark_query_is_paraphrased(any_bank):
    """MiniLM cosine of every (bank, benchmark) pair, on the raw texts and with the numbers
    masked (MiniLM weighs numbers a lot: a copy with other ids scores only ~0.7 raw)."""
    queries = _benchmark_queries()
    from recagents.stores.embeddings import Embedder

    questions = [d.question for d in any_bank]
    try:
        embedder = Embedder(threads=1)
        vectors = embedder.embed(
            questions + queries + [_mask_numbers(t) for t in questions + queries]
        )
    except NotBuiltError as exc:  # pragma: no cover - the model wheel is a dependency
        pytest.skip(f"embedding model unavailable: {exc}")
    n, m = len(questions), len(queries)
    raw = vectors[:n] @ vectors[n : n + m].T
    masked = vectors[n + m : 2 * n + m] @ vectors[2 * n + m :].T
    scores = np.maximum(raw, masked)
    i, j = divmod(int(scores.argmax()), m)
    worst = float(scores[i, j])
    assert worst < MAX_COSINE, (
        f"max MiniLM cosine {worst:.3f} (raw max {raw.max():.3f}, numbers masked max "
        f"{masked.max():.3f}): {questions[i]!r} ~ {queries[j]!r}"
    )


def test_bank_file_is_the_one_loaded():
    assert BANK_PATH.name == "demonstrations.yaml"
    assert BANK_PATH.is_file()
