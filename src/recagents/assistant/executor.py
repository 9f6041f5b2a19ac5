"""Run one tool call for the assistant (both modes): references, policy, the agents path.

``resolve_refs`` turns a plan's ``"$2"`` / ``"$1.age_group"`` into the handle or value an earlier
step produced. ``run_call`` checks the call against the privacy policy, runs it with the run's
recommendation path (``agents_path``: recommend_items through the ARAG agents when configured)
and returns a ``StepRecord`` plus the conversation's candidate sets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from recagents.agents.run import ARAGResult, stream_agents
from recagents.agents.state import MAX_AGENT_K, MAX_TEXT, RecRequest
from recagents.assistant.policy import PERSONAL_TOOLS, PolicyError, check_call, scrub
from recagents.assistant.progress import agent_output, agent_seconds, emit, preview
from recagents.assistant.state import AssistantContext, StepRecord
from recagents.errors import InvalidArgumentError
from recagents.tools.candidates import CandidateSets
from recagents.tools.recommend import AgentPicks, AgentsPath, RecommendedItem
from recagents.tools.registry import TOOLS_BY_NAME
from recagents.tools.runtime import run_tool_call

REF = re.compile(r"^\$(\d+)(?:\.([A-Za-z_]+))?$")


def _lookup(trace: Sequence[StepRecord], number: int, field: str | None, text: str) -> Any:
    done = {r["step"]: r for r in trace}
    record = done.get(number)
    if record is None:
        raise InvalidArgumentError(f"{text!r} refers to step {number}, which has not run")
    if record["status"] != "success":
        raise InvalidArgumentError(f"{text!r} refers to step {number}, which failed")
    data = record.get("data")
    if field is None:
        handle = data.get("handle") if isinstance(data, dict) else None
        if not handle:
            raise InvalidArgumentError(
                f"{text!r}: step {number} ({record['tool']}) produced no candidate set"
            )
        return handle
    row = data[0] if isinstance(data, list) and data else data
    if not isinstance(row, dict) or row.get(field) in (None, "", []):
        raise InvalidArgumentError(f"{text!r}: step {number} ({record['tool']}) has no {field!r}")
    value = row[field]
    return ", ".join(map(str, value)) if isinstance(value, list) else value


def resolve_refs(value: Any, trace: Sequence[StepRecord]) -> Any:
    """``value`` with every ``$N`` / ``$N.field`` string replaced (at any depth)."""
    if isinstance(value, str):
        match = REF.match(value.strip())
        return _lookup(trace, int(match[1]), match[2], value) if match else value
    if isinstance(value, list):
        return [resolve_refs(v, trace) for v in value]
    if isinstance(value, dict):
        return {k: resolve_refs(v, trace) for k, v in value.items()}
    return value


def users_read(trace: Sequence[StepRecord]) -> set[int]:
    return {
        r["args"]["user_id"]
        for r in trace
        if r["tool"] in PERSONAL_TOOLS and isinstance(r.get("args", {}).get("user_id"), int)
    }


def _run_agents(run: AssistantContext, request: RecRequest, step: int) -> ARAGResult:
    """The ARAG graph, each agent's output emitted as a progress event as it finishes."""
    for node, update in stream_agents(run.services, request, run.llm, config=run.agents_config):
        if node == "result":
            return update
        emit(
            {
                "kind": "agent",
                "step": step,
                "agent": node,
                "output": agent_output(node, update),
                "seconds": agent_seconds(node, update),
            }
        )
    raise RuntimeError("the agents ended without a result")  # stream_agents always yields one


def agents_path(run: AssistantContext, question: str, step: int) -> AgentsPath | None:
    """recommend_items' agents path for this run (None: the engine ranks alone): the ARAG
    agents with the question as the session intent and the given items as the hard filter."""
    if run.config.recommend_via != "agents" or run.llm is None:
        return None

    def rank(user_id: int, k: int, candidates: Sequence[int] | None) -> AgentPicks:
        if k > MAX_AGENT_K:
            raise InvalidArgumentError(f"k must be at most {MAX_AGENT_K} for explained picks")
        request = RecRequest(
            user_id=user_id,
            query=question[:MAX_TEXT] or None,
            k=k,
            candidate_ids=candidates,
            alpha=run.config.recommend_alpha,
        )
        result = _run_agents(run, request, step)
        items = [
            RecommendedItem(item_id=i.id, title=i.title, why=i.explanation) for i in result.items
        ]
        return AgentPicks(items=items, fallback=result.fallback, usage=result.usage)

    return rank


def run_call(
    run: AssistantContext,
    tool: str,
    args: dict,
    sets: CandidateSets,
    trace: Sequence[StepRecord],
    question: str,
    step: int,
    reason: str = "",
) -> tuple[StepRecord, CandidateSets]:
    """Run one call (references already resolved or resolved here) → its record, new sets."""
    record: StepRecord = {"step": step, "tool": tool, "args": args, "reason": reason}
    try:
        if tool not in TOOLS_BY_NAME:
            raise InvalidArgumentError(f"unknown tool {tool!r}: valid are {list(TOOLS_BY_NAME)}")
        args = resolve_refs(args, trace)
        args, personal = check_call(
            tool, args, question, users_read(trace), run.config.max_users_per_turn
        )
        record["args"] = args
    except (InvalidArgumentError, PolicyError) as exc:
        failed: StepRecord = {**record, "status": "failure", "message": str(exc), "data": None}
        return failed, sets
    emit({"kind": "tool_start", "step": step, "tool": tool, "args": args})
    agents = agents_path(run, question, step)
    called = run_tool_call(TOOLS_BY_NAME[tool], args, run.services, sets, agents=agents)
    result, sets = called.result, called.candidate_sets
    data = result.get("data") if personal else scrub(result.get("data"))
    done: StepRecord = {
        **record,
        "status": result["status"],
        "message": result["message"],
        "data": data,
    }
    emit(
        {
            "kind": "tool_end",
            **{k: v for k, v in done.items() if k != "data"},
            "data": preview(data),
        }
    )
    return done, sets
