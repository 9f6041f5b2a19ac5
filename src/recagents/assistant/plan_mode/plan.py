"""The plan a small model emits in plan mode: ordered tool steps, checked by the grammar.

A ``Plan`` is ``{"action", "steps"}``. Each step is ``{"tool": <name>, "args": {...}}`` where the
tool names and argument shapes come from the tools' own argument schemas, so a JSON-schema
constrained backend cannot emit a tool that does not exist or an argument it does not take.

Arguments may point at earlier steps' results (the executor resolves them, see ``executor``):
- ``"$2"``: the candidate set (handle) step 2 produced, e.g. ``"items": "$2"``;
- ``"$1.age_group"``: a field of step 1's data (its first row when the data is a list), e.g.
  ``"user_group": ["$1.age_group"]`` or ``"query": "$1.storyline"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, TypeAlias, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from recagents.tools.registry import TOOL_SPECS

MAX_STEPS = 6
Action = Literal["run_tools", "ask_user_id", "answer_directly"]
ACTIONS_HELP = {
    "run_tools": "run the steps, then answer from their results",
    "ask_user_id": "the request is about one user's taste or data but names no user id: ask for it",
    "answer_directly": "no tool needed: a follow-up about the previous answer or the tools "
    "used, a greeting, or a request that must be declined",
}


def _plan_args(spec) -> type[BaseModel]:
    """The tool's argument model without the injected runtime (what a plan step carries)."""
    fields: dict[str, Any] = {}
    for name, info in spec.args_schema.model_fields.items():
        if name == "runtime":
            continue
        fields[name] = (info.annotation, info)
    return create_model(
        f"{spec.args_schema.__name__}Plan",
        __config__=ConfigDict(extra="forbid"),
        __doc__=spec.description,
        **fields,
    )


PLAN_ARGS: dict[str, type[BaseModel]] = {spec.name: _plan_args(spec) for spec in TOOL_SPECS}


def _step_model(name: str, args_model: type[BaseModel]) -> type[BaseModel]:
    title = "".join(p.capitalize() for p in name.split("_"))
    step_fields: dict[str, Any] = {
        "tool": (Literal[name], ...),
        "args": (args_model, Field(default_factory=args_model)),
    }
    return create_model(f"{title}Step", __config__=ConfigDict(extra="forbid"), **step_fields)


STEP_MODELS = tuple(_step_model(name, model) for name, model in PLAN_ARGS.items())


class PlanStep(Protocol):
    """What every step model has: the static view of ``Step`` (its models are built above)."""

    tool: str
    args: BaseModel


if TYPE_CHECKING:
    Step: TypeAlias = PlanStep
else:
    Step = Annotated[Union[STEP_MODELS], Field(discriminator="tool")]  # noqa: UP007


class Plan(BaseModel):
    """What to do for the user's message: an action and, for run_tools, the ordered steps."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    steps: list[Step] = Field(default_factory=list, max_length=MAX_STEPS)

    def calls(self) -> list[dict]:
        """The steps as plain ``{"tool", "args"}`` dicts (arguments the model set, only)."""
        return [
            {"tool": s.tool, "args": s.args.model_dump(mode="json", exclude_unset=True)}
            for s in self.steps
        ]
