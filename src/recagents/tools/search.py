"""search_plots: plot and title search in the vector store (dense, keyword or hybrid)."""

from __future__ import annotations

from recagents.services.catalog import search_plots as search_service
from recagents.services.requests import SearchRequest
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.runtime import ItemsArg, ToolArgs, ToolScope

MATCHING = {
    "dense": "whose plot is closest to",
    "keyword": "holding the words of",
    "hybrid": "matching (by meaning and by words)",
}
SCORES = {
    "dense": "cosine similarity",
    "keyword": "BM25",
    "hybrid": "reciprocal-rank fusion of both",
}


class SearchPlotsArgs(SearchRequest, ToolArgs):
    items: ItemsArg = None


def search_plots(scope: ToolScope, args: SearchPlotsArgs) -> dict:
    req = SearchRequest.model_validate(args.model_dump(exclude={"items"}))
    hits = search_service(scope.ctx, req, scope.resolve(args.items))
    handle = scope.register([h.item_id for h in hits], f"search_plots: {req.query[:60]}")
    data = {
        "handle": handle,
        "items": [{**h.model_dump(), "score": round(h.score, 4)} for h in hits],
    }
    return ToolResult.success(
        f"{len(hits)} items {MATCHING[req.mode]} {req.query!r}, best first (score = "
        f"{SCORES[req.mode]}). Handle {handle} holds them.",
        data,
    )


SPEC = ToolSpec(
    name="search_plots",
    description=(
        "Search over movie plots and descriptions: finds movies about a theme, story or mood "
        "described in words (e.g. 'a heist that goes wrong'); mode keyword or hybrid also "
        "finds a title word, a director's or actor's name or a rare term. Optionally only "
        "within `items` (a handle or ids), some genres, or a year range. Best match first."
    ),
    args_schema=SearchPlotsArgs,
    fn=search_plots,
)
