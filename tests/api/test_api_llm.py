"""The API with the REAL local model (Qwen2.5-Coder-0.5B): agentic_rec's README request sent
unchanged through the ARAG agents, and one assistant turn. Properties only (schema, ids in the
catalogue and in the retrieval's pool, nothing the user already rated), never wording."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from recagents.api.schemas import AGENTIC_REC_EXAMPLE, RecommendBody, RecommendResponse
from recagents.api.services import recommend_request, run_agents
from recagents.assistant.demos import DemoBank
from recagents.assistant.run import AskResult

pytestmark = pytest.mark.llm


def test_agentic_rec_request_through_the_agents(
    api_client, agent_services, local_handle, small_config
):
    with api_client(agent_services, llm=local_handle, agents_config=small_config) as client:
        response = client.post("/recommend", json=AGENTIC_REC_EXAMPLE)  # as agentic_rec sends it
        pool_config = client.app.state.agents_config
    assert response.status_code == 200, response.text
    body = RecommendResponse.model_validate(response.json())
    limit = AGENTIC_REC_EXAMPLE["limit"]
    ids = [i.id for i in body.items]
    assert len(ids) == limit == len(set(ids)) and all(isinstance(i, str) for i in ids)
    assert all(i.explanation.strip() and i.text.strip() for i in body.items)
    assert body.usage["llm_calls"] > 0 and body.retrieval["cold_start"]
    # nothing invented: every id is in the pool retrieval (no LLM, deterministic) offers
    req = recommend_request(RecommendBody.model_validate(AGENTIC_REC_EXAMPLE))
    config = pool_config.model_copy(
        update={"retrieval": pool_config.retrieval.model_copy(update={"pool_size": limit})}
    )
    pool = run_agents(agent_services, req, None, config).candidates
    assert {int(i) for i in ids} <= set(pool) <= agent_services.store.item_ids
    assert not {int(i) for i in ids} & {int(e["item_id"]) for e in AGENTIC_REC_EXAMPLE["history"]}


def test_one_assistant_turn(api_client, agent_services, local_handle, seen_by):
    demos = DemoBank.load(agent_services.get_vectors().embedder)
    with api_client(
        agent_services, llm=local_handle, checkpointer=InMemorySaver(), demos=demos, engine="bpr"
    ) as client:
        response = client.post(
            "/chat", json={"message": "Recommend 3 movies to user 42.", "thread_id": "api-1"}
        )
    assert response.status_code == 200, response.text
    result = AskResult.model_validate(response.json())
    assert result.thread_id == "api-1" and result.answer.strip()
    ids = {i["id"] for i in result.items}
    assert ids <= agent_services.store.item_ids
    if any(c["name"] == "recommend_items" for c in result.tool_calls):
        assert not ids & seen_by(42)
