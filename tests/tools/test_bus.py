"""Candidate sets in conversation state: handles across tools, per-conversation isolation,
bounds, validation, and a checkpointer round trip on SQLite and MariaDB."""

from __future__ import annotations

import json

import pytest

from recagents.errors import InvalidArgumentError, NotFoundError
from recagents.tools.candidates import (
    MAX_SETS,
    merge_candidate_sets,
    new_set,
    next_handle,
    resolve_handle,
)
from recagents.tools.runtime import INLINE_LIMIT


def test_handles_are_numbered_and_keep_order():
    sets = {}
    h1 = next_handle(sets)
    sets = merge_candidate_sets(sets, {h1: new_set([5, 3, 5, 9], "x")})
    assert h1 == "C1" and resolve_handle(sets, "C1") == [5, 3, 9]
    assert next_handle(sets) == "C2" and next_handle(sets, offset=2) == "C4"


def test_unknown_and_malformed_handles():
    sets = {"C1": new_set([1, 2], "x")}
    with pytest.raises(NotFoundError, match=r"'C7'.*\['C1'\]"):
        resolve_handle(sets, "C7")
    with pytest.raises(NotFoundError, match="none"):
        resolve_handle({}, "C1")
    with pytest.raises(InvalidArgumentError, match="not a candidate handle"):
        resolve_handle(sets, "C1; DROP TABLE items")


def test_bounded_to_the_newest_sets():
    sets = {}
    for n in range(MAX_SETS + 3):
        sets = merge_candidate_sets(sets, {next_handle(sets): new_set([n + 1], "x")})
    assert len(sets) == MAX_SETS and "C1" not in sets and f"C{MAX_SETS + 3}" in sets
    assert next_handle(sets) == f"C{MAX_SETS + 4}"  # never reused
    with pytest.raises(NotFoundError, match="expired"):
        resolve_handle(sets, "C1")


def test_a_chain_of_tools_passes_handles(call, ratings_df, handle_ids):
    filt = call(
        "filter_items", genres=["Horror"], release_year={"request": "lower", "threshold": 1996}
    )
    handle = filt["data"]["handle"]
    assert filt["data"]["count"] > INLINE_LIMIT and "item_ids" not in filt["data"]
    horror = set(handle_ids(handle))

    popular = call("popular_items", k=20, user_group=["young_adult"], items=handle)
    top = [i["item_id"] for i in popular["data"]["items"]]
    assert set(top) <= horror

    rec = call("recommend_items", user_id=23, k=5, items=popular["data"]["handle"])
    assert {i["item_id"] for i in rec["data"]["items"]} <= set(top)

    meta = call("item_metadata", items=rec["data"]["handle"], fields=["title", "genres"])
    assert [m["item_id"] for m in meta["data"]] == [i["item_id"] for i in rec["data"]["items"]]
    assert all("Horror" in m["genres"] for m in meta["data"])

    pct = call("like_percentage", items=handle)
    assert pct["data"]["items"] == len(horror)


def test_handles_do_not_leak_across_conversations(call):
    handle = call("filter_items", thread="alice", genres=["Horror"])["data"]["handle"]
    other = call("popular_items", thread="bob", items=handle)
    assert other["status"] == "failure" and "unknown candidate handle" in other["message"]


def test_peer_style_literal_lists_are_accepted(call):
    result = call("popular_items", k=3, items=["77", "161", "237", "405", "849"])
    assert result["status"] == "success" and len(result["data"]["items"]) == 3


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def conversation_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.sqlite'}"
    return request.getfixturevalue("mariadb_url")


def test_candidate_sets_survive_a_checkpointer_round_trip(
    conversation_url, tool_settings, metadata_store, tool_recommender, tool_vectors, swing_index
):
    """Persist a conversation, rebuild context, tools and graph from scratch, resolve the handle."""
    import uuid

    from langchain_core.messages import AIMessage
    from langgraph.graph import START, StateGraph
    from langgraph.prebuilt import ToolNode

    from recagents.services import ServiceContext
    from recagents.stores.checkpoints import open_checkpointer
    from recagents.tools import TOOLS, ToolState

    def fresh_graph(saver):
        graph = StateGraph(ToolState, context_schema=ServiceContext)
        graph.add_node("tools", ToolNode(list(TOOLS)))
        graph.add_edge(START, "tools")
        return graph.compile(checkpointer=saver)

    def fresh_ctx():
        return ServiceContext(
            tool_settings, metadata_store, tool_recommender, tool_vectors, swing_index
        )

    thread = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:8]}"}}
    filt = {"name": "filter_items", "args": {"genres": ["Film-Noir"]}, "id": "f1"}
    with open_checkpointer(conversation_url) as saver:
        out = fresh_graph(saver).invoke(
            {"messages": [AIMessage("", tool_calls=[filt])]}, thread, context=fresh_ctx()
        )
    handle = json.loads(out["messages"][-1].content)["data"]["handle"]
    noir = out["candidate_sets"][handle]["ids"]
    assert noir

    with open_checkpointer(conversation_url) as saver:  # everything rebuilt from the database
        app = fresh_graph(saver)
        assert app.get_state(thread).values["candidate_sets"][handle]["ids"] == noir
        use = {"name": "item_metadata", "args": {"items": handle, "fields": ["genres"]}, "id": "m"}
        out = app.invoke(
            {"messages": [AIMessage("", tool_calls=[use])]}, thread, context=fresh_ctx()
        )
    body = json.loads(out["messages"][-1].content)
    assert body["status"] == "success", body["message"]
    assert [row["item_id"] for row in body["data"]] == noir
    assert all("Film-Noir" in row["genres"] for row in body["data"])
    assert len(out["messages"]) == 4  # the first turn's messages were restored too
