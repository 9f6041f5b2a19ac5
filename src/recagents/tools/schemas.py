"""Argument types shared by several tools (pydantic; the JSON schema the LLM sees)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _as_list(value: Any) -> Any:
    """A single string/number where a list is expected becomes a one-element list."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, str | int | float | dict):
        return [value]
    return value


ItemsArg = Annotated[
    list[Annotated[int, Field(ge=1)]] | str | None,
    Field(
        description="Restrict to these items: EITHER a candidate handle like 'C3' returned by "
        "an earlier tool (preferred for large sets) OR a list of item ids. Omit for the whole "
        "catalog."
    ),
]

NameList = Annotated[list[str] | None, BeforeValidator(_as_list)]


class NumericCondition(BaseModel):
    """One comparison: {"request": "higher", "threshold": 7} means value > 7."""

    model_config = ConfigDict(extra="forbid")

    request: Literal["lower", "higher", "exact", "at_most", "at_least"] = Field(
        description="lower: < threshold; higher: > threshold; at_most: <=; at_least: >=; exact: =="
    )
    threshold: float


def _as_conditions(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return [{"request": "exact", "threshold": value}]
    return _as_list(value)


NumericArg = Annotated[
    list[NumericCondition] | None,
    BeforeValidator(_as_conditions),
    Field(
        description='A condition {"request": "lower"|"higher"|"at_most"|"at_least"|'
        '"exact", "threshold": number}, or a list of them (all must hold, e.g. a range), '
        "or a bare number meaning exact."
    ),
]

REQUEST_TO_OP = {"lower": "lt", "higher": "gt", "exact": "eq", "at_most": "le", "at_least": "ge"}
OP_TEXT = {"lt": "<", "gt": ">", "eq": "=", "le": "<=", "ge": ">="}


class StrictArgs(BaseModel):
    """Base for tool arguments: unknown argument names are an error the LLM can read."""

    model_config = ConfigDict(extra="forbid")
