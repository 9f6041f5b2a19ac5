"""The ranking evaluation's report: ``data/reports/<timestamp>/`` with report.json (everything),
report.md (method × metrics with 95 % CIs, paired differences, cost) and PNG plots: metric bars
with CI error bars, the ARAG latency per node, and accuracy vs seconds per user."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

NODES = ("retrieval", "user_understanding", "nli", "context_summary", "ranker", "reflection",
         "finalize")  # fmt: skip
BAR_METRICS = ("ndcg@10", "hit@10", "mrr@10", "recall@10")
HEADLINE = "ndcg@10"


def report_dir(data_dir: Path, kind: str = "") -> Path:
    """A fresh ``<data_dir>/reports/<UTC timestamp>[-kind]`` (suffixed if that second is taken)."""
    root = Path(data_dir) / "reports"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + (f"-{kind}" if kind else "")
    path, n = root / stamp, 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def save_report(out: Path, report: dict[str, Any], markdown_text: str) -> Path:
    """report.md and report.json in ``out`` (the plots are already there); report.json's path."""
    (out / "report.md").write_text(markdown_text.rstrip("\n") + "\n", encoding="utf-8")
    path = out / "report.json"
    path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def _fmt(ci: dict[str, Any]) -> str:
    if ci.get("mean") is None:
        return "–"
    return f"{ci['mean']:.4f} [{ci['lo']:.4f}, {ci['hi']:.4f}]"


def _cost_rows(report: dict[str, Any]) -> list[str]:
    rows = []
    for variant, per_user in report.get("cost", {}).items():
        values = list(per_user.values())
        if not values:
            continue

        def mean(key: str, vals=values) -> float:
            return float(np.mean([v[key] for v in vals]))

        computed = float(np.mean([v["computed"]["seconds_uncached"] for v in values]))

        rows.append(
            f"| {variant} | {mean('seconds'):.2f} | {computed:.2f} | "
            f"{mean('llm_calls'):.1f} | {mean('cache_hits'):.1f} | {mean('tokens_in'):.0f} | "
            f"{mean('tokens_out'):.0f} | {sum(v['fallback'] for v in values)} |"
        )
    return rows


def _delta(diff: dict[str, Any] | None) -> str:
    if not diff or diff["mean"] is None:
        return "–"
    star = " *" if diff["significant"] else ""
    return f"{diff['mean']:+.4f} [{diff['lo']:+.4f}, {diff['hi']:+.4f}]{star}"


def sampled_markdown(sampled: dict[str, Any]) -> list[str]:
    lines = [
        "## Sampled-candidate protocol (1 held-out positive + 19 unseen items)",
        "",
        f"{sampled['users']} users; fusion_weight {sampled['fusion_weight']}. Random expects "
        "NDCG@5 ≈ 0.15, Hit@5 = 0.25 (RecLM-eval: Qwen2.5-3B listwise 0.1519 vs random "
        "0.1474).",
        "",
        "| method | NDCG@5 | Hit@5 | Δ NDCG@5 vs engine |",
        "| --- | --- | --- | --- |",
    ]
    for name, entry in sampled["methods"].items():
        diff = _delta((entry.get("vs_engine") or {}).get("ndcg@5"))
        lines.append(f"| `{name}` | {_fmt(entry['ndcg@5'])} | {_fmt(entry['hit@5'])} | {diff} |")
    return [*lines, ""]


