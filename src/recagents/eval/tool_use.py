"""The assistant on the peer project's 50 tool-use queries, per model (``recagents eval tools``).

For each query of the suite (recsys-agent's ``evaluation_{easy,medium,hard}.json``) a fresh
thread runs the assistant in plan mode (plan + execution) or tools mode (the native tool loop);
the answer writer is skipped except for the first ``full`` queries: the chain does not depend on
it, and it would double the time on 2 cores. Each turn is scored against the peer's recorded
chain (``tool_use_metrics``: chain exact/F1, filter arguments, constraint satisfaction) with its
seconds and tokens. ``write_report`` saves ``<data_dir>/reports/<UTC timestamp>-tools/`` with
report.json (every row), report.md (the model table and the chain mismatches) and quality.png.

``bench/bench_assistant.py`` is a thin wrapper over this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from recagents.errors import DataError, RecagentsError
from recagents.eval.report import report_dir, save_report
from recagents.eval.tool_use_metrics import HEADLINE_KEYS, score, summary
from recagents.eval.tools_replay import suite_files
from recagents.settings import PROJECT_ROOT, Settings
from recagents.vocabulary import LOCAL_MODEL_NAMES, Mode, RecommendVia

if TYPE_CHECKING:
    from recagents.assistant.plan_mode.demos import DemoBank
    from recagents.assistant.run import Assistant

DEFAULT_SUITE = PROJECT_ROOT.parent / "shared" / "data" / "recsys-agent-eval"
DEFAULT_MODELS = LOCAL_MODEL_NAMES
FINAL_NODE = {"plan": "answer", "tools": "respond"}  # skipped unless the query runs "full"
RECURSION_LIMIT = 60

Opener = Callable[[str], AbstractContextManager]  # model name -> context manager of Assistant


def load_cases(suite_dir: Path) -> list[dict]:
    """``[{"id": "<level>/<example>", "query", "calls"}]`` in suite order (easy, medium, hard)."""
    cases = []
    for path, level, examples in suite_files(suite_dir):
        for key, case in examples.items():
            try:
                cases.append(
                    {"id": f"{level}/{key}", "query": case["query"], "calls": case["tool_calls"]}
                )
            except KeyError as exc:
                raise DataError(f"{path} {key} lacks {exc}: not a peer suite file") from exc
    return cases


def run_queries(
    assistant, cases: list[dict], *, full: int = 0, label: str = "", show_progress: bool = True
) -> list[dict]:
    """One scored row per case; the first ``full`` cases also run the answer writer."""
    services = assistant.context.services
    final_node = FINAL_NODE[assistant.mode]
    rows = []
    for n, case in enumerate(
        tqdm(cases, desc=label or "tools", unit="query", disable=not show_progress)
    ):
        is_full = n < full
        config = {
            "configurable": {"thread_id": f"{label}-{case['id']}"},
            "recursion_limit": RECURSION_LIMIT,
        }
        started = time.perf_counter()
        error = ""
        try:
            state = assistant.graph.invoke(
                {"messages": [{"role": "user", "content": case["query"]}]},
                config=config,
                context=assistant.context,
                interrupt_before=None if is_full else [final_node],
            )
        except RecagentsError as exc:  # one failed query is a row, not the end of the run
            state, error = {}, str(exc)[:300]
        seconds = time.perf_counter() - started
        usage = state.get("usage") or {}
        row = {"id": case["id"], "query": case["query"], "seconds": round(seconds, 2),
               "full": is_full, "tokens_in": usage.get("tokens_in", 0),
               "tokens_out": usage.get("tokens_out", 0)}  # fmt: skip
        if error:
            row["error"] = error
        rows.append(row | score(case, state, services))
    return rows


@contextmanager
def open_assistant(
    settings: Settings,
    model: str,
    *,
    mode: Mode = "plan",
    recommend_via: RecommendVia = "engine",
    provider: str | None = "local",
    demos: DemoBank | None = None,
) -> Iterator[Assistant]:
    """An assistant over the built stores with ``model`` and an in-memory checkpointer, from
    the composition root (closed on exit)."""
    from langgraph.checkpoint.memory import InMemorySaver

    from recagents.resources import AppResources

    with AppResources.open(
        settings, provider=provider, model=model, checkpointer=InMemorySaver(), demos=demos
    ) as resources:
        yield resources.assistant(mode=mode, recommend_via=recommend_via)


def run_tool_use(
    settings: Settings,
    suite_dir: Path,
    models: list[str] | tuple[str, ...] = DEFAULT_MODELS,
    *,
    mode: Mode = "plan",
    recommend_via: RecommendVia = "engine",
    provider: str | None = "local",
    limit: int | None = None,
    full: int = 0,
    opener: Opener | None = None,
    show_progress: bool = True,
) -> dict:
    """Run every model over the suite (first ``limit`` queries); ``opener(model)`` gives the
    assistant (default: ``open_assistant`` from ``settings``, demonstrations loaded once)."""
    cases = load_cases(suite_dir)[:limit]
    if opener is None:
        from recagents.resources import load_demos

        opener = partial(open_assistant, settings, mode=mode, recommend_via=recommend_via,
                         provider=provider, demos=load_demos(settings))  # fmt: skip
    results = {}
    for model in models:
        with opener(model) as assistant:
            rows = run_queries(
                assistant, cases, full=full, label=model, show_progress=show_progress
            )
        results[model] = {"summary": summary(rows), "rows": rows}
    return {
        "suite": str(suite_dir),
        "mode": mode,
        "recommend_via": recommend_via,
        "provider": provider,
        "queries": len(cases),
        "full": min(full, len(cases)),
        "models": results,
    }


def headline(report: dict) -> dict[str, dict]:
    """``{model: {chain_exact, …, tokens_out}}``: what the CLI's JSON line carries."""
    return {
        model: {k: res["summary"][k] for k in HEADLINE_KEYS}
        for model, res in report["models"].items()
    }


