"""recommend_items: personalised top-k from the recommender (seen items never returned)."""

from __future__ import annotations

from recagents.services.recommend import recommend
from recagents.services.requests import RecommendRequest
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.runtime import ItemsArg, ToolArgs, ToolScope


class RecommendItemsArgs(RecommendRequest, ToolArgs):
    items: ItemsArg = None


def recommend_items(scope: ToolScope, args: RecommendItemsArgs) -> dict:
    req = RecommendRequest.model_validate(args.model_dump(exclude={"items"}))
    rec = recommend(scope.ctx, req, scope.resolve(args.items))
    handle = scope.register(rec.item_ids, f"recommend_items user {rec.user_id}")
    data = {
        "user_id": rec.user_id,
        "handle": handle,
        "items": [
            {"item_id": i.item_id, "title": i.title, "score": round(i.score, 4)} for i in rec.items
        ],
        "fallback": rec.fallback,
        "model": rec.model,
    }
    note = f" Note: {rec.reason}." if rec.fallback and rec.reason else ""
    short = f" Only {len(rec.items)} unseen candidates remained." if len(rec.items) < req.k else ""
    return ToolResult.success(
        f"Top {len(rec.items)} recommendations for user {rec.user_id}, best first (items the user "
        f"already rated are excluded).{short}{note} Handle {handle} holds this ranked list.",
        data,
    )


SPEC = ToolSpec(
    name="recommend_items",
    description=(
        "Personalised recommendations for a user from the collaborative-filtering model, "
        "best first, never an item the user already rated. Give `items` (a handle like 'C1' "
        "from filter_items/search_plots, or ids) to rank only within that candidate set."
    ),
    args_schema=RecommendItemsArgs,
    fn=recommend_items,
)
