"""`recagents ask "QUESTION"`: one turn of the assistant from the command line.

``--via agents|engine`` picks how "recommend …" is answered (``--engine arag|bpr``, its former
name, still works).

With ``--json`` the last stdout line is ``{"answer", "items": [{"id","title"}], "tool_calls":
[{"name","args"}], "usage", "thread_id", "mode", "removed", "trace"}``. ``--thread`` continues a
conversation (persisted in the configured database, so across runs).
"""

from __future__ import annotations

from typing import Annotated

import typer

from recagents.cli.output import echo_err, emit_json
from recagents.errors import InvalidArgumentError
from recagents.vocabulary import MODES, RecommendVia, recommend_via_of

DeprecatedEngineFlag = Annotated[
    str | None,
    typer.Option("--engine", hidden=True, help="Deprecated: --via (arag → agents, bpr → engine)."),
]
"""The former name of ``--via`` (every command that takes ``--via`` accepts it)."""


def recommend_path_flag(via: str | None, engine: str | None) -> RecommendVia | None:
    """``--via agents|engine``, or the deprecated ``--engine arag|bpr`` (a warning on stderr)."""
    if engine is not None:
        echo_err("--engine is deprecated: use --via agents (was arag) or --via engine (was bpr)")
    try:
        chosen, former = recommend_via_of(via), recommend_via_of(engine)
    except ValueError as exc:
        raise InvalidArgumentError(f"--via: {exc}") from None
    if chosen is not None and former is not None and chosen != former:
        raise InvalidArgumentError(f"--via {via} and --engine {engine} disagree: give --via only")
    return chosen or former


def ask(
    question: Annotated[str, typer.Argument(help="What to ask, in plain words.")],
    thread: Annotated[
        str | None, typer.Option("--thread", help="Conversation id to continue (or start).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help=f"{' | '.join(MODES)} (default: from the model's capabilities)."),
    ] = None,
    via: Annotated[
        str | None,
        typer.Option(
            "--via",
            help="Recommendations through the agents (explained, default) | the engine alone "
            "(fast).",
        ),
    ] = None,
    engine: DeprecatedEngineFlag = None,
    provider: Annotated[str | None, typer.Option(help="LLM provider (default: auto).")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: settings).")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object on the last line.")
    ] = False,
) -> None:
    """Ask the assistant (recommendations, catalogue, users, audiences)."""
    from recagents.resources import AppResources
    from recagents.settings import get_settings

    recommend_via = recommend_path_flag(via, engine)
    if mode not in (None, *MODES):
        raise InvalidArgumentError(f"--mode must be {' or '.join(MODES)}, got {mode!r}")
    settings = get_settings()
    with AppResources.open(settings, provider=provider, model=model) as resources:
        assistant = resources.assistant(mode=mode, recommend_via=recommend_via)  # type: ignore[arg-type]
        result = assistant.ask(question, thread_id=thread)
    if json_out:
        emit_json(result.model_dump())
        return
    typer.echo(result.answer)
    calls = ", ".join(c["name"] for c in result.tool_calls) or "none"
    echo_err(f"[thread {result.thread_id} · {result.mode} mode · tools: {calls}]")
    echo_err(f"usage: {result.usage}")
