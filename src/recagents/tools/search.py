"""search_plots: semantic search over plot texts in the vector store."""

from __future__ import annotations

from pydantic import Field

from recagents.errors import InvalidArgumentError
from recagents.tools.context import ToolContext
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.schemas import ItemsArg, NameList, StrictArgs


class SearchPlotsArgs(StrictArgs):
    query: str = Field(description="What the plot should be about, in plain words.")
    k: int = Field(10, description="How many items to return.")
    items: ItemsArg = None
    genres: NameList = Field(None, description="Only items with ANY of these genres.")
    year_from: int | None = Field(None, description="Earliest release year (inclusive).")
    year_to: int | None = Field(None, description="Latest release year (inclusive).")


def search_plots(ctx: ToolContext, thread_id: str, args: SearchPlotsArgs) -> dict:
    if not args.query.strip():
        raise InvalidArgumentError("query is empty: describe the plot you are looking for")
    k = ctx.check_k(args.k)
    candidates = ctx.resolve_items(thread_id, args.items)
    if candidates is None and ctx.options.universe is not None:
        candidates = sorted(ctx.options.universe)
    if candidates is not None and not candidates:
        raise InvalidArgumentError("the candidate set is empty: nothing to search in")
    year_range = None
    if args.year_from is not None or args.year_to is not None:
        year_range = (args.year_from, args.year_to)
    hits = ctx.get_vectors().search(
        args.query, k=k, candidates=candidates, genres=args.genres or None, year_range=year_range
    )
    if not hits:
        return ToolResult.failure(
            "No item matched the search restrictions (candidates / genres / years): relax them.",
            {"count": 0},
        )
    handle = ctx.bus.put(thread_id, [h.item_id for h in hits], f"search_plots: {args.query[:60]}")
    data = {
        "handle": handle,
        "items": [
            {
                "item_id": h.item_id,
                "title": h.title,
                "year": h.year,
                "genres": h.genres,
                "score": round(h.score, 4),
            }
            for h in hits
        ],
    }
    return ToolResult.success(
        f"{len(hits)} items whose plot is closest to {args.query!r}, best first (score = cosine "
        f"similarity). Handle {handle} holds them.",
        data,
    )


SPEC = ToolSpec(
    name="search_plots",
    description=(
        "Semantic search over movie plots and descriptions: finds movies about a theme, story "
        "or mood described in words (e.g. 'a heist that goes wrong'). Optionally only within "
        "`items` (a handle or ids), some genres, or a year range. Best match first."
    ),
    args_schema=SearchPlotsArgs,
    fn=search_plots,
)
