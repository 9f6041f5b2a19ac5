"""The understand node: message → intent form (one short grammar-constrained call) → grounded
slots → the compiled chain, set as the turn's plan (``source: "compiled"``).

Intent ``other`` (and a "more" with nothing before it) goes on to the free-form planner.
In tools mode nothing is compiled: the model calls the tools, and the form is what the verifier
checks its list against (a clarifying question still ends the turn before any tool runs).
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from recagents.assistant.memory import digest
from recagents.assistant.plan_mode.compiler import DEFAULT_K, compile_chain
from recagents.assistant.plan_mode.form_grounding import credited_roles, ground
from recagents.assistant.plan_mode.intent import (
    INTENT_MAX_TOKENS,
    Understanding,
    contradiction,
    intent_messages,
    resolve_reference,
)
from recagents.assistant.progress import emit
from recagents.assistant.state import AssistantContext, AssistantState
from recagents.assistant.usage import add_llm_usage
from recagents.errors import RecagentsError
from recagents.llm import structured_call


def understand_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    emit({"kind": "node_start", "node": "understand"})
    run = runtime.context
    question = state["question"]
    bank = getattr(run.demos, "forms", None)
    demos, fixed = [], None
    if bank is not None:  # "all": the whole bank first (cached), the nearest again at the end
        fixed = bank.demos if run.config.form_examples == "all" else None
        demos = bank.select(question, run.config.form_demonstrations)
    conversation = digest(state, run.config.history_turns)
    messages = intent_messages(question, conversation, demos, fixed)
    try:
        result = structured_call(
            run.required_llm(),
            Understanding,
            messages,
            schema_note=False,
            max_tokens=INTENT_MAX_TOKENS,
            compact=True,  # every string slot is capped; ~30 % fewer generated tokens
        )
    except RecagentsError as exc:  # the free-form planner gets its chance (and reports)
        return {"plan": {"action": "plan", "steps": [], "notes": [f"intent: {exc}"]}}
    usage = add_llm_usage(state.get("usage"), result.usage)
    form, notes = ground(result.value, state, run.config.default_k)
    form, role_notes = credited_roles(form, run.services)
    notes += role_notes
    reference_id, unknown = resolve_reference(form, run.title_index, question)
    if unknown and form.intent == "recommend_similar_to_item" and not form.reference:
        # "like" without any movie named: a plain (or storyline) recommendation, not a question
        intent = "recommend_by_storyline" if form.storyline else "recommend"
        notes.append(f"intent recommend_similar_to_item → {intent} (no movie named)")
        form, unknown = form.model_copy(update={"intent": intent}), None
    question_back = unknown or contradiction(form, question)
    steps: list[dict]
    if run.mode == "tools" and not question_back:
        compiled_action, steps, note, exclude = "tools", [], None, []
        if reference_id is not None:
            exclude = [reference_id]
    elif question_back:
        compiled_action, steps, note, exclude = "clarify", [], question_back, []
    else:
        compiled = compile_chain(
            form,
            reference_id=reference_id,
            previous=state.get("last_form"),
            default_k=run.config.default_k,
        )
        compiled_action, steps = compiled.action, compiled.steps
        note, exclude = compiled.note, compiled.exclude
    parsed = form.compact()
    k = form.k or run.config.default_k or DEFAULT_K
    previous = state.get("last_form") or {}
    if form.intent == "more_like_previous" and previous.get("form") and steps:
        parsed = {**previous["form"], "k": form.k or previous["form"].get("k") or k}
        k, reference_id = parsed["k"], previous.get("reference_id")
    plan = {
        "action": compiled_action,
        "steps": steps,
        "notes": notes,
        "source": "compiled",
        "intent": parsed,
    }
    if note:
        plan["question" if compiled_action == "clarify" else "note"] = note
    return {
        "plan": plan,
        "form": {
            "parsed": parsed,
            "raw": result.value.compact(),
            "reference_id": reference_id,
            "exclude": exclude,
            "k": k,
        },
        "usage": usage,
    }


def after_understand(state: AssistantState, runtime: Runtime[AssistantContext]) -> str:
    plan = state.get("plan") or {}
    action = plan.get("action")
    if runtime.context.mode == "tools" and action != "clarify":
        return "agent"  # the model calls the tools; the form waits for the verifier
    if action == "plan":
        return "plan"
    if action == "run_tools" and plan.get("steps"):
        return "execute"
    return "answer"