def markdown(report: dict[str, Any]) -> str:
    methods = report["methods"]
    keys = report["metrics"]
    model = report.get("model") or {}
    lines = [
        "# Ranking evaluation (holdout=test)",
        "",
        f"{len(report['users'])} users (seed {report['seed']}, among test users with ≥ 1 test "
        f"item); ARAG asked for k = {report['k']}; model: "
        f"{model.get('backend', '–')} {model.get('model', '(no LLM)')}; "
        f"fusion_weight {report['config']['ranker']['fusion_weight']}. Means with bootstrap 95 % "
        f"CIs ({report['resamples']} resamples of the users).",
        "",
        "`name`: relevant = all the user's test items (full catalogue). `name@pool`: relevant = "
        "the test items inside the candidate pool; users without any are left out (column "
        "users). Δ: paired difference of NDCG@10 against the reference (`bpr` for full-"
        "catalogue rows, `pool@pool` = BPR's order of the same pool for `@pool` rows).",
        "",
        "| method | users | " + " | ".join(keys) + " | Δ NDCG@10 vs ref | Δ vs EASE | s/user |",
        "| --- | --- | " + " | ".join("---" for _ in keys) + " | --- | --- | --- |",
    ]
    for name, entry in methods.items():
        delta = _delta(entry["vs_reference"].get(HEADLINE))
        versus_ease = _delta((entry.get("vs_ease") or {}).get(HEADLINE))
        secs = entry.get("seconds_per_user")
        lines.append(
            f"| `{name}` | {entry['users']} | "
            + " | ".join(_fmt(entry["metrics"][k]) for k in keys)
            + f" | {delta} | {versus_ease} | {'–' if secs is None else f'{secs:.3g}'} |"
        )
    lines += ["", "`*`: the paired 95 % CI excludes 0.", ""]
    below = []
    for name, entry in methods.items():
        diff = entry["vs_reference"].get(HEADLINE)
        if diff and diff["mean"] is not None and diff["mean"] < 0:
            ref = "BPR" if entry["reference"] == "bpr" else "pool@pool (BPR's order of the pool)"
            below.append(
                f"- `{name}`: below {ref} by {-diff['mean']:.4f} on NDCG@10 "
                f"(paired 95 % CI of the difference [{diff['lo']:+.4f}, {diff['hi']:+.4f}])"
            )
    lines += ["## Worse than the reference", "", *(below or ["- none"]), ""]
    cost = _cost_rows(report)
    if cost:
        lines += [
            "## Cost per user (ARAG runs)",
            "",
            "s/user: this run; as computed: the run that made the LLM calls (or this run + "
            "what its cached answers took when computed). LLM calls: made in this run (cache "
            "misses); tokens: of all answers used, cached or not.",
            "",
            "| run | s/user | s/user as computed | LLM calls | cache hits | tokens in | tokens out "
            "| fallbacks |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            *cost,
            "",
        ]
    check = report["checks"].get("bpr_vs_recbole", {})
    if check:
        lines += [
            "## BPR vs RecBole's own test numbers",
            "",
            f"All {check['users']} test users, full catalogue, train + valid masked: ours "
            f"{check['ours']} vs metrics.json {check['recbole']} (max |Δ| "
            f"{check['max_abs_diff'] if check['max_abs_diff'] is None else round(check['max_abs_diff'], 5)}"
            f", same checkpoint: {check['same_model']}).",
            "",
        ]
    if report.get("sampled"):
        lines += sampled_markdown(report["sampled"])
    if report.get("graph_text"):
        from recagents.eval.graph_text import cold_start_markdown

        lines += cold_start_markdown(report["graph_text"])
    if report.get("tuning"):
        t = report["tuning"]
        lines += [
            "## fusion_weight tuned on holdout=valid",
            "",
            f"{len(t['users'])} users, {t['metric']}: {t['grid']} → chosen {t['chosen']} "
            f"(was {t['previous']}), written to {t['written_to']}.",
            "",
        ]
        if (t.get("rule") or {}).get("why"):
            lines += [
                f"Best on valid: {t['rule']['best_on_valid']}, not chosen: {t['rule']['why']}.",
                "",
            ]
    return "\n".join(lines)


