"""The reply: written by the model from the turn's results, then grounded before it is sent.

The answer writer may only pick ids the tools returned (its schema enumerates them), and its
text is checked by ``grounding``: a sentence naming any other movie is removed. The movies are
listed under the text from the store's own titles, with the agents' reasons for recommendations.
If the model fails, a plain summary of the results is sent instead: never nothing.
"""

from __future__ import annotations

import logging

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from recagents.assistant.memory import digest, ids_in, trace_lines
from recagents.assistant.prompts import ANSWER_SYSTEM, as_data
from recagents.assistant.state import AssistantContext, AssistantState, StepRecord
from recagents.assistant.usage import add_llm_usage
from recagents.errors import RecagentsError
from recagents.llm import constrain_ids, structured_call
from recagents.services.grounding import drop_title_lists

log = logging.getLogger(__name__)
MAX_LISTED = 20
ASK_USER_ID = (
    "Which user is this for? Please give me a user id (MovieLens users are numbered 1-943), "
    'for example: "recommend 5 comedies to user 17".'
)
OFFER = "Would you like me to explain why these were picked, or find more like one of them?"


class AnswerText(BaseModel):
    text: str = Field(max_length=700, description="The reply, in plain words (a few sentences).")


class Answer(AnswerText):
    item_ids: list[int] = Field(
        default_factory=list,
        max_length=MAX_LISTED,
        description="The movies the reply recommends or lists, in order (ids from the results).",
    )


def turn_records(state: AssistantState) -> list[StepRecord]:
    """The records the answer stands on: the last attempt's (plan mode) or all (tools mode)."""
    trace = state.get("trace") or []
    if not trace:
        return []
    last = trace[-1].get("attempt")
    return [r for r in trace if r.get("attempt") == last]


def recommendation_of(records: list[StepRecord]) -> dict | None:
    for r in reversed(records):
        if r["tool"] == "recommend_items" and r.get("status") == "success":
            return r["data"]
    return None


def allowed_ids(state: AssistantState, records: list[StepRecord]) -> list[int]:
    ids = ids_in([r.get("data") for r in records if r.get("status") == "success"])
    if not records:  # a follow-up answered from memory: the last recommendation's items
        rec = state.get("last_recommendation") or {}
        ids = ids_in(rec.get("items") or [])
    return ids


def grounded_reasons(run: AssistantContext, rec: dict | None) -> dict[int, str]:
    """The agents' reason per item, minus sentences naming a movie other than the item itself
    or one the user rated (a small model sometimes explains one pick with another's title)."""
    if not rec:
        return {}
    seen = set(run.services.get_recommender().seen_items(rec["user_id"], run.services.view))
    index, reasons = run.title_index, {}
    for item in rec.get("items", []):
        if item.get("why"):
            text = index.ground(item["why"], seen | {item["item_id"]}).text
            if text:
                reasons[item["item_id"]] = text
    return reasons


