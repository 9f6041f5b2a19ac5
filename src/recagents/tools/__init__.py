"""LangChain tools over the services: one static list; context and candidate sets come from the
run (``ToolRuntime``), so the checkpointer persists a conversation's candidate sets."""

from recagents.tools.registry import TOOL_SPECS, TOOLS, TOOLS_BY_NAME
from recagents.tools.results import ToolResult
from recagents.tools.runtime import ToolCallResult, ToolState, run_tool_call

__all__ = [
    "TOOLS",
    "TOOLS_BY_NAME",
    "TOOL_SPECS",
    "ToolCallResult",
    "ToolResult",
    "ToolState",
    "run_tool_call",
]