# --- plots ------------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metrics(report: dict[str, Any], path: Path) -> Path:
    plt = _plt()
    groups = [
        ("full catalogue", [n for n in report["methods"] if not n.endswith("@pool")]),
        ("within the pool", [n for n in report["methods"] if n.endswith("@pool")]),
    ]
    groups = [g for g in groups if g[1]]
    fig, axes = plt.subplots(len(groups), 1, figsize=(11, 3.6 * len(groups)), squeeze=False)
    palette = plt.get_cmap("tab20").colors  # one colour per method (tab10 repeats after 10)
    for ax, (title, names) in zip(axes[:, 0], groups, strict=True):
        width = 0.8 / len(names)
        x = np.arange(len(BAR_METRICS))
        for i, name in enumerate(names):
            cis = [report["methods"][name]["metrics"][m] for m in BAR_METRICS]
            means = np.array([c["mean"] or 0.0 for c in cis])
            lo = np.array([c["lo"] if c["lo"] is not None else 0.0 for c in cis])
            hi = np.array([c["hi"] if c["hi"] is not None else 0.0 for c in cis])
            err = np.vstack([np.maximum(means - lo, 0), np.maximum(hi - means, 0)])
            ax.bar(x - 0.4 + width * (i + 0.5), means, width, yerr=err, capsize=2, label=name,
                   color=palette[i % len(palette)])  # fmt: skip
        ax.set_xticks(x, BAR_METRICS)
        ax.set_ylabel("mean (95 % CI)")
        ax.set_title(f"{title}, {len(report['users'])} users, holdout=test", fontsize=9)
        ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(report: dict[str, Any], path: Path) -> Path | None:
    cost = report.get("cost") or {}
    if not cost:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    variants = list(cost)
    bottom = np.zeros(len(variants))
    for node in NODES:
        vals = np.array([
            np.mean([c["computed"]["per_node_seconds"].get(node, 0.0) for c in cost[v].values()])
            for v in variants
        ])  # fmt: skip
        if vals.any():
            ax.bar(variants, vals, bottom=bottom, label=node)
            bottom += vals
    hits = sum(c["cache_hits"] for v in variants for c in cost[v].values())
    calls = sum(c["llm_calls"] for v in variants for c in cost[v].values())
    ax.set_ylabel("seconds per user")
    ax.set_title(
        f"ARAG latency per node, as computed (this run: {calls} LLM calls, {hits} cached answers;"
        " answers shared between runs count once)",
        fontsize=8,
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_tradeoff(report: dict[str, Any], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    palette = plt.get_cmap("tab20").colors
    for i, (name, entry) in enumerate(report["methods"].items()):
        secs, ci = entry.get("seconds_per_user"), entry["metrics"][HEADLINE]
        if name.endswith("@pool") or secs is None or ci["mean"] is None:
            continue
        x = max(secs, 1e-5)
        ax.errorbar([x], [ci["mean"]], yerr=[[ci["mean"] - ci["lo"]], [ci["hi"] - ci["mean"]]],
                    fmt="o", capsize=3, color=palette[i % len(palette)])  # fmt: skip
        ax.annotate(name, (x, ci["mean"]), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per user (ARAG: as computed, without the answer cache)")
    ax.set_ylabel("NDCG@10 (full catalogue, 95 % CI)")
    ax.set_title("accuracy vs latency, holdout=test", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], data_dir: Path) -> Path:
    """Write report.json, report.md and the plots; returns report.json's path."""
    out = report_dir(data_dir)
    report = {**report, "created": datetime.now(UTC).isoformat(timespec="seconds")}
    plots = [plot_metrics(report, out / "metrics.png"), plot_latency(report, out / "latency.png"),
             plot_tradeoff(report, out / "tradeoff.png")]  # fmt: skip
    report["plots"] = [str(p) for p in plots if p is not None]
    return save_report(out, report, markdown(report))


def headline(report: dict[str, Any]) -> dict[str, dict]:
    """``{method: {metric: mean}}`` (rounded): what the CLI's JSON line carries."""
    out = {}
    for name, entry in report["methods"].items():
        means = {k: entry["metrics"][k]["mean"] for k in report["metrics"]}
        out[name] = {k: None if v is None else round(v, 4) for k, v in means.items()}
    return out
