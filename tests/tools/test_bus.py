"""The candidate bus: handles across tools, per-conversation isolation, bounds, validation."""

from __future__ import annotations

import pytest

from recagents.errors import InvalidArgumentError, NotFoundError
from recagents.tools import CandidateBus


def test_handles_are_per_thread_and_keep_order():
    bus = CandidateBus()
    h1 = bus.put("a", [5, 3, 5, 9])
    h2 = bus.put("b", [1])
    assert h1 == "C1" and h2 == "C1"  # numbered per conversation
    assert bus.get("a", "C1") == (5, 3, 9) and bus.get("b", "C1") == (1,)
    assert bus.put("a", [7]) == "C2"


def test_unknown_and_malformed_handles():
    bus = CandidateBus()
    bus.put("a", [1, 2])
    with pytest.raises(NotFoundError, match=r"'C7'.*\['C1'\]"):
        bus.get("a", "C7")
    with pytest.raises(NotFoundError, match="none"):
        bus.get("other", "C1")
    with pytest.raises(InvalidArgumentError, match="not a candidate handle"):
        bus.get("a", "C1; DROP TABLE items")


def test_bounded_lru():
    bus = CandidateBus(max_sets_per_thread=2, max_threads=2)
    bus.put("a", [1])
    bus.put("a", [2])
    bus.get("a", "C1")  # touch C1: C2 is now the least recently used
    bus.put("a", [3])
    assert set(bus.describe("a")) == {"C1", "C3"}
    bus.put("b", [1])
    bus.put("c", [1])  # evicts thread "a"
    assert bus.describe("a") == {}
    with pytest.raises(NotFoundError, match="expired"):
        bus.get("a", "C1")


def test_a_chain_of_tools_passes_handles(call, tool_ctx, ratings_df):
    filt = call(
        "filter_items", genres=["Horror"], release_year={"request": "lower", "threshold": 1996}
    )
    handle = filt["data"]["handle"]
    assert filt["data"]["count"] > tool_ctx.options.inline_limit and "item_ids" not in filt["data"]
    horror = set(tool_ctx.bus.get("t1", handle))

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
