"""The REST API's routes over the real test stores, without the LLM (``?llm=false``).

Read routes run on SQLite and MariaDB (``read_api``: the parametrized store); the rest on the
SQLite session store. Every answer is checked against the stores, never against fixed values.
"""

from __future__ import annotations

import pytest

from recagents.agents import AgentsConfig, RecRequest, recommend_with_agents
from recagents.agents.state import MAX_AGENT_K, MAX_HISTORY, MAX_TEXT
from recagents.web.api.adapters import item_text
from recagents.web.api.schemas import AGENTIC_REC_EXAMPLE, ItemOut, RecommendResponse, UserOut

NO_LLM = {"llm": "false"}


def recommended(response, limit: int) -> list:
    assert response.status_code == 200, response.text
    body = RecommendResponse.model_validate(response.json())
    ids = [i.id for i in body.items]
    assert len(ids) == limit == len(set(ids))
    assert all(i.explanation.strip() and i.text.strip() for i in body.items)
    assert not body.fallback and body.usage.llm_calls == 0
    return ids


# --- read routes (SQLite and MariaDB) ----------------------------------------------------------
def test_healthz_reports_each_part_without_starting_the_llm(read_api, tool_ctx):
    response = read_api.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    parts = body["components"]
    assert parts["metadata"]["status"] == "ok"
    assert parts["metadata"]["items"] == len(tool_ctx.store.item_ids)
    assert parts["metadata"]["users"] == len(tool_ctx.store.user_ids)
    assert parts["vectors"]["status"] == "ok" and parts["vectors"]["vectors"] > 0
    assert parts["model"]["status"] == "ok" and parts["model"]["name"] == "BPR"
    assert parts["llm"]["status"].startswith("not started")  # NoLLM: get_llm would fail


def test_item_metadata_and_text(read_api, tool_ctx):
    (row,) = tool_ctx.store.item_details([50], ("title", "year", "genres", "description"))
    response = read_api.get("/items/50")
    assert response.status_code == 200
    item = ItemOut.model_validate(response.json())
    assert item.id == "50"  # a path id is a string, as in agentic_rec
    assert (item.title, item.year, item.genres) == (row["title"], row["year"], row["genres"])
    assert item.text == item_text(row) and item.text.strip()
    assert read_api.get("/items/50").json() == response.json()  # the second read: from memory


def test_unknown_and_malformed_item_ids(read_api):
    missing = read_api.get("/items/99999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert "99999" in missing.json()["detail"]
    assert read_api.get("/items/abc").status_code == 422
    assert read_api.get("/items/0").status_code == 422


def test_user_profile_and_history(read_api, tool_ctx):
    rows = tool_ctx.history(7)
    response = read_api.get("/users/7", params={"history_limit": 30, "dates": True})
    assert response.status_code == 200
    user = UserOut.model_validate(response.json())
    assert user.id == "7" and user.n_ratings == len(rows)
    assert [int(h.item_id) for h in user.history] == [r["item_id"] for r in rows[:30]][::-1]
    assert [h.event_datetime for h in user.history] == sorted(
        h.event_datetime for h in user.history
    )
    assert all(1 <= h.event_value <= 5 and h.event_name == "rating" for h in user.history)
    assert str(user.age) in user.text and user.occupation in user.text
    assert read_api.get("/users/7", params={"history_limit": 0}).json()["history"] == []


def test_unknown_user(read_api):
    assert read_api.get("/users/100000").status_code == 404
    assert read_api.post("/users/100000/recommend", params=NO_LLM).status_code == 404


def test_user_recommendations_by_path(read_api, seen_by, tool_ctx):
    response = read_api.post("/users/7/recommend", params={**NO_LLM, "limit": 4})
    ids = recommended(response, 4)
    assert all(isinstance(i, str) for i in ids)
    assert not {int(i) for i in ids} & seen_by(7)
    assert {int(i) for i in ids} <= tool_ctx.store.item_ids


# --- recommend (SQLite) ------------------------------------------------------------------------
def test_agentic_rec_request_unchanged(api, agent_services):
    """agentic_rec's README body as it is: string ids in, string ids out, history excluded."""
    response = api.post("/recommend", params=NO_LLM, json=AGENTIC_REC_EXAMPLE)
    ids = recommended(response, AGENTIC_REC_EXAMPLE["limit"])
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    ints = {int(i) for i in ids}
    assert ints <= agent_services.store.item_ids
    assert not ints & {int(e["item_id"]) for e in AGENTIC_REC_EXAMPLE["history"]}
    fields = ("title", "genres", "description", "storyline")
    details = agent_services.store.item_details(sorted(ints), fields)
    texts = {str(d["item_id"]): item_text(d) for d in details}
    assert all(i["text"] == texts[i["id"]] for i in response.json()["items"])


def test_known_user_numbers_in_numbers_out(api, seen_by):
    response = api.post("/recommend/user", params=NO_LLM, json={"user_id": 12, "limit": 6})
    ids = recommended(response, 6)
    assert all(type(i) is int for i in ids) and not set(ids) & seen_by(12)
    as_text = api.post("/recommend", params=NO_LLM, json={"user_id": "12", "limit": 6})
    assert recommended(as_text, 6) == [str(i) for i in ids]


def test_retrieval_only_is_the_agents_own_answer(api, agent_services):
    """?llm=false answers exactly what the agents' graph answers without an LLM."""
    config = AgentsConfig.load(agent_services.settings)
    for user_id in (21, 400):
        expected = recommend_with_agents(
            agent_services, RecRequest(user_id=user_id, k=8), None, config=config
        )
        got = api.post("/recommend", params=NO_LLM, json={"user_id": user_id, "limit": 8}).json()
        keys = ("id", "score", "explanation", "filled")
        assert [[i[k] for k in keys] for i in got["items"]] == [
            [getattr(i, k) for k in keys] for i in expected.items
        ]
        assert got["retrieval"] == expected.retrieval


def test_filters_hold(api, agent_services):
    body = {"text": "a detective story", "limit": 3, "filters": {"genres": ["Comedy"]}}
    ids = recommended(api.post("/recommend", params=NO_LLM, json=body), 3)
    for d in agent_services.store.item_details([int(i) for i in ids], ("genres",)):
        assert "Comedy" in d["genres"]


def test_similar_items_never_include_the_item(api, agent_services):
    ids = recommended(api.post("/recommend/item", params=NO_LLM, json={"item_id": 50}), 10)
    assert 50 not in ids and set(ids) <= agent_services.store.item_ids
    by_path = api.post("/items/50/recommend", params={**NO_LLM, "limit": 5})
    assert "50" not in recommended(by_path, 5)
    by_text = api.post("/recommend/item", params=NO_LLM, json={"text": "robots in space"})
    assert recommended(by_text, 10)
    missing = api.post("/recommend/item", params=NO_LLM, json={"item_id": 99999})
    assert missing.status_code == 404
    assert api.post("/items/99999/recommend", params=NO_LLM).status_code == 404


def test_unknown_user_without_text_is_404(api):
    response = api.post("/recommend", params=NO_LLM, json={"user_id": 100000})
    assert response.status_code == 404 and "100000" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": MAX_AGENT_K + 1}, "limit"),
        ({"text": "x" * (MAX_TEXT + 1)}, "text"),
        ({"query": "x" * (MAX_TEXT + 1)}, "query"),
        ({"history": [{"item_id": 1}] * (MAX_HISTORY + 1)}, "history"),
        ({"user_id": "abc"}, "user_id"),
        ({"user_id": 0}, "user_id"),
        ({"k": 5}, "k"),  # unknown field: agentic_rec's name is "limit"
        ({"filters": {"release_month": [13]}}, "filters"),
    ],
)
def test_bad_bodies_are_422_with_the_field(api, body, field):
    response = api.post("/recommend", params=NO_LLM, json=body)
    assert response.status_code == 422
    assert any(field in map(str, e["loc"]) for e in response.json()["detail"]), response.json()


