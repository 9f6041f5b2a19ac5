"""The ARAG agents with the REAL local model (Qwen2.5-Coder-0.5B): properties any sound model
must satisfy — ids ⊆ candidates, nothing seen, exactly k, every explanation passes the checker
(re-checked here against the catalogue), at most 300 generated tokens per recommendation, hard
filters kept, cold start works, at most 4 sequential LLM rounds. Never one model's wording."""

from __future__ import annotations

import pytest

from recagents.agents import RecRequest, recommend_with_agents
from recagents.agents.explanations import check as check_explanation
from recagents.services.requests import FilterRequest
from tests.agents.conftest import fact as make_fact

pytestmark = pytest.mark.llm
K = 3
MAX_GENERATED = 300


def check(result, k: int = K, services=None, catalog=None) -> list[int]:
    ids = [i.id for i in result.items]
    assert len(ids) == k == len(set(ids))
    assert set(ids) <= set(result.candidates)
    assert all(i.explanation.strip() for i in result.items)
    assert result.usage.llm_rounds <= 4
    assert result.usage.tokens_out <= MAX_GENERATED, result.usage
    if services is not None:
        by_id = {c["item_id"]: c for c in catalog}
        history = [h["item_id"] for h in result.blackboard["history"] or []]
        known = set(result.candidates) | set(history)
        for item in result.items:
            fact = make_fact(item.id, item.title, item.year, item.genres)
            why = check_explanation(
                item.explanation,
                fact,
                index=services.title_index,
                allowed_ids=known,
                named_genres={i: by_id[i]["genres"] for i in known},
                named_years={i: by_id[i]["year"] for i in known},
            )
            assert why is None, (item, why)
    reasons = (result.blackboard.get("ranking") or {}).get("reasons")
    if reasons:  # explanations.method choose: each one is a reason the code wrote, or the template
        for item, options in zip(result.items, reasons, strict=True):
            assert item.explanation in options or item.filled, (item, options)
    return ids


def test_known_user_with_hard_filters(
    agent_services, local_handle, small_config, ratings_df, catalog
):
    by_id = {c["item_id"]: c for c in catalog}
    filters = FilterRequest(genres=["Comedy"], release_year={"request": "lower", "threshold": 1990})
    req = RecRequest(user_id=17, k=K, query="something funny", filters=filters)
    result = recommend_with_agents(agent_services, req, local_handle, config=small_config)
    ids = check(result, services=agent_services, catalog=catalog)
    assert not result.fallback, result.errors  # the real model answered every agent
    seen = set(ratings_df.loc[ratings_df.user_id == 17, "item_id"])
    assert not set(ids) & seen
    for i in ids:
        assert "Comedy" in by_id[i]["genres"] and by_id[i]["year"] < 1990
    verdicts = result.blackboard["verdicts"]
    assert [v["item_id"] for v in verdicts] == result.candidates
    assert all(0 <= v["score"] <= 1 for v in verdicts)
    assert all(abs(sum(v["probs"].values()) - 1) < 1e-3 for v in verdicts)
    assert result.blackboard["scoring"]["generated_tokens"] == len(result.candidates)
    assert result.usage.tokens_in > 0 and result.usage.tokens_out > 0


def test_horror_for_user_3_is_horror_unseen_and_explained_truly(
    agent_services, local_handle, small_config, ratings_df, catalog
):
    by_id = {c["item_id"]: c for c in catalog}
    req = RecRequest(
        user_id=3, k=K, query="horror movies", filters=FilterRequest(genres=["Horror"])
    )
    result = recommend_with_agents(agent_services, req, local_handle, config=small_config)
    ids = check(result, services=agent_services, catalog=catalog)
    assert not result.fallback, result.errors
    assert all("Horror" in by_id[i]["genres"] for i in ids)
    assert not set(ids) & set(ratings_df.loc[ratings_df.user_id == 3, "item_id"])


def test_cold_start_text_only(agent_services, local_handle, small_config):
    req = RecRequest(text="I love space adventures and robots", k=K)
    result = recommend_with_agents(agent_services, req, local_handle, config=small_config)
    check(result)
    assert result.retrieval["cold_start"]


def test_cold_start_text_and_history(agent_services, local_handle, small_config):
    history = [{"item_id": 50, "event_value": 5}, {"item_id": "172", "event_value": 4}]
    req = RecRequest(text="more like these", history=history, k=K)
    result = recommend_with_agents(agent_services, req, local_handle, config=small_config)
    ids = check(result)
    assert not {50, 172} & set(ids)
