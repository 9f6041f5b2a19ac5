"""Plan mode: the model writes one schema-constrained plan; the executor runs it step by step.

A failed step's error goes back to the planner (at most ``max_replans`` times) unless no new
plan can help (an unknown user or item: the user must correct it). A plan that uses a user id
nobody gave becomes a question for the id: the assistant never guesses whose data to read.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from recagents.assistant.executor import REF, run_call
from recagents.assistant.memory import digest, known_user_ids, numbers_in
from recagents.assistant.plan_mode.plan import Plan
from recagents.assistant.plan_mode.plan_checks import (
    complete_recommendation,
    drop_ungrounded_filters,
    fix_counts,
    fix_directions,
    normalise_references,
)
from recagents.assistant.progress import emit
from recagents.assistant.prompts import PLANNER_SYSTEM, as_data
from recagents.assistant.state import AssistantContext, AssistantState, StepRecord
from recagents.assistant.usage import add_agents_usage, add_llm_usage
from recagents.errors import RecagentsError
from recagents.llm import structured_call

PLAN_MAX_TOKENS = 500
FINAL_FAILURES = ("unknown user id", "unknown item id", "declined:")


def plan_messages(state: AssistantState, run: AssistantContext) -> list:
    question = state["question"]
    parts = []
    if run.demos is not None and run.config.demonstrations:
        shown = run.demos.select(question, run.config.demonstrations)
        if shown:
            parts.append("Examples:\n" + "\n".join(d.render() for d in shown))
    memory = digest(state, run.config.history_turns)
    if memory:
        parts.append(as_data("conversation", memory))
    parts.append(as_data("user_message", question))
    failed = [r for r in state.get("trace") or [] if r.get("status") != "success"]
    if state.get("direct_without_data"):
        parts.append(
            "Your previous plan answered without tools, but the message asks about ids the "
            "conversation has no data on. Plan the tool steps that look them up (or "
            "answer_directly if the request must be declined)."
        )
    elif failed:
        last = failed[-1]
        parts.append(
            f"Your previous plan failed at step {last['step']} ({last['tool']}): "
            f"{last['message']}\nWrite a corrected PLAN (or answer_directly if no tool can help)."
        )
    parts.append("PLAN:")
    return [SystemMessage(PLANNER_SYSTEM), HumanMessage("\n\n".join(parts))]


def _guess_free(plan: Plan, state: AssistantState) -> Plan:
    """Ask for the user id instead of running a plan with one the conversation never gave."""
    known = known_user_ids(state)
    for call in plan.calls():
        uid = call["args"].get("user_id")
        if isinstance(uid, int) and uid not in known:
            return Plan(action="ask_user_id")
    return plan


def plan_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    emit({"kind": "node_start", "node": "plan"})
    run = runtime.context
    try:
        result = structured_call(
            run.required_llm(),
            Plan,
            plan_messages(state, run),
            schema_note=False,
            max_tokens=PLAN_MAX_TOKENS,
        )
    except RecagentsError as exc:
        return {"plan": {"action": "error", "steps": [], "error": str(exc)}}
    plan = _guess_free(result.value, state)
    usage = add_llm_usage(state.get("usage"), result.usage)
    steps, notes = checked_steps(plan, state, run.config.default_k)
    update: dict[str, Any] = {
        "plan": {"action": plan.action, "steps": steps, "notes": notes},
        "usage": usage,
    }
    if (
        plan.action == "answer_directly"
        and not state.get("direct_without_data")
        and state.get("replans", 0) < run.config.max_replans
        and new_ids(state)
    ):  # e.g. "gender of user 3" answered from thin air: plan again, once
        update["plan"]["needs_data"] = True
        update["direct_without_data"] = True
        update["replans"] = state.get("replans", 0) + 1
    return update


def checked_steps(
    plan: Plan, state: AssistantState, default_k: int | None = None
) -> tuple[list[dict], list[str]]:
    """The plan's steps minus invented filter values, plus a forgotten recommend step, with
    the count the message asks for."""
    if plan.action != "run_tools":
        return [], []
    asked = [m.text for m in state.get("messages") or [] if isinstance(m, HumanMessage)]
    known = set(state.get("candidate_sets") or {})
    calls = normalise_references(plan.calls(), known)
    steps, notes = drop_ungrounded_filters(calls, " ".join(asked))
    steps, flipped = fix_directions(steps, state["question"])
    notes += flipped
    completed = complete_recommendation(steps, state["question"], known_user_ids(state))
    if len(completed) > len(steps):
        notes.append("added recommend_items for the user the message names")
    completed, counted = fix_counts(completed, state["question"], default_k)
    return completed, notes + counted


def new_ids(state: AssistantState) -> set[int]:
    """Numbers in the question the conversation has no data on (ids a tool must look up)."""
    known = numbers_in([digest(state, 20)])
    return numbers_in([state["question"]]) - known


def execute_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    """Run the plan's steps in order; stop at the first failure, except of a step marked
    ``optional`` (compiled chains): its failure is recorded and later references to it mean
    what it was given. A re-plan runs afresh (its references point at its own steps); the
    turn's trace keeps every attempt."""
    run = runtime.context
    sets = dict(state.get("candidate_sets") or {})
    usage = state.get("usage")
    attempt: list[StepRecord] = []
    skipped: dict[int, object] = {}  # failed optional step -> what stands in for its result
    plan = state["plan"]
    assert plan is not None  # the planner ran before (route_after_plan)
    for number, call in enumerate(plan["steps"], start=1):
        args = skip_failed(call["args"], skipped)
        record, sets = run_call(run, call["tool"], args, sets, attempt, state["question"], number)
        record["attempt"] = state.get("replans", 0) + 1
        attempt.append(record)
        usage = add_agents_usage(usage, record.get("data"))
        if record["status"] != "success":
            if not call.get("optional"):
                break
            record["optional"] = True
            skipped[number] = args.get("items")
    trace = [*(state.get("trace") or []), *attempt]
    return {"trace": trace, "candidate_sets": sets, "usage": usage}


def skip_failed(args: dict, skipped: dict[int, object]) -> dict:
    """``args`` with each ``"$N"`` of a skipped step replaced by what that step was given
    (``None``: the argument is dropped, i.e. the whole catalogue)."""
    if not skipped:
        return args
    out = {}
    for key, value in args.items():
        match = REF.match(value.strip()) if isinstance(value, str) else None
        if match and not match[2] and int(match[1]) in skipped:
            value = skipped[int(match[1])]
            if value is None:
                continue
        out[key] = value
    return out


def after_plan(state: AssistantState) -> str:
    plan = state.get("plan") or {}
    if plan.get("needs_data"):
        return "plan"
    return "execute" if plan.get("action") == "run_tools" and plan.get("steps") else "answer"


def after_execute(state: AssistantState, runtime: Runtime[AssistantContext]) -> str:
    if (state.get("plan") or {}).get("source") == "compiled":
        return "verify"  # a compiled chain is checked (and re-run) by the verifier, not re-planned
    trace = state.get("trace") or []
    if not trace or trace[-1].get("status") == "success":
        return "answer"
    message = trace[-1].get("message", "")
    if state.get("replans", 0) >= runtime.context.config.max_replans or any(
        message.startswith(p) for p in FINAL_FAILURES
    ):
        return "answer"
    return "replan"


def replan_node(state: AssistantState) -> dict:
    return {"replans": state.get("replans", 0) + 1}
