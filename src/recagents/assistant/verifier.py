"""The constraint verifier: after the chain ran and before the answer, every listed item is
checked against the parsed request, using the store (never the model).

- Every item satisfies every hard filter of the form (each condition checked on its own, so a
  violation names the condition).
- A recommendation holds no item the user already rated, nor an excluded one (the reference
  movie of "like X", the items already shown for "more"), and exactly the k asked.
- A failed step is never papered over: it is listed in the verdict.

On a violation the chain is run once more with the constraints enforced: the allowed set (the
filter over the catalogue, minus seen and excluded items) is computed here and the ranking step
runs within it. If nothing satisfies the constraints, the verdict says which condition cannot be
met and what dropping it would give (``relaxed``), and the ranking runs on that relaxed set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from recagents.errors import RecagentsError
from recagents.services.catalog import build_filter
from recagents.services.requests import FilterRequest

if TYPE_CHECKING:
    from recagents.assistant.state import StepRecord

LISTING_TOOLS = ("recommend_items", "popular_items", "search_plots", "similar_users_favourites")


@dataclass
class Verdict:
    parsed: dict
    satisfied: bool = True
    violations: list[str] = field(default_factory=list)
    items: list[int] = field(default_factory=list)  # the list the answer shows, in order
    enforced: bool = False  # the chain ran again with the constraints enforced
    relaxed: dict | None = None  # {"dropped": condition, "available": n} when nothing fit
    # what the catalogue cannot give, checked against the store: "count: …" when the list
    # already holds every unseen movie that satisfies the constraints (not a violation)
    unmet: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)

    def public(self) -> dict:
        """What ``ask --json`` and the chat show."""
        return asdict(self)


def listing(records: Sequence[StepRecord]) -> StepRecord | None:
    """The last successful listing step's record (what a list answer shows)."""
    for r in reversed(records):
        if r.get("tool") in LISTING_TOOLS and r.get("status") == "success":
            return r
    return None


def listed_ids(record: StepRecord | None) -> list[int]:
    if not record:
        return []
    data = record.get("data") or {}
    return [int(i["item_id"]) for i in data.get("items") or [] if "item_id" in i]


def _conditions(parsed: dict) -> dict[str, Any]:
    return {k: v for k, v in (parsed.get("filters") or {}).items() if v not in (None, [])}


def allowed_by(services, conditions: dict, items: list[int] | None) -> set[int]:
    """Items (within ``items``, or the catalogue) satisfying every condition."""
    if not conditions:
        return set(items) if items is not None else set(services.catalog_ids)
    spec, _ = build_filter(services, FilterRequest.model_validate(conditions))
    return set(services.store.filter_item_ids(spec, items))


def item_violations(services, parsed: dict, items: list[int], user_id: int | None) -> list[str]:
    """One line per (item, broken constraint)."""
    titles = services.titles
    out: list[str] = []
    for key, value in _conditions(parsed).items():
        try:
            ok = allowed_by(services, {key: value}, items)
        except RecagentsError as exc:  # a name the store does not know: no item can have it
            out.append(f"{key}: {exc}")
            continue
        out += [f"{titles.get(i, i)} (id {i}) breaks {key}={value}" for i in items if i not in ok]
    if user_id is not None:
        seen = services.get_recommender().seen_items(user_id, services.view)
        out += [f"{titles.get(i, i)} (id {i}) was already rated by user {user_id}"
                for i in items if i in seen]  # fmt: skip
    return out


def enforced_pool(
    services, parsed: dict, user_id: int | None, exclude: Sequence[int]
) -> tuple[list[int], dict | None]:
    """The allowed set (filter ∩ unseen − excluded) and, when it is empty, the relaxation
    (the single condition whose removal leaves the most items)."""
    seen = services.get_recommender().seen_items(user_id, services.view) if user_id else set()
    conditions = _conditions(parsed)

    def pool(conds: dict) -> list[int]:
        return sorted(allowed_by(services, conds, None) - seen - set(exclude))

    try:
        allowed = pool(conditions)
    except RecagentsError:
        allowed = []
    if allowed or not conditions:
        return allowed, None
    options = {}
    for key in conditions:
        try:
            options[key] = pool({k: v for k, v in conditions.items() if k != key})
        except RecagentsError:
            continue
    if not any(options.values()):
        return [], {"dropped": None, "available": 0}
    key = max(options, key=lambda name: len(options[name]))
    return options[key], {"dropped": key, "available": len(options[key])}


