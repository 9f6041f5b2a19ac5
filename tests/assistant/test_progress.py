"""The live events of a turn (what the chat shows while the agents work), scripted model.

Wiring only: the order and content of the progress events, the streamed answer pieces and the
final result. The real model's turn in a real browser is ``tests/web/chat/test_chat_browser.py``.
"""

from __future__ import annotations

import json

from tests.agents.conftest import arag_reply
from tests.assistant.conftest import plan_mode_reply, task_of

PLAN = {
    "action": "run_tools",
    "steps": [
        {"tool": "filter_items", "args": {"genres": ["Comedy"]}},
        {"tool": "recommend_items", "args": {"user_id": 17, "k": 2, "items": "$1"}},
    ],
}


def both(plan_reply, agents_reply):
    def reply(messages):
        return plan_reply(messages) if task_of(messages) != "other" else agents_reply(messages)

    return reply


def test_events_show_each_tool_and_agent_then_the_result(make_assistant, scripted_llm, ratings_df):
    answer = {"text": "Two comedies for user 17.", "item_ids": []}
    llm = scripted_llm(both(plan_mode_reply([PLAN], [answer]), arag_reply()))
    assistant = make_assistant(llm, recommend_via="agents", arag_pool_size=6)
    events = list(assistant.events("Recommend 2 comedies to user 17", "progress-1"))

    kinds = [k for k, _ in events]
    assert kinds[-1] == "result" and kinds.count("result") == 1
    progress = [p for k, p in events if k == "progress"]
    # the model step is announced before its LLM call, ahead of any tool
    assert progress[0]["kind"] == "node_start" and progress[0]["node"] in ("understand", "plan")
    starts = [(p["step"], p["tool"]) for p in progress if p["kind"] == "tool_start"]
    ends = [(p["step"], p["tool"], p["status"]) for p in progress if p["kind"] == "tool_end"]
    assert starts == [(1, "filter_items"), (2, "recommend_items")]
    assert ends == [(1, "filter_items", "success"), (2, "recommend_items", "success")]
    agents = [p for p in progress if p["kind"] == "agent"]
    assert {"retrieval", "user_understanding", "nli", "context_summary", "ranker"} <= {
        a["agent"] for a in agents
    }
    assert all(a["step"] == 2 for a in agents)
    # agents run inside step 2: after its start, before its end
    order = [(p["kind"], p.get("step")) for p in progress]
    assert order.index(("tool_start", 2)) < order.index(("agent", 2)) < order.index(("tool_end", 2))
    json.dumps(progress)  # events are plain JSON (the UI and the data layer store them)

    result = events[-1][1]
    recommended = [i["item_id"] for i in progress[-1]["data"]["items"]]
    assert [i.id for i in result.items] == recommended
    assert not set(recommended) & set(ratings_df.loc[ratings_df.user_id == 17, "item_id"])
    streamed = "".join(t for k, (node, t) in ((k, p) for k, p in events if k == "token")
                       if node == "answer")  # fmt: skip
    assert json.loads(streamed)["text"] == answer["text"]


def test_no_progress_outside_a_streamed_run(make_assistant, scripted_llm):
    """``ask`` (no custom stream) runs the same calls; emitting is a no-op there."""
    llm = scripted_llm(plan_mode_reply([PLAN]))
    result = make_assistant(llm).ask("Recommend 2 comedies to user 17")
    assert [c["name"] for c in result.tool_calls] == ["filter_items", "recommend_items"]


def test_concurrent_conversations_keep_their_own_candidate_sets(
    make_assistant, scripted_llm, agent_services
):
    """Two chats at once on one assistant (two tabs): each recommends from its own set."""
    from concurrent.futures import ThreadPoolExecutor

    def plan_for(genre: str) -> dict:
        return {
            "action": "run_tools",
            "steps": [
                {"tool": "filter_items", "args": {"genres": [genre]}},
                {"tool": "recommend_items", "args": {"user_id": 17, "k": 3, "items": "$1"}},
            ],
        }

    def reply(messages):
        question = str(messages[-1].content)
        if task_of(messages) == "plan":
            return json.dumps(plan_for("Horror" if "horror" in question else "Comedy"))
        return json.dumps({"text": "Here they are.", "item_ids": []})

    assistant = make_assistant(scripted_llm(reply))
    asks = [("Recommend 3 horror movies to user 17", "Horror"), ("Recommend 3 comedies to user 17", "Comedy")] * 3  # fmt: skip
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [
            (genre, pool.submit(assistant.ask, question, f"tab-{n}"))
            for n, (question, genre) in enumerate(asks)
        ]
        for genre, future in futures:
            ids = [i.id for i in future.result(timeout=120).items]
            assert len(ids) == 3
            details = agent_services.store.item_details(ids, ("genres",))
            assert all(genre in d["genres"] for d in details)
