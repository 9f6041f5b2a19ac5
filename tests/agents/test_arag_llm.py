"""The ARAG agents with the REAL local model (Qwen2.5-Coder-0.5B): properties any sound model
must satisfy — ids ⊆ candidates, nothing seen, exactly k, explanations present, hard filters
kept, cold start works, at most 4 sequential LLM rounds. Never one model's wording."""

from __future__ import annotations

import pytest

from recagents.agents import RecRequest, recommend_with_agents
from recagents.services.requests import FilterRequest

pytestmark = pytest.mark.llm
K = 3


def check(result, k: int = K) -> list[int]:
    ids = [i["id"] for i in result.items]
    assert len(ids) == k == len(set(ids))
    assert set(ids) <= set(result.candidates)
    assert all(i["explanation"].strip() for i in result.items)
    assert result.usage["llm_rounds"] <= 4
    return ids


def test_known_user_with_hard_filters(
    agent_services, local_handle, small_config, ratings_df, catalog
):
    by_id = {c["item_id"]: c for c in catalog}
    filters = FilterRequest(genres=["Comedy"], release_year={"request": "lower", "threshold": 1990})
    req = RecRequest(user_id=17, k=K, query="something funny", filters=filters)
    result = recommend_with_agents(agent_services, req, local_handle, config=small_config)
    ids = check(result)
    assert not result.fallback, result.errors  # the real model answered every agent
    seen = set(ratings_df.loc[ratings_df.user_id == 17, "item_id"])
    assert not set(ids) & seen
    for i in ids:
        assert "Comedy" in by_id[i]["genres"] and by_id[i]["year"] < 1990
    verdicts = result.blackboard["verdicts"]
    assert [v["item_id"] for v in verdicts] == result.candidates
    assert all(0 <= v["score"] <= 1 for v in verdicts)
    assert result.usage["tokens_in"] > 0 and result.usage["tokens_out"] > 0


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
