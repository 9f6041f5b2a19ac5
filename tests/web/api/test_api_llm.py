"""The API with the REAL local model (Qwen2.5-Coder-0.5B): agentic_rec's README request sent
unchanged through the ARAG agents, and one assistant turn. Properties only (schema, ids in the
catalogue and in the retrieval's pool, nothing the user already rated), never wording."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from recagents.assistant.plan_mode.demos import DemoBank
from recagents.assistant.run import AskResult
from recagents.web.api.adapters import recommend_request, run_agents
from recagents.web.api.schemas import AGENTIC_REC_EXAMPLE, RecommendBody, RecommendResponse

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
    assert body.usage.llm_calls > 0 and body.retrieval["cold_start"]
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
        agent_services,
        llm=local_handle,
        checkpointer=InMemorySaver(),
        demos=demos,
        recommend_via="engine",
    ) as client:
        response = client.post(
            "/chat", json={"message": "Recommend 3 movies to user 42.", "thread_id": "api-1"}
        )
    assert response.status_code == 200, response.text
    result = AskResult.model_validate(response.json())
    assert result.thread_id == "api-1" and result.answer.strip()
    ids = {i.id for i in result.items}
    assert ids <= agent_services.store.item_ids
    if any(c["name"] == "recommend_items" for c in result.tool_calls):
        assert not ids & seen_by(42)


def _busy(server) -> bool:
    """Whether the embedded server is generating (its /slots, which needs our API key)."""
    request = urllib.request.Request(
        f"{server.address}/slots", headers={"Authorization": f"Bearer {server.api_key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as resp:
            return any(slot.get("is_processing") for slot in json.load(resp))
    except (OSError, ValueError):
        return False


def test_the_embedded_server_needs_its_key(local_handle):
    server = local_handle.server
    assert server is not None and local_handle.api_key == server.api_key
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1})
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401


def test_a_crashed_llm_gives_the_fallback_then_recovers(
    api_client, agent_services, local_handle, small_config
):
    """Killing the llama.cpp child mid-request: that request gets the flagged engine-order
    fallback (200), and the next one is answered by the restarted server."""
    server = local_handle.server
    assert server is not None and server.healthy()
    body = {"user_id": 42, "limit": 3}
    with api_client(agent_services, llm=local_handle, agents_config=small_config) as client:
        box: dict = {}
        worker = threading.Thread(target=lambda: box.update(r=client.post("/recommend", json=body)))
        worker.start()
        deadline = time.monotonic() + 300
        while not _busy(server):
            assert worker.is_alive() and time.monotonic() < deadline, "no LLM call was made"
            time.sleep(0.2)
        old_pid = server.pid
        os.kill(old_pid, signal.SIGKILL)
        worker.join(600)
        crashed = box["r"]
        assert crashed.status_code == 200, crashed.text
        result = crashed.json()
        assert result["fallback"] is True and result["errors"]
        assert len(result["items"]) == 3
        again = client.post("/recommend", json=body)
    assert again.status_code == 200, again.text
    assert server.pid != old_pid and server.healthy()
    assert again.json()["usage"]["llm_calls"] > 0 and not again.json()["fallback"]
