"""filter_items: hard filters over the catalog (see ``services.catalog`` for the semantics)."""

from __future__ import annotations

from recagents.services.catalog import filter_items as filter_service
from recagents.services.requests import FilterRequest
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.runtime import ItemsArg, ToolArgs, ToolScope


class FilterItemsArgs(FilterRequest, ToolArgs):
    items: ItemsArg = None


def filter_items(scope: ToolScope, args: FilterItemsArgs) -> dict:
    candidates = scope.resolve(args.items)
    req = FilterRequest.model_validate(args.model_dump(exclude={"items"}))
    found = filter_service(scope.ctx, req, candidates)
    conditions = "; ".join(found.conditions)
    data = scope.id_set(found.item_ids, "filter_items: " + conditions)
    where = "" if candidates is None else f" within the {len(candidates)} given items"
    return ToolResult.success(
        f"{len(found.item_ids)} items satisfy {conditions}{where}. Pass handle "
        f"{data['handle']} as `items` to the next tool (no need to copy ids).",
        data,
    )


SPEC = ToolSpec(
    name="filter_items",
    description=(
        "Find the movies that satisfy hard conditions: genres, actors, directors, writers, "
        "production countries, release year / IMDb rating / duration in minutes / number of "
        'IMDb reviews (each a condition like {"request": "higher", "threshold": 7} or a list '
        "of them for a range), release month (1-12) and age rating. All conditions must hold. "
        "Returns a candidate handle (e.g. 'C1'), the count and a preview; pass the handle as "
        "`items` to recommend_items, popular_items, search_plots, item_metadata or "
        "like_percentage. Use `items` here too to filter an existing candidate set further."
    ),
    args_schema=FilterItemsArgs,
    fn=filter_items,
)
