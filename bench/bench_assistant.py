"""The assistant on the peer project's 50 tool-use queries, in plan mode, per local model.

For each query (../shared/data/recsys-agent-eval, easy + medium + hard) a fresh thread runs the
plan and its execution (the answer writer is skipped unless ``--full``: the chain does not depend
on it, and it would double the time on 2 cores). Recommendations use the BPR tool (``--engine
arag`` for the agents; their cost is measured by bench_arag.py). Printed and saved
(bench/out/assistant.json, assistant_quality.png, assistant_latency.png); nothing is asserted.

Metrics, peer calls mapped through ``PEER_NAME_MAP``:
- chain exact: our tool sequence equals the peer's; chain F1: over tool-name multisets.
  Display-only item_metadata calls are dropped from BOTH chains before comparing: an
  item_metadata right after recommend_items or recent_interactions (the peer fetched titles to
  print its list; ours return titles). An item_metadata that fetches other fields (duration,
  director, storyline …) stays: it is part of the answer's reasoning.
- filter args: for queries where the peer filters, the share of filter keys whose value equals
  the peer's (names case-insensitive; numeric conditions as inclusive bounds, so "lower 1996"
  equals "at_most 1995"), and the share of queries with all keys equal.
- constraints: of the items our recommend_items returned, the share inside the peer's filter
  (the peer's arguments run through our filter service), and the share unseen by the user.
- seconds and tokens (in/out) per query.

    .venv/bin/python bench/bench_assistant.py                       # 1.5B and 0.5B, 50 queries
    .venv/bin/python bench/bench_assistant.py --models qwen2.5-coder-0.5b --limit 10
Needs the built stores (`recagents setup` with the enrichment) and the weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver
from plots import grouped_bars, save, subplots
from tqdm import tqdm

from recagents.assistant import Assistant, AssistantConfig
from recagents.assistant.demos import DemoBank
from recagents.errors import RecagentsError
from recagents.eval.peer_compat import translate_call
from recagents.llm.factory import make_chat_model
from recagents.services import ServiceContext
from recagents.services.catalog import filter_items
from recagents.services.requests import FilterRequest
from recagents.settings import PROJECT_ROOT, get_settings
from recagents.stores.embeddings import Embedder
from recagents.tools.registry import PEER_NAME_MAP

SUITE = PROJECT_ROOT.parent / "shared" / "data" / "recsys-agent-eval"
LEVELS = ("easy", "medium", "hard")
DISPLAYED = ("recommend_items", "recent_interactions")
INTEGER_FIELDS = {"release_year", "duration_min", "imdb_num_reviews"}


def load_suite(path: Path) -> list[dict]:
    cases = []
    for level in LEVELS:
        data = json.loads((path / f"evaluation_{level}.json").read_text(encoding="utf-8"))
        for key, case in data.items():
            cases.append(
                {"id": f"{level}/{key}", "query": case["query"], "calls": case["tool_calls"]}
            )
    return cases


def normalise_chain(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        if name == "item_metadata" and out and out[-1] in DISPLAYED:
            continue
        out.append(name)
    return out


def chain_f1(ours: list[str], peer: list[str]) -> float:
    common = sum((Counter(ours) & Counter(peer)).values())
    if not ours or not peer or not common:
        return float(ours == peer)
    precision, recall = common / len(ours), common / len(peer)
    return 2 * precision * recall / (precision + recall)


def _bounds(field: str, conditions) -> set[tuple[str, float]]:
    step = 1.0 if field in INTEGER_FIELDS else 0.1
    out = set()
    for c in conditions or []:
        op, t = c.request, float(c.threshold)
        if op == "lower":
            op, t = "at_most", t - step
        elif op == "higher":
            op, t = "at_least", t + step
        out.add((op, round(t, 2)))
    return out


def normalise_filter(args: dict) -> dict:
    """Comparable filter arguments: name sets lower-cased, numeric conditions as bounds."""
    try:
        req = FilterRequest.model_validate(args)
    except Exception:  # noqa: BLE001 - an invalid filter matches nothing
        return {"invalid": True}
    out = {}
    for field, value in req.model_dump(exclude_none=True).items():
        if field in ("release_year", "imdb_rating", "duration_min", "imdb_num_reviews"):
            out[field] = _bounds(field, getattr(req, field))
        elif isinstance(value, list):
            out[field] = {str(v).lower() for v in value}
    return out


def filter_accuracy(ours: dict | None, peer: dict) -> tuple[float, bool]:
    a, b = normalise_filter(ours or {}), normalise_filter(peer)
    keys = set(a) | set(b)
    matched = sum(a.get(k) == b.get(k) for k in keys)
    return (matched / len(keys) if keys else 1.0), a == b


def peer_filter(case: dict) -> dict | None:
    for call in case["calls"]:
        if call["tool_name"] == "item_filter_tool":
            return translate_call("item_filter_tool", call["arguments"])[1]
    return None


def evaluate(case: dict, state: dict, services: ServiceContext) -> dict:
    trace = state.get("trace") or []
    last_attempt = max((r.get("attempt", 1) for r in trace), default=1)
    final = [r for r in trace if r.get("attempt", 1) == last_attempt]
    ours = normalise_chain([r["tool"] for r in final])
    peer = normalise_chain([PEER_NAME_MAP[c["tool_name"]] for c in case["calls"]])
    row = {
        "chain": ours,
        "peer_chain": peer,
        "exact": ours == peer,
        "f1": chain_f1(ours, peer),
        "calls": [[r["tool"], r.get("args")] for r in final],
        "plan_notes": (state.get("plan") or {}).get("notes", []),
        "plan_action": (state.get("plan") or {}).get("action"),
        "plan_error": (state.get("plan") or {}).get("error", "")[:300],
        "failures": [r["message"][:160] for r in trace if r.get("status") != "success"],
    }
    expected = peer_filter(case)
    if expected is not None:
        mine = next((r["args"] for r in final if r["tool"] == "filter_items"), None)
        row["filter_key_acc"], row["filter_exact"] = filter_accuracy(mine, expected)
    rec = next(
        (r for r in final if r["tool"] == "recommend_items" and r["status"] == "success"), None
    )
    if rec:
        ids = [i["item_id"] for i in rec["data"]["items"]]
        seen = services.get_recommender().seen_items(rec["data"]["user_id"], services.view)
        row["unseen"] = sum(i not in seen for i in ids) / len(ids) if ids else 1.0
        if expected is not None:
            try:
                allowed = set(
                    filter_items(services, FilterRequest.model_validate(expected)).item_ids
                )
                row["in_filter"] = sum(i in allowed for i in ids) / len(ids) if ids else 1.0
            except RecagentsError:
                pass
    return row


def run_model(model: str, cases: list[dict], args, settings, demos) -> list[dict]:
    llm = make_chat_model(settings, provider="local", model=model)
    services = ServiceContext.from_settings(settings)
    config = AssistantConfig.load(settings, recommend_engine=args.engine)
    assistant = Assistant(
        services, llm, checkpointer=InMemorySaver(), config=config, mode="plan", demos=demos
    )
    rows = []
    try:
        for n, case in enumerate(tqdm(cases, desc=model, unit="query")):
            full = n < args.full
            thread = {"configurable": {"thread_id": f"{model}-{case['id']}"}}
            started = time.perf_counter()
            state = assistant.graph.invoke(
                {"messages": [{"role": "user", "content": case["query"]}]},
                config=thread,
                context=assistant.context,
                interrupt_before=None if full else ["answer"],
            )
            seconds = time.perf_counter() - started
            usage = state.get("usage") or {}
            row = {"id": case["id"], "query": case["query"], "seconds": round(seconds, 2)}
            row |= {"full": full, "tokens_in": usage.get("tokens_in", 0)}
            row |= {"tokens_out": usage.get("tokens_out", 0)}
            row |= evaluate(case, state, services)
            rows.append(row)
    finally:
        services.close()
        if llm.server is not None:
            llm.server.stop()
    return rows


def mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return round(statistics.fmean(float(v) for v in values), 3) if values else None


def summary(rows: list[dict]) -> dict:
    plan_only = [r for r in rows if not r["full"]]
    return {
        "queries": len(rows),
        "chain_exact": mean(rows, "exact"),
        "chain_f1": mean(rows, "f1"),
        "filter_key_acc": mean(rows, "filter_key_acc"),
        "filter_exact": mean(rows, "filter_exact"),
        "in_filter": mean(rows, "in_filter"),
        "unseen": mean(rows, "unseen"),
        "seconds_plan_p50": round(statistics.median(r["seconds"] for r in plan_only), 2)
        if plan_only
        else None,
        "seconds_full_p50": round(statistics.median(r["seconds"] for r in rows if r["full"]), 2)
        if any(r["full"] for r in rows)
        else None,
        "tokens_in_mean": mean(rows, "tokens_in"),
        "tokens_out_mean": mean(rows, "tokens_out"),
    }


def plot(results: dict[str, dict]) -> None:
    models = list(results)
    metrics = ("chain_exact", "chain_f1", "filter_key_acc", "filter_exact", "in_filter", "unseen")
    fig, (ax1, ax2) = subplots(2, figsize=(12, 4))
    grouped_bars(
        ax1,
        metrics,
        {m: [results[m]["summary"][k] or 0 for k in metrics] for m in models},
        unit="share",
        goals={"goal: chain match 0.9": 0.9},
    )
    ax1.set_title("Plan mode on the 50 peer queries")
    grouped_bars(
        ax2,
        models,
        {"plan+execute p50 (s)": [results[m]["summary"]["seconds_plan_p50"] or 0 for m in models]},
        unit="seconds",
    )
    ax2.set_title("Seconds per query")
    print(f"plot: {save(fig, 'assistant_quality')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"])
    parser.add_argument("--limit", type=int, default=None, help="First N queries only.")
    parser.add_argument("--full", type=int, default=0, help="First N queries with the answer.")
    parser.add_argument("--engine", choices=("bpr", "arag"), default="bpr")
    parser.add_argument("--suite", type=Path, default=SUITE)
    args = parser.parse_args()
    if not args.suite.is_dir():
        sys.exit(f"the peer suite is not at {args.suite} (../shared/data/recsys-agent-eval)")
    settings = get_settings()
    cases = load_suite(args.suite)[: args.limit]
    demos = DemoBank.load(Embedder(threads=settings.torch_threads))
    results = {}
    for model in args.models:
        rows = run_model(model, cases, args, settings, demos)
        results[model] = {"summary": summary(rows), "rows": rows}
    print("\n| model | queries | chain exact | chain F1 | filter keys | filter exact | "
          "in filter | unseen | s/query p50 | tokens in | tokens out |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for model, res in results.items():
        s = res["summary"]
        print(
            f"| {model} | {s['queries']} | {s['chain_exact']} | {s['chain_f1']} | "
            f"{s['filter_key_acc']} | {s['filter_exact']} | {s['in_filter']} | {s['unseen']} | "
            f"{s['seconds_plan_p50']} | {s['tokens_in_mean']} | {s['tokens_out_mean']} |"
        )
    for model, res in results.items():
        misses = [r for r in res["rows"] if not r["exact"]]
        print(f"\n{model}: {len(misses)} chain mismatches")
        for r in misses:
            print(f"  {r['id']}: ours {r['chain']} vs peer {r['peer_chain']} {r['failures'][:1]}")
    out = Path(__file__).resolve().parent / "out" / "assistant.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"saved: {out}")
    plot(results)


if __name__ == "__main__":
    main()
