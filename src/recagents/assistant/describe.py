"""The text above a verified list, written from the parsed request and the verdict only.

It states what was asked (as the store's conditions), who the list is for and how it was ranked,
then everything the verifier found: a failed step, a shortfall, a relaxed condition. It never
describes the movies themselves, so it cannot claim a property they lack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recagents.errors import RecagentsError
from recagents.services.catalog import build_filter
from recagents.services.requests import FilterRequest

if TYPE_CHECKING:
    from recagents.assistant.state import AssistantState, StepRecord

WHO = {
    "kid": "kids", "teenager": "teenagers", "young_adult": "young adults", "adult": "adults",
    "senior": "seniors", "male": "male viewers", "female": "female viewers",
}  # fmt: skip


def conditions_text(services, parsed: dict) -> str:
    filters = {k: v for k, v in (parsed.get("filters") or {}).items() if v not in (None, [])}
    if not filters:
        return ""
    try:
        _, text = build_filter(services, FilterRequest.model_validate(filters))
    except RecagentsError:
        text = [f"{k} {v}" for k, v in filters.items()]
    return "; ".join(text)


def describe_list(services, state: AssistantState, verdict: dict, records: list[StepRecord]) -> str:
    form = state.get("form") or {}
    parsed = verdict.get("parsed") or form.get("parsed") or {}
    items = verdict.get("items") or []
    titles = services.titles
    ranked = next(
        (r for r in reversed(records) if r.get("tool") == "recommend_items" and r.get("data")),
        None,
    )
    user = parsed.get("user_id") if ranked else None
    parts = []
    what = f"{len(items)} movie{'s' if len(items) != 1 else ''}"
    if ranked is not None and user is not None:
        how = (
            "ranked by the recommendation agents"
            if (ranked.get("data") or {}).get("path") == "agents"
            else "ranked by the recommender"
        )
        what += f" for user {user} that they have not rated yet, {how}"
    elif any(r.get("tool") == "popular_items" for r in records):
        groups = parsed.get("audience") or []
        who = " and ".join(WHO.get(g, g) for g in groups) or "all users"
        what += f", the most rated by {who}"
    elif any(r.get("tool") == "search_plots" for r in records):
        what += ", the closest plot matches"
    conditions = conditions_text(services, parsed)
    if conditions:
        what += f"; every one satisfies: {conditions}"
    reference = form.get("reference_id")
    if reference is not None:
        what += f"; chosen for a story like {titles.get(reference, reference)}'s"
    elif parsed.get("storyline"):
        what += f"; the story matched against: \u201c{parsed['storyline']}\u201d"
    if parsed.get("audience") and user is not None:
        what += "; among the movies most rated by " + " and ".join(
            WHO.get(g, g) for g in parsed["audience"]
        )
    verb = "Here is " if len(items) == 1 else "Here are "
    parts.append((verb + what + ".") if items else "I found no movie that fits.")
    relaxed = verdict.get("relaxed")
    if relaxed and relaxed.get("dropped"):
        parts.append(
            f"No movie satisfies every condition, so the list drops {relaxed['dropped']} "
            f"({relaxed['available']} movies remain without it)."
        )
    elif relaxed:
        parts.append(
            "Even dropping one condition at a time leaves no movie: try a broader request."
        )
    for line in verdict.get("failed_steps") or []:
        parts.append(f"Note: {line} (reported, not papered over).")
    k = parsed.get("k") or form.get("k")
    if k and 0 < len(items) < k:
        parts.append(f"Only {len(items)} of the {k} asked for meet the request.")
    if not verdict.get("satisfied", True) and not relaxed:
        shown = [v for v in verdict.get("violations") or [] if "count:" not in v][:3]
        if shown:
            parts.append("Problems: " + "; ".join(shown) + ".")
    return " ".join(parts)
