"""How the API runs LLM work, with SCRIPTED models (wiring only; the real 0.5B is the evidence
in test_api_llm.py): answers through the agents, 503 when the backend is down, 504 past the
deadline, and other routes answering while an LLM request is in flight."""

from __future__ import annotations

import threading
import time

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from recagents.assistant.plan_mode.demos import DemoBank
from recagents.llm.failures import LLMUnavailableError
from recagents.web.api.schemas import RecommendResponse
from tests.agents.conftest import SCRIPTED_REASON, arag_reply

FAST_S = 2.0  # a non-LLM answer while the LLM works (milliseconds when idle; 2 shared cores)


arag_answer = arag_reply()
"""A valid answer to each ARAG agent's task (scores for NLI's prompts, JSON for the rest)."""


class Gate:
    """A scripted reply that holds every LLM call until ``release()`` (then ``then``)."""

    def __init__(self, then=arag_answer):
        self.entered, self.opened, self.then = threading.Event(), threading.Event(), then

    def __call__(self, messages) -> str:
        self.entered.set()
        self.opened.wait(60)
        return self.then(messages)

    def release(self) -> None:
        self.opened.set()


@pytest.fixture
def llm_client(api_client, agent_services, scripted_llm, small_config):
    """llm_client(reply, **open options): the API over a scripted LLM and a small pool; the
    explanations written by the model (its scripted sentence marks the LLM path)."""
    written = small_config.model_validate(
        small_config.model_dump() | {"explanations": {"method": "write"}}
    )
    return lambda reply, **kw: api_client(
        agent_services, llm=scripted_llm(reply), agents_config=written, **kw
    )


def test_recommend_through_the_agents(llm_client, seen_by):
    with llm_client(arag_answer) as client:
        response = client.post("/recommend", json={"user_id": 5, "limit": 3})
    assert response.status_code == 200, response.text
    body = RecommendResponse.model_validate(response.json())
    assert not body.fallback and body.usage.llm_calls >= 4
    assert [i.explanation for i in body.items] == [SCRIPTED_REASON for _ in body.items]
    assert not {i.id for i in body.items} & seen_by(5)


def test_backend_that_cannot_start_is_503_and_llm_false_still_answers(api_client, agent_services):
    with api_client(agent_services, backend_down=True) as client:
        for path, body in (("/recommend", {"limit": 2}), ("/chat", {"message": "hello"})):
            response = client.post(path, json=body)
            assert response.status_code == 503, path
            assert response.json()["code"] == "backend_unavailable"
            assert "unreachable" in response.json()["detail"]
        assert client.post("/recommend?llm=false", json={"limit": 2}).status_code == 200
        assert client.get("/healthz").json()["status"] == "ok"  # the LLM was never started


def test_llm_timing_out_inside_the_agents_is_503(llm_client):
    def timeout(messages):
        raise LLMUnavailableError(
            "scripted LLM did not answer within 1 s",
            backend="openai-compatible",
            setting="RECAGENTS_LLM_TIMEOUT_S",
        )

    with llm_client(timeout) as client:
        response = client.post("/recommend/item", json={"item_id": 1, "limit": 3})
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "llm_unavailable" and "did not answer within" in body["detail"]
    assert "llm=false" in body["detail"]


def test_deadline_is_504_and_prompt(llm_client):
    gate = Gate()
    with llm_client(gate) as client:
        started = time.perf_counter()
        response = client.post("/recommend?timeout_s=0.5", json={"user_id": 5, "limit": 3})
        elapsed = time.perf_counter() - started
        gate.release()  # the abandoned worker finishes on its own
    assert response.status_code == 504 and response.json()["code"] == "llm_timeout"
    assert "0.5 s" in response.json()["detail"] and elapsed < 0.5 + FAST_S
    assert gate.entered.is_set()


def test_chat_deadline_is_504(llm_client, agent_services):
    gate = Gate(then=lambda messages: "{}")
    demos = DemoBank.load(agent_services.get_vectors().embedder)
    with llm_client(gate, checkpointer=InMemorySaver(), demos=demos) as client:
        response = client.post("/chat?timeout_s=1", json={"message": "Recommend me a comedy"})
        gate.release()
    assert response.status_code == 504 and response.json()["code"] == "llm_timeout"
    assert gate.entered.is_set()


def test_other_routes_answer_while_an_llm_request_is_in_flight(llm_client):
    gate = Gate()
    answers: list = []
    with llm_client(gate) as client:
        worker = threading.Thread(
            target=lambda: answers.append(
                client.post("/recommend", json={"user_id": 9, "limit": 3})
            )
        )
        worker.start()
        assert gate.entered.wait(30), "the LLM request never reached the LLM"
        for path in ("/items/1", "/users/2", "/healthz"):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            assert time.perf_counter() - started < FAST_S, path
        started = time.perf_counter()
        fast = client.post("/recommend?llm=false", json={"user_id": 9, "limit": 3})
        assert fast.status_code == 200 and time.perf_counter() - started < FAST_S
        assert not answers  # still waiting on the LLM
        gate.release()
        worker.join(60)
    assert answers and answers[0].status_code == 200
    items = answers[0].json()["items"]
    assert [i["explanation"] for i in items] == [SCRIPTED_REASON for _ in items]
    assert fast.json()["usage"]["llm_calls"] == 0
