"""`recagents eval …` commands (registered by cli.py as the `eval` group)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recagents.cli_output import emit_json, setup_logging
from recagents.settings import get_settings

eval_app = typer.Typer(help="Benchmarks and replays.", no_args_is_help=True)


@eval_app.callback()
def _eval() -> None:
    """Benchmarks and replays (each command with --json prints one JSON object last)."""


@eval_app.command("tools-replay")
def tools_replay(
    suite: Annotated[
        Path,
        typer.Option(
            "--suite",
            help="Folder with the peer suite (evaluation_easy/medium/hard.json).",
            exists=True,
            file_okay=False,
            dir_okay=True,
        ),
    ],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Metadata database to use (default: the app's, RECAGENTS_DATABASE_URL).",
        ),
    ] = None,
    full_catalog: Annotated[
        bool,
        typer.Option(
            "--full-catalog",
            help="Let the tools see every item, not only the 1,540 the peer's loader kept.",
        ),
    ] = False,
    our_semantics: Annotated[
        bool,
        typer.Option(
            "--our-semantics",
            help="Use our default tool semantics instead of the peer-compatible variants.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: one JSON object.")
    ] = False,
) -> None:
    """Replay the suite's data-only tool calls through our tools and compare with the peer."""
    from recagents.eval.tools_replay import run_replay

    setup_logging()
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    report = run_replay(
        settings,
        suite,
        peer_catalog=not full_catalog,
        peer_semantics=not our_semantics,
        show_progress=True,
    )
    if as_json:
        emit_json(report.as_dict())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tools replay: {report.matches}/{report.calls} = {report.match_rate:.1%}")
    for column in ("peer tool", "calls", "matches"):
        table.add_column(column)
    for tool, stats in report.per_tool.items():
        table.add_row(tool, str(stats["calls"]), str(stats["matches"]))
    console = Console()
    console.print(table)
    for m in report.mismatches:
        console.print(f"[yellow]{m['example']}[/] {m['tool']}: {m['reason']}", markup=True)
