"""LangChain tools over the stores and the recommender, with a per-conversation candidate bus."""

from recagents.tools.bus import CandidateBus
from recagents.tools.context import ToolContext, ToolOptions
from recagents.tools.registry import PEER_NAME_MAP, TOOL_SPECS, build_tools
from recagents.tools.results import ToolResult

__all__ = [
    "PEER_NAME_MAP",
    "TOOL_SPECS",
    "CandidateBus",
    "ToolContext",
    "ToolOptions",
    "ToolResult",
    "build_tools",
]
