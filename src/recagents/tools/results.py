"""The one result shape every tool returns: ``{"status", "message", "data"}``.

Tools never raise to the LLM: a ``RecagentsError`` (or an argument validation error) becomes a
``failure`` whose message says what to change; an unexpected exception becomes a failure that
says the tool broke (and is logged with its traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from recagents.errors import RecagentsError

log = logging.getLogger(__name__)


class ToolResult(BaseModel):
    status: Literal["success", "failure"]
    message: str
    data: Any = None

    @classmethod
    def success(cls, message: str, data: Any = None) -> dict:
        return cls(status="success", message=message, data=data).model_dump(mode="json")

    @classmethod
    def failure(cls, message: str, data: Any = None) -> dict:
        return cls(status="failure", message=message, data=data).model_dump(mode="json")


def failure_from_exception(exc: BaseException, tool_name: str) -> dict:
    if isinstance(exc, RecagentsError):
        return ToolResult.failure(str(exc))
    if isinstance(exc, ValidationError):
        return ToolResult.failure(validation_message(exc, tool_name))
    log.exception("tool %s failed", tool_name, exc_info=exc)
    return ToolResult.failure(
        f"{tool_name} failed internally ({type(exc).__name__}: {exc}); this is not caused by "
        "your arguments. Try another tool or answer without this information."
    )


def validation_message(exc: ValidationError, tool_name: str) -> str:
    problems = []
    for err in exc.errors()[:6]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        problems.append(f"{where}: {err.get('msg')}")
    return f"invalid arguments for {tool_name}: " + "; ".join(problems)


def validation_error_handler(tool_name: str) -> Callable[[ValidationError], str]:
    """For ``StructuredTool(handle_validation_error=...)``: the failure as a JSON string."""

    def handle(exc: ValidationError) -> str:
        return json.dumps(ToolResult.failure(validation_message(exc, tool_name)))

    return handle


def as_dict(result: Any) -> dict:
    """A tool's output as a dict (validation failures come back as JSON strings)."""
    if isinstance(result, dict):
        return result
    if isinstance(result, str):
        return json.loads(result)
    content = getattr(result, "content", None)  # a ToolMessage
    if isinstance(content, str):
        return json.loads(content)
    raise TypeError(f"unexpected tool output {type(result).__name__}")


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its LLM-facing name, description and argument schema, and the function
    ``fn(ctx, thread_id, args) -> dict`` that runs it (``args`` an instance of ``args_schema``)."""

    name: str
    description: str
    args_schema: type[BaseModel]
    fn: Callable[[Any, str, Any], dict]

    def run(self, ctx: Any, thread_id: str, arguments: dict) -> dict:
        """Validate ``arguments`` and run; never raises (failures are results)."""
        try:
            args = self.args_schema.model_validate(arguments)
            return self.fn(ctx, thread_id, args)
        except Exception as exc:  # turned into a failure result on purpose
            return failure_from_exception(exc, self.name)