def test_requests_the_catalogue_cannot_satisfy_are_422_with_a_message(api):
    unknown = {"history": [{"item_id": "999999"}, {"item_id": 123456}]}
    response = api.post("/recommend", params=NO_LLM, json=unknown)
    assert response.status_code == 422
    assert "catalogue" in response.json()["detail"][0]["msg"]
    malformed = {"history": [{"item_id": "abc"}]}  # not an id at all: refused field by field
    response = api.post("/recommend", params=NO_LLM, json=malformed)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:4] == ["body", "history", 0, "item_id"]
    nothing = api.post("/recommend/item", params=NO_LLM, json={"limit": 3})
    assert nothing.status_code == 422
    assert api.post("/recommend", params=NO_LLM, content=b"{not json").status_code == 422


def test_unknown_genre_is_404(api):
    body = {"text": "x", "filters": {"genres": ["Nonexistent"]}}
    response = api.post("/recommend", params=NO_LLM, json=body)
    assert response.status_code == 404 and "Nonexistent" in response.json()["detail"]


def test_openapi_documents_examples_and_bearer_auth(api):
    schema = api.get("/openapi.json").json()
    assert api.get("/docs").status_code == 200
    body = schema["paths"]["/recommend"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["agentic_rec"]["value"] == AGENTIC_REC_EXAMPLE
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["paths"]["/items/{item_id}"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    for path in ("/recommend", "/recommend/user", "/recommend/item", "/chat"):
        assert {"422", "503", "504"} <= set(schema["paths"][path]["post"]["responses"])


def test_retrieval_only_answers_are_cached(api_client, agent_services):
    body = {"user_id": 9, "limit": 4, "filters": {"genres": ["Drama"]}}
    with api_client(agent_services) as client:
        first = client.post("/recommend", params=NO_LLM, json=body).json()
        again = client.post("/recommend", params=NO_LLM, json=body).json()
        other = client.post("/recommend", params=NO_LLM, json={**body, "user_id": "9"}).json()
        user = [client.post("/users/9/recommend?llm=false&limit=4").json() for _ in range(2)]
    assert "cached" not in first["usage"] and again["usage"]["cached"] is True
    assert again["items"] == first["items"]
    assert "cached" not in other["usage"] and [i["id"] for i in other["items"]] == [
        str(i["id"]) for i in first["items"]
    ]  # string ids in: another answer (string ids out)
    assert "cached" not in user[0]["usage"] and user[1]["usage"]["cached"] is True
    with api_client(agent_services, settings_update={"api_cache_size": 0}) as client:
        for _ in range(2):
            off = client.post("/recommend", params=NO_LLM, json=body).json()
            assert "cached" not in off["usage"]
