"""recommend_items: one tool, one result shape, the path chosen by the run (no LLM here)."""

from __future__ import annotations

from recagents.llm.accounting import Usage
from recagents.tools import TOOLS_BY_NAME, run_tool_call
from recagents.tools.recommend import SPEC, AgentPicks, RecommendedItem, RecommendedItems

TOOL = TOOLS_BY_NAME["recommend_items"]


def test_the_description_names_both_paths():
    text = SPEC.description
    assert "engine" in text and "agents" in text and "already rated" in text


def test_engine_path_without_agents(tool_ctx):
    out = run_tool_call(TOOL, {"user_id": 23, "k": 4}, tool_ctx).result
    assert out["status"] == "success", out["message"]
    data = RecommendedItems.model_validate(out["data"])
    assert data.path == "engine" and data.usage is None and data.model
    assert all(i.score is not None and i.why is None for i in data.items)
    assert set(out["data"]["items"][0]) == {"item_id", "title", "score"}  # no empty fields


def test_agents_path_when_the_run_offers_it(tool_ctx):
    asked = []

    def agents(user_id, k, candidates):
        asked.append((user_id, k, candidates))
        picks = [RecommendedItem(item_id=i, title=f"t{i}", why=f"because {i}") for i in (5, 9)]
        return AgentPicks(items=picks, fallback=False, usage=Usage(llm_calls=3, tokens_in=7))

    called = run_tool_call(
        TOOL, {"user_id": 23, "k": 2, "items": [5, 9, 12]}, tool_ctx, agents=agents
    )
    out = called.result
    assert out["status"] == "success", out["message"]
    assert asked == [(23, 2, [5, 9, 12])]
    data = RecommendedItems.model_validate(out["data"])
    assert data.path == "agents" and [i.item_id for i in data.items] == [5, 9]
    assert [i.why for i in data.items] == ["because 5", "because 9"]
    assert data.usage is not None and data.usage.llm_calls == 3
    assert called.candidate_sets[data.handle]["ids"] == [5, 9]
    assert "reason the agents picked" in out["message"]


def test_agents_path_failures_are_results(tool_ctx):
    def agents(user_id, k, candidates):
        raise RuntimeError("boom")

    out = run_tool_call(TOOL, {"user_id": 23, "k": 2}, tool_ctx, agents=agents).result
    assert out["status"] == "failure" and "recommend_items failed internally" in out["message"]
    unknown = run_tool_call(TOOL, {"user_id": 99999, "k": 2}, tool_ctx, agents=agents).result
    assert unknown["status"] == "failure"
