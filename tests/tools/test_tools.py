"""Each tool against the real stores: results checked as properties of the data."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool

from recagents.services.requests import MAX_METADATA_ITEMS
from recagents.stores.metadata.user_groups import AGE_GROUPS
from recagents.tools import TOOL_SPECS, TOOLS, run_tool_call


def test_every_tool_is_a_structured_tool_with_a_schema():
    assert {t.name for t in TOOLS} == {s.name for s in TOOL_SPECS}
    for tool in TOOLS:
        assert isinstance(tool, StructuredTool)
        schema = tool.args_schema.model_json_schema()
        assert schema["type"] == "object" and schema["properties"]
        assert len(tool.description) > 60


def test_tools_run_in_a_tool_node_with_context_from_the_run(tool_ctx):
    """The static tools inside a LangGraph ToolNode: context from the run, sets into state."""
    from langchain_core.messages import AIMessage
    from langgraph.graph import START, StateGraph
    from langgraph.prebuilt import ToolNode

    from recagents.services import ServiceContext
    from recagents.tools import ToolState

    graph = StateGraph(ToolState, context_schema=ServiceContext)
    graph.add_node("tools", ToolNode(list(TOOLS)))
    graph.add_edge(START, "tools")
    app = graph.compile()
    calls = [
        {"name": "filter_items", "args": {"genres": ["Horror"]}, "id": "a"},
        {"name": "popular_items", "args": {"k": 3}, "id": "b"},
        {"name": "user_metadata", "args": {"user_id": 7}, "id": "c"},
    ]
    out = app.invoke({"messages": [AIMessage("", tool_calls=calls)]}, context=tool_ctx)
    bodies = {m.tool_call_id: json.loads(m.content) for m in out["messages"][1:]}
    assert all(set(b) == {"status", "message", "data"} for b in bodies.values())
    assert all(b["status"] == "success" for b in bodies.values())
    # parallel calls of one turn get distinct handles, both kept in the state
    handles = {bodies["a"]["data"]["handle"], bodies["b"]["data"]["handle"]}
    assert handles == set(out["candidate_sets"]) and len(handles) == 2
    bad = app.invoke(
        {
            "messages": [
                AIMessage(
                    "", tool_calls=[{"name": "user_metadata", "args": {"user_id": 0}, "id": "x"}]
                )
            ]
        },  # fmt: skip
        context=tool_ctx,
    )
    body = json.loads(bad["messages"][-1].content)
    assert body["status"] == "failure" and "user_id" in body["message"]


def test_tool_call_gives_a_json_tool_message(tool_ctx):
    msg = TOOLS[0].invoke(
        {"type": "tool_call", "id": "call-1", "name": TOOLS[0].name, "args": {"user_id": 7}}
    )
    # without a runtime the tool still answers in the result shape (a failure naming the cause)
    assert isinstance(msg, ToolMessage) and msg.tool_call_id == "call-1"
    assert json.loads(msg.content)["status"] == "failure"
    ok = run_tool_call(TOOLS[0], {"user_id": 7, "k": 2}, tool_ctx)
    assert set(ok.result) == {"status", "message", "data"} and ok.result["status"] == "success"


def _seen(ratings_df, uid: int) -> set[int]:
    return set(ratings_df.loc[ratings_df.user_id == uid, "item_id"])


@pytest.mark.parametrize("uid", [1, 23, 405])
def test_recommendations_exclude_seen_items(call, ratings_df, uid):
    result = call("recommend_items", user_id=uid, k=15)
    assert result["status"] == "success", result["message"]
    ids = [i["item_id"] for i in result["data"]["items"]]
    assert len(ids) == 15 == len(set(ids))
    assert not set(ids) & _seen(ratings_df, uid)
    scores = [i["score"] for i in result["data"]["items"]]
    assert scores == sorted(scores, reverse=True)


def test_recommendations_within_a_handle(call, ratings_df, tool_ctx, handle_ids):
    handle = call("filter_items", genres=["Comedy"])["data"]["handle"]
    comedies = set(handle_ids(handle))
    result = call("recommend_items", user_id=23, k=10, items=handle)
    ids = [i["item_id"] for i in result["data"]["items"]]
    assert len(ids) == 10 and set(ids) <= comedies and not set(ids) & _seen(ratings_df, 23)


def test_recommendations_when_every_candidate_is_seen(call, ratings_df):
    seen = sorted(_seen(ratings_df, 1))[:5]
    result = call("recommend_items", user_id=1, k=5, items=seen)
    assert result["status"] == "failure" and "already rated" in result["message"]


def test_vector_search_within_candidates(call, tool_ctx, vector_items, handle_ids):
    result = call("search_plots", query="a space adventure with robots", k=5)
    assert result["status"] == "success", result["message"]
    hits = result["data"]["items"]
    assert 1 <= len(hits) <= 5 and all(h["item_id"] in vector_items for h in hits)
    handle = call("filter_items", genres=["Drama"], items=sorted(vector_items))
    dramas = set(handle_ids(handle["data"]["handle"]))
    within = call("search_plots", query="family", k=8, items=handle["data"]["handle"])
    assert {h["item_id"] for h in within["data"]["items"]} <= dramas
    genre = call("search_plots", query="love story", k=5, genres=["Romance"])
    assert all("Romance" in h["genres"] for h in genre["data"]["items"])


def test_search_modes_through_the_tool(call, tool_ctx, vector_items, catalog):
    title = next(i["title"] for i in catalog if i["item_id"] == 50)  # Star Wars (1977)
    word = max(title.split(" (")[0].split(), key=len)
    for mode, score in (("keyword", "BM25"), ("hybrid", "fusion"), ("dense", "cosine")):
        result = call("search_plots", query=word, k=5, mode=mode, genres=["Sci-Fi"])
        assert result["status"] == "success", result["message"]
        assert score in result["message"]
        items = result["data"]["items"]
        assert items and all(h["item_id"] in vector_items for h in items)
        assert all("Sci-Fi" in h["genres"] for h in items)
    wordless = call("search_plots", query="the and of", mode="keyword")
    assert wordless["status"] == "failure" and "no word to look for" in wordless["message"]
    nowhere = call("search_plots", query="Zyxwvut", mode="keyword")
    assert nowhere["status"] == "failure" and "holds any word" in nowhere["message"]


def _group_counts(ratings_df, users_df, groups):
    users = users_df
    ages = [AGE_GROUPS[g] for g in groups if g in AGE_GROUPS]
    genders = [{"male": "M", "female": "F"}[g] for g in groups if g in ("male", "female")]
    if ages:
        users = users[users.age.apply(lambda a: any(lo <= a <= hi for lo, hi in ages))]
    if genders:
        users = users[users.gender.isin(genders)]
    rated = ratings_df[ratings_df.user_id.isin(users.user_id)]
    return rated.groupby("item_id").size().to_dict()


@pytest.mark.parametrize(
    "group", [None, ["kid"], ["teenagers"], ["young_adult"], ["senior"], ["female", "teenager"]]
)
def test_group_popularity_is_consistent_with_the_ratings(call, ratings_df, users_df, group):
    args = {"k": 25} | ({"user_group": group} if group else {})
    result = call("popular_items", **args)
    assert result["status"] == "success", result["message"]
    norm = [{"teenagers": "teenager"}.get(g, g) for g in group or []]
    counts = _group_counts(ratings_df, users_df, norm)
    items = result["data"]["items"]
    assert len(items) == 25
    for row in items:
        assert row["ratings"] == counts[row["item_id"]]
    got = [(-r["ratings"], r["item_id"]) for r in items]
    assert got == sorted((-n, i) for i, n in counts.items())[:25]


def test_popularity_within_a_handle_and_peer_quantile(call, tool_ctx, ratings_df, handle_ids):
    handle = call("filter_items", actors=["Tom Cruise"])["data"]["handle"]
    cruise = handle_ids(handle)
    top = call("popular_items", k=3, items=handle)["data"]["items"]
    assert len(top) == 3 and {r["item_id"] for r in top} <= set(cruise)
    from dataclasses import replace

    tool_ctx.options = replace(tool_ctx.options, popularity_quantile=0.75)
    cut = call("popular_items", thread="peer", k=3, items=cruise)["data"]["items"]
    assert 1 <= len(cut) < 3 and cut == top[: len(cut)]


def test_like_percentage_matches_the_ratings(call, ratings_df):
    items = [65, 287, 313, 421, 697]
    result = call("like_percentage", items=items)
    rated = ratings_df[ratings_df.item_id.isin(items)]
    assert result["data"]["users"] == rated.user_id.nunique()
    assert result["data"]["like_percentage"] == round(100 * rated.user_id.nunique() / 943, 2)
    liked = call("like_percentage", items=items, min_rating=4)["data"]
    assert liked["users"] == rated[rated.rating >= 4].user_id.nunique() < result["data"]["users"]


def test_user_metadata(call, users_df):
    data = call("user_metadata", user_id=23, fields=["age", "age_group", "gender"])["data"]
    row = users_df.set_index("user_id").loc[23]
    assert data == {"user_id": 23, "age": row.age, "age_group": "young_adult", "gender": "female"}


def test_item_metadata_fields_and_order(call, catalog):
    by_id = {c["item_id"]: c for c in catalog}
    fields = ["title", "directors", "imdb_rating", "duration_min"]
    data = call("item_metadata", items=["161", 77, 849], fields=fields)["data"]
    assert [r["item_id"] for r in data] == [161, 77, 849]
    for row in data:
        assert set(row) == {"item_id", *fields}
        assert all(row[f] == by_id[row["item_id"]][f] for f in fields)
    too_many = call("item_metadata", items=list(range(1, MAX_METADATA_ITEMS + 2)))
    assert too_many["status"] == "failure" and str(MAX_METADATA_ITEMS) in too_many["message"]


def test_recent_interactions(call, ratings_df):
    result = call("recent_interactions", user_id=91)
    rows = result["data"]["items"]
    mine = ratings_df[ratings_df.user_id == 91]
    assert len(rows) == 20 and result["data"]["total"] == len(mine)
    stamps = dict(zip(mine.item_id, mine.timestamp, strict=True))
    got = [stamps[r["item_id"]] for r in rows]
    assert got == sorted(got, reverse=True) == sorted(mine.timestamp, reverse=True)[:20]
    assert all(r["rating"] == mine.set_index("item_id").rating[r["item_id"]] for r in rows)
    assert len(call("recent_interactions", user_id=91, n=3)["data"]["items"]) == 3


def test_similar_users_and_their_favourites(call, ratings_df):
    sims = call("similar_users", user_id=45, n=5)["data"]
    assert len(sims) == 5 and 45 not in {s["user_id"] for s in sims}
    values = [s["similarity"] for s in sims]
    assert values == sorted(values, reverse=True) and values[-1] > 0
    mine = _seen(ratings_df, 45)
    for s in sims:
        assert s["common_items"] == len(mine & _seen(ratings_df, s["user_id"])) > 0
    fav = call("similar_users_favourites", user_id=45, k=10, n_users=5)["data"]
    assert fav["neighbours"] == [s["user_id"] for s in sims]
    liked = ratings_df[ratings_df.user_id.isin(fav["neighbours"]) & (ratings_df.rating >= 4)]
    for item in fav["items"]:
        assert item["item_id"] not in mine
        assert item["liked_by"] == (liked.item_id == item["item_id"]).sum() > 0
    some = [i["item_id"] for i in fav["items"][3:6]]
    within = call("similar_users_favourites", user_id=45, k=5, n_users=5, items=some + [*mine][:3])
    assert [i["item_id"] for i in within["data"]["items"]] == some  # seen candidates dropped