def verify(
    services,
    parsed: dict,
    records: Sequence[StepRecord],
    *,
    k: int | None,
    exclude: Sequence[int] = (),
) -> Verdict:
    """The verdict on this attempt's records (see the module doc)."""
    verdict = Verdict(parsed=parsed)
    verdict.failed_steps = [
        f"step {r['step']} {r['tool']}: {r.get('message', '')}"
        for r in records
        if r.get("status") != "success"
    ]
    record = listing(records)
    if record is None:
        verdict.violations = list(verdict.failed_steps)
        verdict.satisfied = not verdict.violations
        return verdict
    user_id = (
        (record.get("args") or {}).get("user_id") if record["tool"] == "recommend_items" else None
    )
    items = [i for i in listed_ids(record) if i not in set(exclude)]
    if k:
        items = items[:k]
    verdict.items = items
    verdict.violations = item_violations(services, parsed, items, user_id)
    if k and len(items) < k:
        verdict.violations.append(f"count: {len(items)} movies where {k} were asked")
    verdict.violations += verdict.failed_steps
    verdict.satisfied = not verdict.violations
    return verdict


# --- the node ---------------------------------------------------------------------------------
def _intended_listing(plan: dict) -> int | None:
    """The step number of the chain's last listing step (what the answer should show)."""
    found = None
    for number, step in enumerate(plan.get("steps") or [], start=1):
        if step["tool"] in LISTING_TOOLS:
            found = number
    return found


def verify_node(state, runtime) -> dict:
    """Check the compiled chain's outcome; on a violation run the listing step once more within
    the enforced set (or the relaxed one), then check again."""
    from recagents.assistant.answering import turn_records
    from recagents.assistant.executor import run_call
    from recagents.assistant.plan_mode.compiler import DEFAULT_K, LIST_INTENTS
    from recagents.assistant.usage import add_agents_usage
    from recagents.tools.candidates import merge_candidate_sets
    from recagents.tools.runtime import ToolScope

    run = runtime.context
    form = state.get("form") or {}
    parsed = form.get("parsed") or {}
    exclude = list(form.get("exclude") or [])
    plan = state.get("plan") or {}
    records = turn_records(state)
    is_list = parsed.get("intent") in LIST_INTENTS
    k = (form.get("k") or run.config.default_k or DEFAULT_K) if is_list else None
    wanted = _intended_listing(plan)
    by_step = {r["step"]: r for r in records}
    # tools mode has no compiled chain: the model's last successful listing call is the list
    target = by_step.get(wanted) if wanted else (listing(records) if is_list else None)
    usable = [r for r in records if wanted is None or r["step"] != wanted or r is target]
    if wanted and (target is None or target.get("status") != "success"):
        # the listing step failed: never show an earlier step's raw results in its place
        usable = [
            r for r in records if r.get("tool") not in LISTING_TOOLS or r.get("status") != "success"
        ]
    verdict = verify(run.services, parsed, usable, k=k, exclude=exclude)
    if is_list and target is None and run.mode == "tools":
        verdict.violations.append("no tool listed any movie for this request")
        verdict.satisfied = False
    if wanted and target is not None and target.get("status") != "success":
        verdict.violations.append(f"the {target['tool']} step failed: {target.get('message')}")
        verdict.satisfied = False
    update: dict = {}
    if not verdict.satisfied and is_list and target is not None:
        user_id = parsed.get("user_id") if target["tool"] == "recommend_items" else None
        try:
            allowed, relaxed = enforced_pool(run.services, parsed, user_id, exclude)
        except RecagentsError as exc:
            allowed, relaxed = [], None
            verdict.violations.append(f"could not enforce the constraints: {exc}")
        only_short = all(v.startswith("count:") for v in verdict.violations)
        if only_short and relaxed is None and len(allowed) <= len(verdict.items):
            # the list already holds every movie that fits: nothing to re-run, and the short
            # count is the catalogue's, not a broken constraint (the answer says so)
            allowed = []
            verdict.unmet, verdict.violations = verdict.violations, []
            verdict.satisfied = True
        if allowed:
            sets = dict(state.get("candidate_sets") or {})
            scope = ToolScope(run.services, sets)
            origin = "constraints enforced" if relaxed is None else f"without {relaxed['dropped']}"
            handle = scope.register(allowed, origin)
            sets = merge_candidate_sets(sets, scope.created)
            args = {**(target.get("args") or {}), "items": handle}
            if user_id is not None:
                args["user_id"] = user_id
            if "k" in args or target["tool"] in ("recommend_items", "popular_items"):
                args["k"] = k
            step = max(r["step"] for r in records) + 1
            record, sets = run_call(
                run, target["tool"], args, sets, records, state["question"], step
            )
            record["attempt"] = target.get("attempt", 1)
            record["reason"] = "re-run with the constraints enforced"
            trace = [*(state.get("trace") or []), record]
            again = verify(run.services, parsed, [record], k=k, exclude=exclude)
            again.enforced, again.relaxed = True, relaxed
            again.failed_steps = verdict.failed_steps
            if relaxed is not None:
                again.satisfied = False
                again.violations.insert(0, f"nothing satisfies {relaxed['dropped']} as well: "
                                           f"shown without it ({relaxed['available']} movies)")  # fmt: skip
            update.update(
                trace=trace,
                candidate_sets=sets,
                usage=add_agents_usage(state.get("usage"), record.get("data")),
            )
            verdict = again
        elif relaxed is not None:
            verdict.relaxed = relaxed
    update["verdict"] = verdict.public()
    return update
