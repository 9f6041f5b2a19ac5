"""A deterministic compiler: (intent, slots) → the tool chain, in the plan's own step format.

The chain uses the same tools, references (``"$N"``) and executor as a written plan, so the chat
shows the same live steps. Per intent:

- recommend:            [filter_items] → [search_plots(storyline, within)]? →
                        [[user_metadata(age_group)] → popular_items(audience, within)] →
                        recommend_items(user, within, k)
                        → [item_metadata(fields)]
- recommend_by_storyline: [filter_items] → search_plots(storyline, within) →
                        recommend_items(user, within, k) (without a user: the search's top k)
- recommend_similar_to_item: item_metadata(reference, storyline) → search_plots("$1.storyline")
                        → recommend_items(user, within, k) (without a user: the search's top k)
- popular:              [filter_items] → popular_items(audience, within, k)
- user_facts / user_history / similar_users: user_metadata / recent_interactions / similar_users
- item_facts:           item_metadata(named items, fields)
- audience_share:       filter_items | search_plots(storyline) → like_percentage(within)
- catalogue_statistic:  [filter_items] → [item_metadata(movie) →] [search_plots(storyline)] →
                        popular_items(within) → item_metadata(within, fields)
- more_like_previous:   the previous recommendation's chain, asking for more, the shown removed
- explain_previous, clarify: no tools (the answer uses the conversation)

A step marked ``optional`` may fail without stopping the chain: the failure is reported and
later steps use what that step was given instead (a storyline search that cannot run leaves the
filter's set). ``Compiled.constraints`` is what the verifier checks the final items against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recagents.assistant.plan_mode.intent import Understanding

DEFAULT_K = 5
POOL = 50  # items a search / popularity step hands on to the ranking step
STAT_POOL = 20  # popular movies of a kind whose fields a statistic reads
LIST_INTENTS = frozenset(
    {"recommend", "recommend_by_storyline", "recommend_similar_to_item", "popular",
     "more_like_previous"}
)  # fmt: skip
NO_TOOLS = frozenset({"explain_previous", "clarify"})


@dataclass
class Compiled:
    """The chain (``[{"tool", "args", "optional"?}]``) or, without one, what to answer."""

    steps: list[dict] = field(default_factory=list)
    action: str = "run_tools"  # run_tools | ask_user_id | answer_directly | clarify | plan
    note: str = ""  # clarify: the question; others: why the chain looks as it does
    exclude: list[int] = field(default_factory=list)  # items never to list (reference, shown)


class _Chain:
    def __init__(self) -> None:
        self.steps: list[dict] = []

    def add(self, tool: str, args: dict, *, optional: bool = False) -> str:
        step: dict[str, Any] = {"tool": tool, "args": args}
        if optional:
            step["optional"] = True
        self.steps.append(step)
        return f"${len(self.steps)}"

    @property
    def last(self) -> str | None:
        return f"${len(self.steps)}" if self.steps else None


def _within(args: dict, items: str | None) -> dict:
    return {**args, "items": items} if items else args


def _filters(u: Understanding) -> dict:
    return u.filters.model_dump(mode="json", exclude_none=True) if u.filters else {}


def _item_fields(u: Understanding) -> list[str]:
    from typing import get_args

    from recagents.services.requests import ItemField

    allowed = set(get_args(ItemField))
    return [f for f in u.fields or [] if f in allowed]


def _user_fields(u: Understanding) -> list[str]:
    from typing import get_args

    from recagents.services.requests import UserField

    allowed = set(get_args(UserField))
    return [f for f in u.fields or [] if f in allowed]


def compile_chain(
    u: Understanding,
    *,
    reference_id: int | None = None,
    previous: dict | None = None,
    default_k: int | None = None,
) -> Compiled:
    """The chain for ``u`` (grounded already); ``reference_id`` is the catalogue id of
    ``u.reference``; ``previous`` the last recommendation's form and items (for "more")."""
    k = u.k or default_k or DEFAULT_K
    chain = _Chain()
    intent = u.intent
    if intent == "other":
        return Compiled(action="plan")
    if intent == "clarify":
        return Compiled(action="clarify", note=u.question or "")
    if intent == "explain_previous":
        return Compiled(action="answer_directly")
    if intent == "more_like_previous":
        if not previous or not previous.get("form"):
            return Compiled(action="plan", note="no earlier recommendation to continue")
        form = Understanding.model_validate(previous["form"])
        shown = [int(i) for i in previous.get("items", [])]
        more = compile_chain(
            form.model_copy(update={"k": (u.k or form.k or k) + len(shown)}),
            reference_id=previous.get("reference_id"),
        )
        more.exclude = [*more.exclude, *shown]
        return more
    needs_user = intent in ("recommend", "user_facts", "user_history", "similar_users")
    if needs_user and u.user_id is None:
        return Compiled(action="ask_user_id")
    filters = _filters(u)
    fields = _item_fields(u)
    if intent in ("recommend", "recommend_by_storyline", "recommend_similar_to_item"):
        exclude: list[int] = []
        if filters:
            chain.add("filter_items", filters)
        if intent == "recommend_similar_to_item":
            if reference_id is None:
                return Compiled(action="clarify", note="Which movie should they be like?")
            exclude = [reference_id]
            chain.add("item_metadata", {"items": [reference_id], "fields": ["title", "storyline"]})
            ref = chain.last
            chain.add(
                "search_plots",
                _within({"query": f"{ref}.storyline", "k": POOL}, _filter_set(chain)),
            )
        elif u.storyline:
            story_optional = intent == "recommend"  # a mood refines; a storyline request needs it
            chain.add(
                "search_plots",
                _within({"query": u.storyline, "k": POOL if u.user_id else k + 1}, chain.last),
                optional=story_optional,
            )
        _popular(chain, u, POOL)
        if u.user_id is not None:
            chain.add("recommend_items", _within({"user_id": u.user_id, "k": k}, chain.last))
        elif chain.steps and chain.steps[-1]["tool"] == "search_plots":
            chain.steps[-1]["args"]["k"] = k + len(exclude)  # not personal: the search's top k
        else:  # personal recommendations need a user id
            return Compiled(action="ask_user_id")
        if fields:
            chain.add("item_metadata", {"items": chain.last, "fields": ["title", *fields]})
        return Compiled(chain.steps, exclude=exclude)
    if intent == "popular":
        if filters:
            chain.add("filter_items", filters)
        _popular(chain, u, k, always=True)
        if fields:
            chain.add("item_metadata", {"items": chain.last, "fields": ["title", *fields]})
        return Compiled(chain.steps)
    if intent == "user_facts":
        args = {"user_id": u.user_id, **({"fields": fs} if (fs := _user_fields(u)) else {})}
        chain.add("user_metadata", args)
        return Compiled(chain.steps)
    if intent == "user_history":
        chain.add("recent_interactions", {"user_id": u.user_id, "n": u.k or 10})
        return Compiled(chain.steps)
    if intent == "similar_users":
        chain.add("similar_users", {"user_id": u.user_id, "n": u.k or 10})
        return Compiled(chain.steps)
    if intent == "item_facts":
        items = list(u.item_ids or []) + ([reference_id] if reference_id is not None else [])
        if not items:
            return Compiled(action="clarify", note="Which movie do you mean (a title or an id)?")
        chain.add("item_metadata", {"items": items, **({"fields": fields} if fields else {})})
        return Compiled(chain.steps)
    if intent == "audience_share":
        if filters:
            chain.add("filter_items", filters)
        if u.storyline:
            chain.add("search_plots", _within({"query": u.storyline, "k": u.k or 10}, chain.last))
        if not chain.steps:
            return Compiled(action="plan", note="no kind of movie to measure")
        chain.add("like_percentage", {"items": chain.last})
        return Compiled(chain.steps)
    if intent == "catalogue_statistic":
        if filters:
            chain.add("filter_items", filters)
        _story_search(chain, u, reference_id, STAT_POOL)
        _popular(chain, u, STAT_POOL, always=True)
        chain.add("item_metadata", {"items": chain.last, "fields": ["title", *(fields or [])]})
        return Compiled(chain.steps)
    return Compiled(action="plan")


