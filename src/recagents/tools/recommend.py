"""recommend_items: a user's personalised top-k, never an item the user already rated.

ONE tool on two paths, chosen by the run (``ToolScope.agents``), never by the caller:

- the engine path: the recommendation engine (the trained collaborative-filtering model) ranks
  the unseen items and gives each a score;
- the agents path (the chat's default when an LLM is loaded): the ARAG agents take the engine's
  unseen candidates (plus plot matches for the question), re-rank them with the LLM and explain
  each pick in one checked sentence (``why``).

Both return ``RecommendedItems``: the same fields, the path-specific ones optional.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel

from recagents.errors import EmptyResultError
from recagents.llm.accounting import Usage
from recagents.services.recommend import recommend
from recagents.services.requests import RecommendRequest
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.runtime import ItemsArg, ToolArgs, ToolScope
from recagents.vocabulary import RecommendVia


class RecommendItemsArgs(RecommendRequest, ToolArgs):
    items: ItemsArg = None


class RecommendedItem(BaseModel):
    item_id: int
    title: str | None
    score: float | None = None  # the engine path: the engine's score
    why: str | None = None  # the agents path: why the agents picked it (checked against the data)


class AgentPicks(BaseModel):
    """What the agents path gives back for one call."""

    items: list[RecommendedItem]
    fallback: bool  # the LLM failed: the engine's order with template reasons
    usage: Usage


class AgentsPath(Protocol):
    """The ARAG agents as the run offers them to recommend_items (built by the assistant)."""

    def __call__(self, user_id: int, k: int, candidates: Sequence[int] | None) -> AgentPicks: ...


class RecommendedItems(BaseModel):
    """recommend_items' data, on either path."""

    user_id: int
    handle: str  # the candidate set holding the ranked ids
    items: list[RecommendedItem]
    path: RecommendVia  # which path ranked the items
    fallback: bool  # engine: the model does not know the user; agents: the LLM failed
    model: str | None = None  # the engine path: the engine's model, e.g. "BPR"
    usage: Usage | None = None  # the agents path: their LLM usage


def _engine(scope: ToolScope, args: RecommendItemsArgs, req: RecommendRequest) -> dict:
    rec = recommend(scope.ctx, req, scope.resolve(args.items))
    data = RecommendedItems(
        user_id=rec.user_id,
        handle=scope.register(rec.item_ids, f"recommend_items user {rec.user_id}"),
        items=[
            RecommendedItem(item_id=i.item_id, title=i.title, score=round(i.score, 4))
            for i in rec.items
        ],
        path="engine",
        fallback=rec.fallback,
        model=rec.model,
    )
    note = f" Note: {rec.reason}." if rec.fallback and rec.reason else ""
    return ToolResult.success(
        f"Top {len(data.items)} recommendations for user {data.user_id}, best first (items the "
        f"user already rated are excluded).{_short(data, req)}{note} Handle {data.handle} holds "
        "this ranked list.",
        data.model_dump(mode="json", exclude_none=True),
    )


def _agents(scope: ToolScope, args: RecommendItemsArgs, req: RecommendRequest) -> dict:
    agents = scope.agents
    assert agents is not None
    user_id = scope.ctx.store.require_user(req.user_id)  # unknown: an error, not a cold start
    picks = agents(user_id, req.k, scope.resolve(args.items))
    if not picks.items:
        raise EmptyResultError(
            f"user {user_id} has already rated every candidate item: nothing left to recommend. "
            "Widen the candidate set.",
            {"user_id": user_id, "count": 0},
        )
    data = RecommendedItems(
        user_id=user_id,
        handle=scope.register([i.item_id for i in picks.items], f"recommend_items user {user_id}"),
        items=picks.items,
        path="agents",
        fallback=picks.fallback,
        usage=picks.usage,
    )
    return ToolResult.success(
        f"Top {len(data.items)} recommendations for user {user_id}, best first, each with the "
        f"reason the agents picked it (items the user already rated are excluded)."
        f"{_short(data, req)} Handle {data.handle} holds this ranked list.",
        data.model_dump(mode="json", exclude_none=True),
    )


def _short(data: RecommendedItems, req: RecommendRequest) -> str:
    return f" Only {len(data.items)} unseen candidates remained." if len(data.items) < req.k else ""


def recommend_items(scope: ToolScope, args: RecommendItemsArgs) -> dict:
    req = RecommendRequest.model_validate(args.model_dump(exclude={"items"}))
    return (_engine if scope.agents is None else _agents)(scope, args, req)


SPEC = ToolSpec(
    name="recommend_items",
    description=(
        "Personalised recommendations for a user, best first, never an item the user already "
        "rated. The recommendation engine (a collaborative-filtering model) ranks the unseen "
        "items; where the recommendation agents are on, they re-rank the engine's candidates "
        "and give each pick a one-sentence reason (`why`). Give `items` (a handle like 'C1' "
        "from filter_items/search_plots, or ids) to rank only within that candidate set."
    ),
    args_schema=RecommendItemsArgs,
    fn=recommend_items,
)
