"""The tool list for one conversation: ``build_tools(ctx, thread_id)``.

Each tool is a LangChain ``StructuredTool`` with a pydantic ``args_schema``; it returns the
``{"status", "message", "data"}`` dict (LangChain serialises it to JSON for the model) and never
raises: bad arguments come back as a failure the model can act on.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool

from recagents.tools import filters, metadata, popularity, recommend, search, social
from recagents.tools.context import ToolContext
from recagents.tools.results import ToolSpec, validation_error_handler

TOOL_SPECS: tuple[ToolSpec, ...] = (
    recommend.SPEC,
    filters.SPEC,
    search.SPEC,
    *popularity.SPECS,
    *metadata.SPECS,
    *social.SPECS,
)
SPECS_BY_NAME = {spec.name: spec for spec in TOOL_SPECS}

# The peer project's (recsys-agent) tool names → ours (arguments differ: see eval.tools_replay).
PEER_NAME_MAP = {
    "get_top_k_recommendations_tool": "recommend_items",
    "item_filter_tool": "filter_items",
    "vector_store_search_tool": "search_plots",
    "get_like_percentage_tool": "like_percentage",
    "get_popular_items_tool": "popular_items",
    "get_user_metadata_tool": "user_metadata",
    "get_item_metadata_tool": "item_metadata",
    "get_interacted_items_tool": "recent_interactions",
}


def _make_tool(spec: ToolSpec, ctx: ToolContext, thread_id: str) -> StructuredTool:
    def run(**kwargs) -> dict:
        return spec.run(ctx, thread_id, kwargs)

    return StructuredTool.from_function(
        func=run,
        name=spec.name,
        description=spec.description,
        args_schema=spec.args_schema,
        handle_validation_error=validation_error_handler(spec.name),
    )


def build_tools(ctx: ToolContext, thread_id: str, names: list[str] | None = None) -> list[BaseTool]:
    """The tools bound to ``ctx`` and one conversation's candidate-bus namespace.

    ``names`` selects a subset (unknown names are an error listing the valid ones).
    """
    if names is not None:
        unknown = [n for n in names if n not in SPECS_BY_NAME]
        if unknown:
            raise ValueError(f"unknown tool name(s) {unknown}: valid are {list(SPECS_BY_NAME)}")
    specs = TOOL_SPECS if names is None else [SPECS_BY_NAME[n] for n in names]
    return [_make_tool(spec, ctx, thread_id) for spec in specs]
