"""Scoring of ``eval ranking``: per-user metrics, means with bootstrap CIs and paired
differences against each method's reference (``bpr``, or ``pool@pool`` for ``@pool`` rows),
and against ``ease`` too where EASE was ranked (``--engine-list ease``)."""

from __future__ import annotations

from typing import Any

from recagents.eval.bootstrap import mean_ci, paired_diff, resample_indices
from recagents.eval.metrics import METRICS

METRIC_KEYS = ("ndcg@5", "ndcg@10", "hit@5", "hit@10", "mrr@10", "recall@10")


def user_metrics(ranked: list[int], relevant: set[int]) -> dict[str, float]:
    out = {}
    for key in METRIC_KEYS:
        name, k = key.split("@")
        out[key] = METRICS[name](ranked, relevant, int(k))
    return out


def _relevant(run: Any, name: str, u: int) -> set[int]:
    if name.endswith("@pool"):
        return run.targets[u] & set(run.pools[u])
    return run.targets[u]


def score(run: Any, resamples: int, seed: int) -> tuple[dict, dict]:
    """(summary per method, per-user values per method)."""
    names = list(run.rankings)
    names += [f"{n}@pool" for n in run.rankings if n == "pool" or n.startswith("arag_")]
    per_user: dict[str, dict[int, dict[str, float]]] = {}
    for name in names:
        rankings = run.rankings[name.removesuffix("@pool")]
        per_user[name] = {
            u: user_metrics(rankings[u], rel)
            for u in run.users
            if u in rankings and (rel := _relevant(run, name, u))
        }
    summary = {}
    for name in names:
        ref = "pool@pool" if name.endswith("@pool") else "bpr"
        users = [u for u in run.users if u in per_user[name]]
        idx = resample_indices(len(users), resamples, seed)
        entry: dict[str, Any] = {
            "relevant": "test items inside the pool"
            if name.endswith("@pool")
            else "all test items",
            "users": len(users),
            "metrics": {},
            "reference": None if name == ref else ref,
            "vs_reference": {},
            "seconds_per_user": run.seconds.get(name.removesuffix("@pool")),
        }
        against_ease = (
            "ease" in per_user
            and name not in ("ease", "bpr")
            and not name.endswith("@pool")
            and all(u in per_user["ease"] for u in users)
        )
        if against_ease:
            entry["vs_ease"] = {}
        for key in METRIC_KEYS:
            values = [per_user[name][u][key] for u in users]
            entry["metrics"][key] = mean_ci(values, idx)
            if name != ref and ref in per_user and all(u in per_user[ref] for u in users):
                base = [per_user[ref][u][key] for u in users]
                entry["vs_reference"][key] = paired_diff(values, base, idx)
            if against_ease:
                ease = [per_user["ease"][u][key] for u in users]
                entry["vs_ease"][key] = paired_diff(values, ease, idx)
        summary[name] = entry
    return summary, per_user
