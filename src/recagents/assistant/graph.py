"""The assistant graph: one turn of the conversation, in plan mode or tools mode.

    begin_turn ─┬─ understand ──► execute ──► verify ──► answer ──► END   (plan mode, compiled)
                │      │ intent "other"
                │      ▼
                ├──► plan ──► execute ──► answer ──► END     (plan mode, free-form planner)
                │    ▲         │
                │    └ replan ◄┘  (a failed step, at most max_replans times; the planner
                │                  also runs again once if it answered an id lookup untooled)
                └─ understand ──► agent ◄──► tools;  agent ──► verify ──► respond ──► END
                                                                      (tools mode)

understand: ONE grammar-constrained intent form, grounded, compiled into the tool chain
(``intent.py``, ``compiler.py``); verify: every listed item against the parsed constraints, one
enforced re-run on a violation (``verifier.py``). ``assistant.yaml`` ``planner: free`` is the
ablation that plans every message free-form (the previous design). In tools mode the model
calls the tools itself (native tool calls) and the form only feeds the verifier: the same
checks, the same enforced re-run, and a reply from the data when the model's list broke them
(with ``planner: free`` tools mode skips understand and verify: the ablation).

State (messages, candidate sets, last recommendation, the previous turn's tool calls) is
persisted per ``thread_id`` by the checkpointer the graph is compiled with; the run's services,
model and knobs arrive as its context (``AssistantContext``).
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from recagents.assistant.answering import answer_node
from recagents.assistant.plan_mode.planning import (
    after_execute,
    after_plan,
    execute_node,
    plan_node,
    replan_node,
)
from recagents.assistant.plan_mode.understand import after_understand, understand_node
from recagents.assistant.state import AssistantContext, AssistantState
from recagents.assistant.tools_mode import after_agent, agent_node, respond_node, tools_node
from recagents.assistant.verifier import verify_node


def begin_turn(state: AssistantState) -> dict:
    """The new question; the last turn's tool calls move to ``previous_trace``."""
    last = next(m for m in reversed(state["messages"]) if isinstance(m, HumanMessage))
    update: dict = {
        "question": last.text,
        "plan": None,
        "trace": [],
        "replans": 0,
        "direct_without_data": False,
        "scratch": [],
        "rounds": 0,
        "answer": {},
        "usage": {},
        "form": None,
        "verdict": None,
    }
    if state.get("trace"):
        update["previous_trace"] = [
            {k: v for k, v in r.items() if k != "data"} for r in state["trace"]
        ]
    return update


def by_mode(state: AssistantState, runtime: Runtime[AssistantContext]) -> str:
    compiled = runtime.context.config.planner == "compiled"
    if runtime.context.mode == "tools":
        return "understand" if compiled else "agent"
    return "understand" if compiled else "plan"


def after_verify(state: AssistantState, runtime: Runtime[AssistantContext]) -> str:
    return "respond" if runtime.context.mode == "tools" else "answer"


def build() -> StateGraph[AssistantState, AssistantContext, AssistantState, AssistantState]:
    builder = StateGraph(AssistantState, context_schema=AssistantContext)
    builder.add_node("begin_turn", begin_turn)
    builder.add_node("understand", understand_node)
    builder.add_node("verify", verify_node)
    builder.add_node("plan", plan_node)
    builder.add_node("execute", execute_node)
    builder.add_node("replan", replan_node)
    builder.add_node("answer", answer_node)
    builder.add_node("agent", agent_node)
    builder.add_node("tools", tools_node)
    builder.add_node("respond", respond_node)
    builder.add_edge(START, "begin_turn")
    builder.add_conditional_edges("begin_turn", by_mode, ["understand", "plan", "agent"])
    builder.add_conditional_edges(
        "understand", after_understand, ["plan", "execute", "answer", "agent"]
    )
    builder.add_conditional_edges("plan", after_plan, ["plan", "execute", "answer"])
    builder.add_conditional_edges(
        "execute", after_execute, {"replan": "replan", "answer": "answer", "verify": "verify"}
    )
    builder.add_conditional_edges("verify", after_verify, ["answer", "respond"])
    builder.add_edge("replan", "plan")
    builder.add_edge("answer", END)
    builder.add_conditional_edges("agent", after_agent, ["tools", "verify", "respond"])
    builder.add_edge("tools", "agent")
    builder.add_edge("respond", END)
    return builder


graph = build().compile(name="assistant")  # no checkpointer: for LangGraph tooling and tests