def _popular(chain: _Chain, u: Understanding, k: int, *, always: bool = False) -> None:
    """popular_items within the chain's set so far: among the stated groups, or the user's own
    age group (read first with user_metadata), or everybody ("popular horror movies")."""
    within = chain.last
    args: dict = {"k": k}
    if u.audience_of_user and u.user_id is not None:
        chain.add("user_metadata", {"user_id": u.user_id, "fields": ["age_group"]})
        args["user_group"] = [f"{chain.last}.age_group"]
    elif u.audience:
        args["user_group"] = list(u.audience)
    elif not (u.popular or always):
        return
    chain.add("popular_items", _within(args, within))


def _story_search(chain: _Chain, u: Understanding, reference_id: int | None, k: int) -> None:
    """A statistic over movies like a described plot, or like a given movie's plot."""
    within = chain.last
    movie = reference_id if reference_id is not None else (u.item_ids[0] if u.item_ids else None)
    if movie is not None:
        chain.add("item_metadata", {"items": [movie], "fields": ["title", "storyline"]})
        chain.add("search_plots", _within({"query": f"{chain.last}.storyline", "k": k}, within))
    elif u.storyline:
        chain.add("search_plots", _within({"query": u.storyline, "k": k}, within))


def _filter_set(chain: _Chain) -> str | None:
    """The filter's set, when the chain starts with one (a search within it)."""
    return "$1" if chain.steps and chain.steps[0]["tool"] == "filter_items" else None
