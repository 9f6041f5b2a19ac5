"""The layers above the recommender rank with whichever engine is active (RECAGENTS_RECOMMENDER):
the recommend tool, a candidate-restricted recommendation and the ARAG retrieval pool."""

from __future__ import annotations

import pytest

from recagents.agents.run import recommend_with_agents
from recagents.agents.state import RecRequest
from recagents.recommender.inference import Recommender
from recagents.recommender.train import train_engine
from recagents.services import ServiceContext
from recagents.tools.registry import TOOLS_BY_NAME
from recagents.tools.runtime import run_tool_call


@pytest.fixture(scope="module")
def ease_ctx(tool_settings, agent_services):
    """The agents' services with EASE active (trained beside the session's BPR, same split)."""
    train_engine(tool_settings, "EASE", show_progress=False)
    settings = tool_settings.model_copy(update={"recommender": "EASE"})
    return ServiceContext(
        settings, agent_services.store, None, agent_services.vectors, agent_services.swing
    )


@pytest.fixture(scope="module")
def rated_by_17(agent_services) -> set[int]:
    return agent_services.get_recommender().seen_items(17)  # every rating of the 100k


def test_the_recommend_tool_uses_the_active_engine(ease_ctx, rated_by_17):
    ease = Recommender.load(ease_ctx.settings)
    assert ease_ctx.get_recommender().model == "EASE"
    out = run_tool_call(TOOLS_BY_NAME["recommend_items"], {"user_id": 17, "k": 5}, ease_ctx, None)
    data = out.result["data"]
    ids = [item["item_id"] for item in data["items"]]
    assert data["model"] == "EASE" and ids == ease.top_k(17, k=5).item_ids
    assert not set(ids) & rated_by_17


def test_a_restricted_recommendation_stays_inside_the_candidates(ease_ctx, rated_by_17):
    pool = [1, 50, 100, 181, 258, 300, 313, 318]
    out = run_tool_call(
        TOOLS_BY_NAME["recommend_items"], {"user_id": 17, "k": 3, "items": pool}, ease_ctx, None
    )
    ids = [item["item_id"] for item in out.result["data"]["items"]]
    assert ids and set(ids) <= set(pool) - rated_by_17


def test_the_arag_pool_is_retrieved_with_the_active_engine(ease_ctx, agent_services):
    request = RecRequest(user_id=17, k=5)
    with_ease = recommend_with_agents(ease_ctx, request, None)
    with_bpr = recommend_with_agents(agent_services, request, None)
    assert with_ease.candidates and with_ease.candidates != with_bpr.candidates
    seen = ease_ctx.get_recommender().seen_items(17)
    assert not set(with_ease.candidates) & seen
