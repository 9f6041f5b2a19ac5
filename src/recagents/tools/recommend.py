"""recommend_items: personalised top-k from the BPR model (seen items never returned)."""

from __future__ import annotations

from pydantic import Field

from recagents.errors import InvalidArgumentError
from recagents.tools.context import ToolContext
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.schemas import ItemsArg, StrictArgs


class RecommendItemsArgs(StrictArgs):
    user_id: int = Field(description="MovieLens user id (1-943).")
    k: int = Field(10, description="How many items to return (1 to the configured maximum).")
    items: ItemsArg = None


def recommend_items(ctx: ToolContext, thread_id: str, args: RecommendItemsArgs) -> dict:
    uid = ctx.store.require_user(args.user_id)
    k = ctx.check_k(args.k)
    candidates = ctx.resolve_items(thread_id, args.items)
    if candidates is None and ctx.options.universe is not None:
        candidates = sorted(ctx.options.universe)
    if candidates is not None and not candidates:
        raise InvalidArgumentError("the candidate set is empty: nothing to rank. Relax the filter.")
    top = ctx.get_recommender().top_k(uid, k=k, candidates=candidates, exclude_seen=True)
    ids = [s.item_id for s in top.items]
    if not ids:
        return ToolResult.failure(
            f"user {uid} has already rated every candidate item: nothing left to recommend. "
            "Widen the candidate set.",
            {"user_id": uid, "count": 0},
        )
    handle = ctx.bus.put(thread_id, ids, f"recommend_items user {uid}")
    data = {
        "user_id": uid,
        "handle": handle,
        "items": [
            {"item_id": s.item_id, "title": ctx.titles.get(s.item_id), "score": round(s.score, 4)}
            for s in top.items
        ],
        "fallback": top.fallback,
        "model": top.model,
    }
    note = f" Note: {top.reason}." if top.fallback and top.reason else ""
    short = f" Only {len(ids)} unseen candidates remained." if len(ids) < k else ""
    return ToolResult.success(
        f"Top {len(ids)} recommendations for user {uid}, best first (items the user already "
        f"rated are excluded).{short}{note} Handle {handle} holds this ranked list.",
        data,
    )


SPEC = ToolSpec(
    name="recommend_items",
    description=(
        "Personalised recommendations for a user from the collaborative-filtering model (BPR), "
        "best first, never an item the user already rated. Give `items` (a handle like 'C1' "
        "from filter_items/search_plots, or ids) to rank only within that candidate set."
    ),
    args_schema=RecommendItemsArgs,
    fn=recommend_items,
)