# --- output -----------------------------------------------------------------------------------
TABLE_HEAD = (
    "| model | queries | chain exact | chain F1 | filter keys | filter exact | in filter | "
    "unseen | constraints met | items satisfy | intent match | s/query p50 | tokens in | "
    "tokens out |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def table(results: dict[str, dict]) -> str:
    """The model × metric Markdown table."""
    lines = [TABLE_HEAD]
    for model, res in results.items():
        s = res["summary"]
        lines.append(
            f"| {model} | {s['queries']} | {s['chain_exact']} | {s['chain_f1']} | "
            f"{s['filter_keys']} | {s['filter_exact']} | {s['in_filter']} | {s['unseen']} | "
            f"{s.get('constraints_satisfied')} | {s.get('items_satisfy')} | "
            f"{s.get('intent_match')} | "
            f"{s['s_per_query_p50']} | {s['tokens_in']} | {s['tokens_out']} |"
        )
    return "\n".join(lines)


def mismatches(results: dict[str, dict]) -> str:
    """Per model, the queries whose chain differs from the peer's."""
    lines = []
    for model, res in results.items():
        misses = [r for r in res["rows"] if not r["exact"]]
        lines.append(f"\n{model}: {len(misses)} chain mismatches")
        for r in misses:
            why = r.get("error") or (r["failures"][:1] or [""])[0]
            lines.append(f"  {r['id']}: ours {r['chain']} vs peer {r['peer_chain']} {why}".rstrip())
    return "\n".join(lines)


def confusion(results: dict[str, dict]) -> str:
    """Per model: expected intent (from the peer's chain) → the intents we read, with counts;
    and every constraint violation of a recommendation."""
    from collections import Counter

    lines = []
    for model, res in results.items():
        lines.append(f"\n{model}: expected intent -> ours (count)")
        pairs = Counter((r.get("expected_intent"), r.get("intent")) for r in res["rows"])
        for expected in sorted({e for e, _ in pairs}, key=str):
            got = ", ".join(f"{o} {n}" for (e, o), n in pairs.most_common() if e == expected)
            lines.append(f"  {expected}: {got}")
        bad = [r for r in res["rows"] if r.get("violations")]
        lines.append(f"  violations in {len(bad)} recommendation(s)")
        lines += [f"    {r['id']}: {'; '.join(r['violations'])[:300]}" for r in bad]
        short = [r for r in res["rows"] if r.get("unmet")]
        lines.append(f"  the catalogue could not give the count asked in {len(short)}")
        lines += [f"    {r['id']}: {'; '.join(r['unmet'])[:300]}" for r in short]
    return "\n".join(lines)


def markdown(report: dict) -> str:
    return "\n".join([
        f"# Tool use on the peer suite ({report['mode']} mode, recommendations via the {report['recommend_via']})",
        "",
        f"{report['queries']} queries from {report['suite']}; the first {report['full']} also ran "
        "the answer writer. Chain exact/F1 against the peer's recorded chain (display-only "
        "item_metadata dropped from both); filter keys/exact: queries where the peer filtered; "
        "in filter/unseen: shares of our recommended items; s/query p50 without the answer "
        "writer; tokens: means per query.",
        "",
        table(report["models"]),
        "",
        "## Chain mismatches",
        "```",
        mismatches(report["models"]).strip(),
        "```",
        "",
        "## Intents and constraint violations",
        "```",
        confusion(report["models"]).strip(),
        "```",
        "",
    ])  # fmt: skip


def plot_quality(results: dict[str, dict], path: Path, *, mode: str = "plan") -> Path:
    """Shares per model (left) and seconds per query (right), saved as ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(results)
    metrics = ("chain_exact", "chain_f1", "filter_keys", "filter_exact", "in_filter", "unseen")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        values = [results[model]["summary"][k] or 0 for k in metrics]
        offsets = [p - 0.4 + width * (i + 0.5) for p in range(len(metrics))]
        ax1.bar_label(ax1.bar(offsets, values, width, label=model), fmt="%.3g", fontsize=7)
    ax1.axhline(0.9, color="grey", linestyle="--", linewidth=1, label="goal: chain match 0.9")
    ax1.set_xticks(range(len(metrics)), metrics, fontsize=8)
    ax1.set_ylabel("share")
    ax1.margins(y=0.15)
    ax1.legend(fontsize=8)
    n = max((r["summary"]["queries"] for r in results.values()), default=0)
    ax1.set_title(f"{mode.capitalize()} mode on the {n} peer queries")
    seconds = [results[m]["summary"]["s_per_query_p50"] or 0 for m in models]
    ax2.bar_label(ax2.bar(models, seconds, 0.6), fmt="%.3g", fontsize=7)
    ax2.set_ylabel("seconds")
    ax2.margins(y=0.15)
    ax2.set_title("Seconds per query (p50, without the answer writer)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(report: dict, data_dir: Path) -> Path:
    """Write report.json, report.md and quality.png; returns report.json's path."""
    out = report_dir(data_dir, "tools")
    report = {**report, "created": datetime.now(UTC).isoformat(timespec="seconds")}
    report["plots"] = [
        str(plot_quality(report["models"], out / "quality.png", mode=report["mode"]))
    ]
    return save_report(out, report, markdown(report))