def answer_messages(
    state: AssistantState, run: AssistantContext, records: list[StepRecord]
) -> list:
    parts = []
    memory = digest(state, run.config.history_turns)
    if memory:
        parts.append(as_data("conversation", memory))
    rec = state.get("last_recommendation")
    if not records and rec:
        parts.append(as_data("last_recommendation_reasons", str(rec.get("items"))[:1500]))
    if records:
        per_step = max(200, run.config.result_chars // max(1, len(records)))
        lines = trace_lines(records, with_data=True, limit=per_step)
        parts.append(as_data("tool_results", "\n".join(lines)))
    else:
        parts.append(
            "No tool was run for this message: you know nothing about users or movies beyond "
            "the conversation above. If the message asks for such facts, say you could not look "
            "them up and suggest how to ask (e.g. with a user id)."
        )
    parts.append(as_data("user_message", state["question"]))
    parts.append("Reply:")
    return [SystemMessage(ANSWER_SYSTEM), HumanMessage("\n\n".join(parts))]


def fallback_text(records: list[StepRecord], error: str = "") -> str:
    """A plain reply from the results alone (the model failed or is unreachable)."""
    lines = [f"Sorry, I could not complete this answer ({error})." if error else ""]
    for r in records:
        lines.append(("" if r["status"] == "success" else "Problem: ") + r.get("message", ""))
    return "\n".join(line for line in lines if line).strip() or "I could not answer that."


def _short(error: str) -> str:
    return error if len(error) <= 160 else error[:157] + "…"


def render(run: AssistantContext, text: str, items: list[int], reasons: dict[int, str]) -> str:
    titles = run.services.titles
    lines = [text.strip()] if text.strip() else []
    if items:
        listed = []
        for n, item_id in enumerate(items, 1):
            why = reasons.get(item_id)
            listed.append(f"{n}. {titles.get(item_id)}" + (f" — {why}" if why else ""))
        lines.append("\n".join(listed))
    return "\n\n".join(lines)


def answer_node(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict:
    run = runtime.context
    plan = state.get("plan") or {}
    records = turn_records(state)
    usage = state.get("usage")
    if plan.get("action") == "ask_user_id":
        return finalize_turn(state, ASK_USER_ID, [], usage, records)
    if plan.get("action") == "clarify":
        question = plan.get("question") or "Could you say a little more about what you want?"
        return finalize_turn(state, question, [], usage, records)
    verdict = state.get("verdict")
    if verdict is not None and verdict_lists(state) and run.config.list_answers == "template":
        return list_answer(state, run, records, verdict)
    allowed = allowed_ids(state, records)
    rec = recommendation_of(records)
    reasons = grounded_reasons(run, rec)
    error = plan.get("error", "")
    text, chosen, removed = "", [], []
    if not error:
        # a recommendation turn lists the recommended items (never e.g. the seen ones that an
        # earlier filter step also returned); the text may still mention any returned item
        choice = [i["item_id"] for i in rec["items"]] if rec and rec.get("items") else allowed
        schema = constrain_ids(Answer, choice, "item_ids") if choice else AnswerText
        try:
            result = structured_call(
                run.required_llm(),
                schema,
                answer_messages(state, run, records),
                max_tokens=run.config.answer_max_tokens,
                stream=True,  # the chat shows the text as it comes (LangGraph "messages")
                config=get_config(),
            )
            usage = add_llm_usage(usage, result.usage)
            text = result.value.text
            chosen = list(dict.fromkeys(getattr(result.value, "item_ids", []) or []))
        except RecagentsError as exc:
            log.warning("answer writer failed: %s", exc)
            error = str(exc)
    if error:
        text = fallback_text(records, _short(error))
    grounded = run.title_index.ground(text, allowed)
    removed = grounded.removed
    items = chosen or grounded.items
    if rec and not chosen:  # a recommendation is always shown, in the agents' order
        items = [i["item_id"] for i in rec["items"]]
    text = drop_title_lists(grounded.text, run.title_index) if items else grounded.text
    body = render(run, text, items, reasons)
    if rec and rec.get("items"):
        body += f"\n\n{OFFER}"
    return finalize_turn(state, body, items, usage, records, removed)


def verdict_lists(state: AssistantState) -> bool:
    from recagents.assistant.plan_mode.compiler import LIST_INTENTS

    parsed = (state.get("form") or {}).get("parsed") or {}
    return parsed.get("intent") in (*LIST_INTENTS, "audience_share")


def list_answer(state: AssistantState, run: AssistantContext, records, verdict: dict) -> dict:
    """A list turn's reply from the data alone: what was asked, what the verifier found, the
    verified items with the agents' checked reasons (no free text to contradict the store)."""
    from recagents.assistant.describe import describe_list

    rec = recommendation_of(records)
    items = list(verdict.get("items") or [])
    reasons = grounded_reasons(run, rec)
    share = next((r for r in records if r["tool"] == "like_percentage"), None)
    if share is not None:  # the share is the answer; the movies it counted are listed
        text = share["message"] if share["status"] == "success" else fallback_text([share])
        items = items if share["status"] == "success" else []
    else:
        text = describe_list(run.services, state, verdict, records)
    body = render(run, text, items, reasons)
    if rec and items:
        body += f"\n\n{OFFER}"
    update = finalize_turn(state, body, items, state.get("usage"), records)
    if items:
        form = state.get("form") or {}
        update["last_form"] = {
            "form": form.get("parsed"),
            "items": [*(form.get("exclude") or []), *items],
            "reference_id": form.get("reference_id"),
        }
    return update


def finalize_turn(state, text, items, usage, records, removed=()) -> dict:
    """The turn's outcome: the reply message, the answer record and what memory keeps."""
    rec = recommendation_of(records)
    update: dict = {
        "messages": [AIMessage(text)],
        "answer": {"text": text, "items": items, "removed": list(removed)},
        "usage": usage or {},
    }
    if rec:
        update["last_recommendation"] = {
            "user_id": rec.get("user_id"),
            "handle": rec.get("handle"),
            "items": rec.get("items", []),
        }
    users = [r["args"].get("user_id") for r in records if r.get("status") == "success"]
    users = [u for u in users if isinstance(u, int)]
    if users:
        update["user_id"] = users[-1]
    return update
