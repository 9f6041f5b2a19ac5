"""The tools: ONE static list, ``TOOLS``.

Each tool is a LangChain ``StructuredTool`` with a pydantic ``args_schema`` (the service's request
model plus ``items``); it takes its ``ServiceContext`` and candidate sets from the run's
``ToolRuntime`` (see ``tools.runtime``), returns the ``{"status", "message", "data"}`` dict (or a
``Command`` that also stores new candidate sets) and never raises: bad arguments come back as a
failure the model can act on.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool
from langgraph.prebuilt import ToolRuntime

from recagents.tools import filters, metadata, popularity, recommend, search, social
from recagents.tools.results import ToolSpec, failure_from_exception, validation_error_handler
from recagents.tools.runtime import scope_of, tool_output

TOOL_SPECS: tuple[ToolSpec, ...] = (
    recommend.SPEC,
    filters.SPEC,
    search.SPEC,
    *popularity.SPECS,
    *metadata.SPECS,
    *social.SPECS,
)
SPECS_BY_NAME = {spec.name: spec for spec in TOOL_SPECS}


def _make_tool(spec: ToolSpec) -> StructuredTool:
    # LangChain injects the runtime only for a bare ``ToolRuntime`` annotation (not Optional)
    def run(runtime: ToolRuntime = None, **kwargs):  # type: ignore[assignment]
        try:
            scope = scope_of(runtime)
        except Exception as exc:  # no context: a failure result, like any other
            return failure_from_exception(exc, spec.name)
        return tool_output(runtime, scope, spec.name, spec.run(scope, kwargs))

    return StructuredTool.from_function(
        func=run,
        name=spec.name,
        description=spec.description,
        args_schema=spec.args_schema,
        handle_validation_error=validation_error_handler(spec.name, spec.args_schema),
    )


TOOLS: tuple[BaseTool, ...] = tuple(_make_tool(spec) for spec in TOOL_SPECS)
TOOLS_BY_NAME: dict[str, BaseTool] = {t.name: t for t in TOOLS}
