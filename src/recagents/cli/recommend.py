"""`recagents recommend`: one ARAG recommendation from the command line.

The last stdout line with ``--json`` is ``{"items", "candidates", "blackboard", "usage",
"fallback", …}``; ``--no-llm`` runs retrieval only (milliseconds).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from recagents.cli.output import echo_err, emit_json
from recagents.errors import InvalidArgumentError


def _parse_json(value: str | None, what: str):
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            f"--{what} is not valid JSON ({exc.msg} at character {exc.pos}): e.g. "
            + (
                '\'[{"item_id": 50, "event_value": 5}]\''
                if what == "history"
                else '\'{"genres": ["Comedy"]}\''
            )
        ) from exc


def recommend(
    user: Annotated[int | None, typer.Option("--user", help="MovieLens user id (1-943).")] = None,
    text: Annotated[str | None, typer.Option(help="Free text about the user (cold start).")] = None,
    history: Annotated[
        str | None,
        typer.Option(
            help='Ad-hoc history as JSON: [{"item_id", "event_datetime", '
            '"event_name", "event_value"}, …].'
        ),  # fmt: skip
    ] = None,
    query: Annotated[str | None, typer.Option(help="What is asked for now.")] = None,
    k: Annotated[int, typer.Option(help="How many items.")] = 5,
    filters: Annotated[
        str | None, typer.Option(help='Hard filters as JSON, e.g. {"genres": ["Comedy"]}.')
    ] = None,
    alpha: Annotated[
        float | None,
        typer.Option(
            help="Blend the graph-enhanced text retrieval in: 0 = only the history, 1 = only "
            "the text (its items lead the pool). Unset: today's retrieval."
        ),
    ] = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Retrieval only.")] = False,
    holdout: Annotated[
        str | None, typer.Option(help="History view: none | valid | test (default: settings).")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="LLM provider (default: auto).")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object on the last line.")
    ] = False,
) -> None:
    """Recommend with the ARAG agents (or retrieval only with --no-llm)."""
    from recagents.agents import RecRequest, recommend_with_agents
    from recagents.resources import AppResources
    from recagents.settings import get_settings

    try:
        request = RecRequest(
            user_id=user,
            text=text,
            history=_parse_json(history, "history") or [],
            query=query,
            k=k,
            filters=_parse_json(filters, "filters"),
            alpha=alpha,
        )
    except ValidationError as exc:
        from recagents.services.requests import validation_problems

        raise InvalidArgumentError(f"invalid request: {validation_problems(exc)}") from exc
    settings = get_settings()
    view = holdout  # none | valid | test, checked by the services
    with AppResources.open(settings, provider=provider, holdout=view) as res:  # type: ignore[arg-type]
        result = recommend_with_agents(res.services, request, None if no_llm else res.get_llm())
    if json_out:
        emit_json(result.model_dump())
        return
    for n, item in enumerate(result.items, start=1):
        flag = " (filled)" if item.filled else ""
        echo_err(f"{n}. [{item.id}] {item.title}{flag}\n   {item.explanation}")
    if result.fallback:
        echo_err(f"LLM fallback: {'; '.join(result.errors)}")
    echo_err(f"usage: {result.usage}")
