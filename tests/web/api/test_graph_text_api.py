"""The REST API's ``alpha`` on ``POST /recommend`` (retrieval only, real test stores)."""

from __future__ import annotations

import pytest

from recagents.services.graph_text import build_graph_text

BODY = {
    "text": "astronauts stranded in space",
    "history": [{"item_id": 1, "event_value": 5}, {"item_id": 50, "event_value": 5}],
    "limit": 5,
}


@pytest.fixture(scope="module")
def built(agent_services):
    build_graph_text(agent_services)


def test_alpha_unset_keeps_todays_retrieval(api, built):
    answer = api.post("/recommend?llm=false", json=BODY)
    assert answer.status_code == 200
    assert "graph_text" not in answer.json()["retrieval"]
    assert "graph_text" not in answer.json()["retrieval"]["sources"]


def test_alpha_blends_history_and_text_into_the_pool(api, built):
    answer = api.post("/recommend?llm=false", json={**BODY, "alpha": 0.5})
    assert answer.status_code == 200
    retrieval = answer.json()["retrieval"]
    assert retrieval["graph_text"]["alpha"] == 0.5
    assert retrieval["graph_text"]["ranked_by"] == "blend"
    assert retrieval["sources"]["graph_text"] > 0
    ids = [int(i["id"]) for i in answer.json()["items"]]
    assert ids and not {1, 50} & set(ids)


def test_a_disliked_history_falls_back_to_the_text_flagged(api, built):
    body = {**BODY, "history": [{"item_id": 1, "event_value": 1}], "alpha": 0.5}
    retrieval = api.post("/recommend?llm=false", json=body).json()["retrieval"]
    assert retrieval["graph_text"]["ranked_by"] == "text"
    assert retrieval["graph_text"]["fallback"] is True
    assert "liked" in retrieval["graph_text"]["reason"]


@pytest.mark.parametrize("bad", [1.5, -0.1, "0.5", True, None])
def test_alpha_outside_0_1_is_a_4xx(api, built, bad):
    if bad is None:  # null is "unset": accepted
        assert api.post("/recommend?llm=false", json={**BODY, "alpha": None}).status_code == 200
        return
    answer = api.post("/recommend?llm=false", json={**BODY, "alpha": bad})
    assert 400 <= answer.status_code < 500
    assert "alpha" in answer.text
