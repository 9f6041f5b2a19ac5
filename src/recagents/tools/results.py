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

from recagents.errors import EmptyResultError, RecagentsError
from recagents.services.requests import validation_problems

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


def failure_from_exception(
    exc: BaseException, tool_name: str, schema: type[BaseModel] | None = None
) -> dict:
    if isinstance(exc, EmptyResultError):
        return ToolResult.failure(str(exc), exc.data)
    if isinstance(exc, RecagentsError):
        return ToolResult.failure(str(exc))
    if isinstance(exc, ValidationError):
        return ToolResult.failure(validation_message(exc, tool_name, schema))
    log.exception("tool %s failed", tool_name, exc_info=exc)
    return ToolResult.failure(
        f"{tool_name} failed internally ({type(exc).__name__}: {exc}); this is not caused by "
        "your arguments. Try another tool or answer without this information."
    )


def validation_message(
    exc: ValidationError, tool_name: str, schema: type[BaseModel] | None = None
) -> str:
    return f"invalid arguments for {tool_name}: {validation_problems(exc, schema)}"


def validation_error_handler(
    tool_name: str, schema: type[BaseModel] | None = None
) -> Callable[[ValidationError], str]:
    """For ``StructuredTool(handle_validation_error=...)``: the failure as a JSON string."""

    def handle(exc: ValidationError) -> str:
        return json.dumps(ToolResult.failure(validation_message(exc, tool_name, schema)))

    return handle


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its LLM-facing name, description and argument schema, and the adapter
    ``fn(scope, args) -> dict`` that calls a service and renders its result for a model
    (``args`` an instance of ``args_schema``; ``scope`` a ``ToolScope``)."""

    name: str
    description: str
    args_schema: type[BaseModel]
    fn: Callable[[Any, Any], dict]

    def run(self, scope: Any, arguments: dict) -> dict:
        """Validate ``arguments`` and run; never raises (failures are results)."""
        try:
            args = self.args_schema.model_validate(arguments)
            return self.fn(scope, args)
        except Exception as exc:  # turned into a failure result on purpose
            return failure_from_exception(exc, self.name, self.args_schema)
