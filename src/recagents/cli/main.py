"""`recagents …` command line (thin: parses flags, calls the layers below).

Contract: commands with ``--json`` print exactly one JSON object as the last stdout line; logs and
progress go to stderr.
"""

from __future__ import annotations

from typing import Annotated

import typer

from recagents.cli.ask import ask
from recagents.cli.eval import eval_app
from recagents.cli.llm import llm_app
from recagents.cli.output import echo_err, emit_json, setup_logging
from recagents.cli.recommend import recommend
from recagents.cli.serve import serve
from recagents.errors import RecagentsError
from recagents.settings import get_settings

app = typer.Typer(help="recagents: agentic movie recommender.", no_args_is_help=True)
app.add_typer(llm_app, name="llm")
app.add_typer(eval_app, name="eval")
app.command()(recommend)
app.command()(ask)
app.command()(serve)


@app.callback()
def _configure(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    setup_logging(verbose)


@app.command()
def setup(
    force: Annotated[bool, typer.Option(help="Rebuild every step even if up to date.")] = False,
    step: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these steps (enrichment, metadata, recommender, vectors, graph_text); "
            "repeatable."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Build everything: enrichment, metadata store, the recommender engine (BPR unless
    RECAGENTS_RECOMMENDER names another), vector index (skips finished steps).

    Progress bars and one summary line per step go to stderr; ``--json`` prints the report as
    the last stdout line.
    """
    from recagents.build import STEPS, run_setup, summary_line

    unknown = set(step or ()) - set(STEPS)
    if unknown:
        raise typer.BadParameter(f"unknown step(s) {sorted(unknown)}; choose from {list(STEPS)}")
    report = run_setup(
        get_settings(),
        force=force,
        steps=tuple(step or STEPS),
        on_step=lambda result: echo_err(summary_line(result)),
    )
    if json_out:
        emit_json(report.as_dict())


@app.command()
def train(
    model: Annotated[
        str | None,
        typer.Option(
            help="Engine to train: BPR, LightGCN, EASE, ItemKNN, MultiVAE, two_tower (our own "
            "dual encoder, configs/engines/twotower.yaml) or any other RecBole general "
            "recommender's class name. Default: the active engine (RECAGENTS_RECOMMENDER)."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Override the epochs of the YAML.")] = None,
) -> None:
    """Train an engine from configs/recbole.yaml + configs/engines/<model>.yaml (always
    retrains); checkpoint, metrics and split in ``<data_dir>/<model>/``.

    RecBole's own log lines go to ``<data_dir>/<model>/logs/``; the terminal shows the epoch
    bar. A run with ``--epochs`` is recorded as such: the next ``setup`` retrains from the YAML.
    Training does not switch engines: set RECAGENTS_RECOMMENDER=<model> to rank with it.
    """
    from recagents.build import train_and_record
    from recagents.settings import engine_name

    settings = get_settings()
    name = engine_name(model or settings.recommender)
    metrics = train_and_record(settings, name, overrides={"epochs": epochs} if epochs else None)
    emit_json(
        {
            "model": name,
            "test": metrics["test"],
            "best_epoch": metrics.get("best_epoch"),
            "train_seconds": metrics.get("train_seconds"),
            "active": name == settings.recommender,
        }
    )


@app.command()
def index(
    force: Annotated[bool, typer.Option(help="Re-embed every item.")] = False,
) -> None:
    """Embed item plots into Qdrant (only texts that changed)."""
    from recagents.build import run_setup, summary_line

    run_setup(
        get_settings(),
        force=force,
        steps=("vectors",),
        on_step=lambda result: echo_err(summary_line(result)),
    )


@app.command()
def status(
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object on the last line.")
    ] = False,
) -> None:
    """What is built: counts from the stores, vectors, the engine's test metrics."""
    from recagents.status import collect_status

    result = collect_status(get_settings())
    if json_out:
        emit_json(result)
    else:
        from rich import print_json

        print_json(data=result)
    if not result["ready"]:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> None:
    """The `recagents` command (``argv``: its arguments; None: the process's)."""
    from pydantic import ValidationError

    try:
        app(args=argv)
    except RecagentsError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise SystemExit(2) from None
    except ValidationError as exc:  # a RECAGENTS_* setting with a bad value
        problems = "; ".join(
            f"RECAGENTS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        typer.secho(f"error: invalid setting — {problems}", err=True, fg=typer.colors.RED)
        raise SystemExit(2) from None
