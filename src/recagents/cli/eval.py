"""`recagents eval …` commands (registered by cli.py as the `eval` group)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recagents.cli.ask import DeprecatedEngineFlag, recommend_path_flag
from recagents.cli.output import emit_json, setup_logging
from recagents.settings import get_settings
from recagents.vocabulary import LOCAL_MODEL_NAMES, MODES

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
            help="Folder with the tool-use suite (evaluation_easy/medium/hard.json).",
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
            help="Let the tools see every item, not only the 1,540 the recorded runs could see.",
        ),
    ] = False,
    our_semantics: Annotated[
        bool,
        typer.Option(
            "--our-semantics",
            help="Use our default tool semantics instead of the suite-compatible variants.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: one JSON object.")
    ] = False,
) -> None:
    """Replay the suite's data-only tool calls through our tools and compare with the recorded
    results."""
    from recagents.eval.tools_replay import print_report, run_replay

    setup_logging()
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    report = run_replay(
        settings,
        suite,
        full_catalog=full_catalog,
        our_semantics=our_semantics,
        show_progress=True,
    )
    if as_json:
        emit_json(report.as_dict())
        return
    print_report(report)


@eval_app.command("ranking")
def ranking(
    users: Annotated[
        int | None,
        typer.Option(
            "--users", help="Test users to sample (fixed seed; default 20; all if N is larger)."
        ),
    ] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the user sample.")] = 2020,
    k: Annotated[
        int, typer.Option("--k", help="Items the ARAG ranker is asked for (max the pool size).")
    ] = 10,
    resamples: Annotated[
        int, typer.Option("--resamples", help="Bootstrap resamples for the 95 % CIs.")
    ] = 1000,
    no_llm: Annotated[
        bool,
        typer.Option("--no-llm", help="Only the non-LLM methods (popularity, BPR, Swing, pool)."),
    ] = False,
    no_ablations: Annotated[
        bool,
        typer.Option("--no-ablations", help="Skip ARAG without NLI / without Context Summary."),
    ] = False,
    engines: Annotated[
        bool,
        typer.Option(
            "--engines",
            help="Also rank with every shipped engine (LightGCN, EASE, ItemKNN, MultiVAE) on "
            "the same split, training the ones without a checkpoint.",
        ),
    ] = False,
    engine_list: Annotated[
        str | None,
        typer.Option(
            "--engine-list",
            help="Comma-separated RecBole engines to compare instead of all (implies --engines).",
        ),
    ] = None,
    two_stage: Annotated[
        str | None,
        typer.Option(
            "--two-stage",
            help="Comma-separated engines also evaluated as retrieval → ranking (rows "
            "two_stage_<engine>; the ranker of configs/ranking.yaml, fitted on the valid view).",
        ),
    ] = None,
    graph_text: Annotated[
        bool,
        typer.Option(
            "--graph-text",
            help="Also the graph-enhanced text embeddings (RecoFM): L and alpha chosen on the "
            "valid view, rows text_mean / graph_text, and the cold-start protocol (5 liked "
            "items given) vs BPR fold-in, Swing and popularity.",
        ),
    ] = False,
    cold_users: Annotated[
        int | None,
        typer.Option("--cold-users", help="Users of that cold-start protocol (default: all)."),
    ] = None,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune",
            help="First choose fusion_weight on the holdout=valid view and write it to "
            "<data_dir>/agents.yaml.",
        ),
    ] = False,
    tune_users: Annotated[
        int | None,
        typer.Option("--tune-users", help="Valid users for --tune (default: as many as --users)."),
    ] = None,
    generated: Annotated[
        int,
        typer.Option(
            "--generated",
            help="Also run the earlier generated-verdict/permutation agents on the first N users.",
        ),
    ] = 0,
    sampled: Annotated[
        int,
        typer.Option(
            "--sampled",
            help="Users of the sampled-candidate protocol (1 positive + 19 unseen; NDCG@5, "
            "Hit@5; needs the LLM).",
        ),
    ] = 0,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache", help="LLM answer cache (default <data_dir>/eval/llm_cache.sqlite)."
        ),
    ] = None,
    provider: Annotated[str | None, typer.Option(help="LLM provider (default: auto).")] = None,
    model: Annotated[str | None, typer.Option(help="LLM model (default: configured).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: one JSON object.")
    ] = False,
) -> None:
    """Offline ranking evaluation on the holdout=test view (metrics with bootstrap CIs)."""
    from recagents.cli.output import echo_err
    from recagents.eval.engines import parse_engines
    from recagents.eval.ranking import run_ranking
    from recagents.eval.ranking_run import RankingOptions
    from recagents.eval.report import headline, write_report
    from recagents.resources import AppResources

    setup_logging()
    settings = get_settings()
    options = RankingOptions(
        users=users, seed=seed, k=k, resamples=resamples, llm=not no_llm,
        ablations=not no_ablations, tune=tune, cache_path=cache, tune_users=tune_users,
        generated=generated, sampled=sampled,
        engines=parse_engines(engine_list or ("all" if engines else None)),
        two_stage=parse_engines(two_stage), graph_text=graph_text, cold_users=cold_users,
    )  # fmt: skip
    with AppResources.open(settings, provider=provider, model=model, holdout="test") as res:
        report = run_ranking(
            res.services,
            options,
            llm=res.get_llm() if options.llm or options.tune else None,
            on_tuned=lambda t: echo_err(
                f"fusion_weight {t['previous']} -> {t['chosen']} (valid view), written to "
                f"{t['written_to']}"
                + (
                    f"; best {t['rule']['best_on_valid']} not chosen: {t['rule']['why']}"
                    if (t.get("rule") or {}).get("why")
                    else ""
                )
            ),
        )
    path = write_report(report, settings.data_dir)
    if as_json:
        out = {"methods": headline(report), "report": str(path), "users": len(report["users"])}
        if report.get("tuning"):
            out["fusion_weight"] = report["tuning"]["chosen"]
        emit_json(out)
        return
    echo_err((path.parent / "report.md").read_text(encoding="utf-8"))
    echo_err(f"report: {path}")


@eval_app.command("tools")
def tools(
    suite: Annotated[
        Path | None,
        typer.Option(
            "--suite",
            help="Folder with the tool-use suite (evaluation_easy/medium/hard.json; default: "
            "its copy under ../shared/data next to the project, see the README).",
            file_okay=False,
            dir_okay=True,
        ),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            help="Models to run (repeat, or comma-separated; default "
            f"{' and '.join(LOCAL_MODEL_NAMES)}).",
        ),
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="Assistant mode: plan (plan-then-execute) or tools.")
    ] = "plan",
    via: Annotated[
        str | None,
        typer.Option(
            "--via",
            help="Recommendations through the engine alone (default) or the agents (explained).",
        ),
    ] = None,
    engine: DeprecatedEngineFlag = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="LLM provider of the models.")
    ] = "local",
    limit: Annotated[
        int | None, typer.Option("--limit", help="First N queries only (default all 50).")
    ] = None,
    full: Annotated[
        int, typer.Option("--full", help="First N queries also run the answer writer.")
    ] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: one JSON object.")
    ] = False,
) -> None:
    """The assistant on the tool-use suite's 50 queries: tool-chain match (exact, F1), filter
    arguments, constraint satisfaction, seconds and tokens per query, per model."""
    from recagents.cli.output import echo_err
    from recagents.errors import InvalidArgumentError
    from recagents.eval.tool_use import (
        DEFAULT_MODELS,
        DEFAULT_SUITE,
        headline,
        run_tool_use,
        write_report,
    )

    setup_logging()
    if mode not in MODES:
        raise InvalidArgumentError(f"--mode must be plan or tools, not {mode!r}")
    recommend_via = recommend_path_flag(via, engine) or "engine"
    names = [m.strip() for entry in models or [] for m in entry.split(",") if m.strip()]
    settings = get_settings()
    report = run_tool_use(
        settings, suite or DEFAULT_SUITE, names or list(DEFAULT_MODELS), mode=mode,
        recommend_via=recommend_via, provider=provider, limit=limit, full=full,
    )  # fmt: skip
    path = write_report(report, settings.data_dir)
    if as_json:
        emit_json({"models": headline(report), "report": str(path)})
        return
    echo_err((path.parent / "report.md").read_text(encoding="utf-8"))
    echo_err(f"report: {path}")
