"""`recagents ask "QUESTION"`: one turn of the assistant from the command line.

With ``--json`` the last stdout line is ``{"answer", "items": [{"id","title"}], "tool_calls":
[{"name","args"}], "usage", "thread_id", "mode", "removed", "trace"}``. ``--thread`` continues a
conversation (persisted in the configured database, so across runs).
"""

from __future__ import annotations

from typing import Annotated

import typer

from recagents.cli.output import echo_err, emit_json


def ask(
    question: Annotated[str, typer.Argument(help="What to ask, in plain words.")],
    thread: Annotated[
        str | None, typer.Option("--thread", help="Conversation id to continue (or start).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="tools | plan (default: from the model's capabilities)."),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(help="Recommendations: arag (explained, default) | bpr (fast)."),
    ] = None,
    provider: Annotated[str | None, typer.Option(help="LLM provider (default: auto).")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: settings).")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object on the last line.")
    ] = False,
) -> None:
    """Ask the assistant (recommendations, catalogue, users, audiences)."""
    from recagents.assistant import Assistant
    from recagents.errors import InvalidArgumentError
    from recagents.settings import get_settings

    if mode not in (None, "tools", "plan"):
        raise InvalidArgumentError(f"--mode must be tools or plan, got {mode!r}")
    if engine not in (None, "arag", "bpr"):
        raise InvalidArgumentError(f"--engine must be arag or bpr, got {engine!r}")
    settings = get_settings()
    with Assistant.open(
        settings, mode=mode, provider=provider, model=model, engine=engine
    ) as assistant:
        result = assistant.ask(question, thread_id=thread)
    if json_out:
        emit_json(result.model_dump())
        return
    typer.echo(result.answer)
    calls = ", ".join(c["name"] for c in result.tool_calls) or "none"
    echo_err(f"[thread {result.thread_id} · {result.mode} mode · tools: {calls}]")
    echo_err(f"usage: {result.usage}")
