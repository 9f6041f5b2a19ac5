"""Scoring one assistant turn against the peer suite's recorded tool chain (``eval tools``).

Peer calls are mapped to our tools through ``PEER_NAME_MAP`` (names) and
``peer_compat.translate_call`` (filter arguments).

- chain exact: our tool sequence equals the peer's; chain F1: over tool-name multisets.
  Display-only item_metadata calls are dropped from BOTH chains before comparing: an
  item_metadata right after recommend_items or recent_interactions (the peer fetched titles to
  print its list; ours return titles). An item_metadata that fetches other fields (duration,
  director, storyline …) stays: it is part of the answer's reasoning. Only the last plan attempt
  counts (a re-plan replaces the chain).
- filter args: for queries where the peer filters, the share of filter keys whose value equals
  the peer's (names case-insensitive; numeric conditions as inclusive bounds, so "lower 1996"
  equals "at_most 1995"), and whether all keys are equal.
- constraints: of the items our recommend_items returned, the share inside the peer's filter
  (the peer's arguments run through our filter service), and the share unseen by the user.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from typing import Any

from recagents.errors import RecagentsError
from recagents.eval.peer_compat import PEER_NAME_MAP, UntranslatableCall, translate_call
from recagents.services import ServiceContext
from recagents.services.catalog import filter_items
from recagents.services.requests import FilterRequest

DISPLAYED = ("recommend_items", "recent_interactions")
INTEGER_FIELDS = {"release_year", "duration_min", "imdb_num_reviews"}
NUMERIC_FIELDS = ("release_year", "imdb_rating", "duration_min", "imdb_num_reviews")
# the per-model figures the CLI's JSON line carries (see ``summary``)
HEADLINE_KEYS = ("chain_exact", "chain_f1", "filter_keys", "filter_exact", "in_filter", "unseen",
                 "constraints_satisfied", "items_satisfy", "intent_match", "s_per_query_p50", "tokens_in",
                 "tokens_out")  # fmt: skip


def normalise_chain(names: list[str]) -> list[str]:
    """The chain without display-only item_metadata calls (right after a listing tool)."""
    out: list[str] = []
    for name in names:
        if name == "item_metadata" and out and out[-1] in DISPLAYED:
            continue
        out.append(name)
    return out


def peer_chain(calls: list[dict]) -> list[str]:
    """The peer's recorded calls as our (normalised) tool chain."""
    return normalise_chain([PEER_NAME_MAP[c["tool_name"]] for c in calls])


def chain_f1(ours: list[str], peer: list[str]) -> float:
    """F1 over tool-name multisets (1.0 when both are empty, 0.0 when only one is)."""
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
    out: dict[str, Any] = {}
    for field, value in req.model_dump(exclude_none=True).items():
        if field in NUMERIC_FIELDS:
            out[field] = _bounds(field, getattr(req, field))
        elif isinstance(value, list):
            out[field] = {str(v).lower() for v in value}
    return out


def filter_accuracy(ours: dict | None, peer: dict) -> tuple[float, bool]:
    """(share of filter keys with equal values, all equal) of our filter_items arguments."""
    a, b = normalise_filter(ours or {}), normalise_filter(peer)
    keys = set(a) | set(b)
    matched = sum(a.get(k) == b.get(k) for k in keys)
    return (matched / len(keys) if keys else 1.0), a == b


def peer_filter(calls: list[dict]) -> dict | None:
    """Our filter_items arguments for the peer's first item_filter_tool call (None: no filter)."""
    for call in calls:
        if call["tool_name"] == "item_filter_tool":
            try:
                return translate_call("item_filter_tool", call["arguments"])[1]
            except UntranslatableCall:
                return None
    return None


def final_attempt(trace: list[dict]) -> list[dict]:
    """The records of the turn's last plan attempt (tools mode: all of them)."""
    last = max((r.get("attempt", 1) for r in trace), default=1)
    return [r for r in trace if r.get("attempt", 1) == last]


def expected_intent(peer: list[str]) -> str:
    """The intent the peer's recorded chain stands for (for the per-intent confusion)."""
    if "like_percentage" in peer:
        return "audience_share"
    if "recommend_items" in peer:
        if "search_plots" in peer:
            before = peer[: peer.index("search_plots")]
            return "recommend_similar_to_item" if "item_metadata" in before else (
                "recommend_by_storyline")  # fmt: skip
        return "recommend"
    if "popular_items" in peer:
        return "catalogue_statistic" if "item_metadata" in peer else "popular"
    for tool, intent in (("user_metadata", "user_facts"), ("recent_interactions", "user_history"),
                         ("similar_users", "similar_users"), ("search_plots",
                         "recommend_by_storyline"), ("item_metadata", "item_facts")):  # fmt: skip
        if tool in peer:
            return intent
    return "other"


def score(case: dict, state: dict, services: ServiceContext) -> dict:
    """One query's row: chains, exact/F1, filter accuracy and constraint shares. The verifier's
    enforced re-run is not part of the chain (``reruns`` counts it); the recommended items are
    the verified list where the turn was compiled."""
    trace = state.get("trace") or []
    final = final_attempt(trace)
    reruns = [r for r in final if r.get("reason") == "re-run with the constraints enforced"]
    final = [r for r in final if r not in reruns]
    ours = normalise_chain([r["tool"] for r in final])
    peer = peer_chain(case["calls"])
    plan = state.get("plan") or {}
    row: dict[str, Any] = {
        "chain": ours,
        "peer_chain": peer,
        "exact": ours == peer,
        "f1": round(chain_f1(ours, peer), 4),
        "calls": [[r["tool"], r.get("args")] for r in final],
        "plan_notes": plan.get("notes", []),
        "plan_action": plan.get("action"),
        "plan_error": (plan.get("error") or "")[:300],
        "failures": [r.get("message", "")[:160] for r in trace if r.get("status") != "success"],
        "intent": ((state.get("form") or {}).get("parsed") or {}).get("intent", "free-plan"),
        "expected_intent": expected_intent(peer),
        "reruns": len(reruns),
    }
    verdict = state.get("verdict") or {}
    expected = peer_filter(case["calls"])
    if expected is not None:
        mine = next((r.get("args") for r in final if r["tool"] == "filter_items"), None)
        row["filter_key_acc"], row["filter_exact"] = filter_accuracy(mine, expected)
    rec = next(
        (r for r in final if r["tool"] == "recommend_items" and r.get("status") == "success"),
        None,
    )
    if rec and verdict.get("items") is not None and verdict.get("parsed", {}).get("user_id"):
        rec = {"data": {"user_id": verdict["parsed"]["user_id"],
                        "items": [{"item_id": i} for i in verdict["items"]]}}  # fmt: skip
        row.update(verdict_figures(verdict))
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
            except RecagentsError:  # the peer's filter matches nothing in our catalogue
                pass
    return row


_ITEM_IN_VIOLATION = re.compile(r"\(id (\d+)\) (?:breaks|was already rated)")


def verdict_figures(verdict: dict) -> dict:
    """The verifier's verdict on one recommendation as figures: satisfied (no violation at all),
    the violations, what the catalogue could not give (``unmet``: a short list that already
    holds every unseen movie satisfying the constraints), and the share of listed items that break no filter and were not rated
    already (a short list, a failed step or a relaxation is a reported violation, not a wrong
    item)."""
    violations = list(verdict.get("violations") or [])
    broken = {m[1] for v in violations if (m := _ITEM_IN_VIOLATION.search(v))}
    listed = verdict.get("items") or []
    return {
        "constraints_satisfied": bool(verdict.get("satisfied")),
        "violations": violations,
        "unmet": list(verdict.get("unmet") or []),
        "items_satisfy": 1 - len(broken) / len(listed) if listed else 1.0,
    }


def _mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return round(statistics.fmean(float(v) for v in values), 3) if values else None


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def summary(rows: list[dict]) -> dict:
    """Per-model figures. ``s_per_query_p50``: queries run without the answer writer (``full``
    rows are ``s_full_p50``); tokens: means per query; shares: means over the queries where
    they apply (filter: the peer filtered; in_filter/unseen: our recommend_items succeeded)."""
    return {
        "queries": len(rows),
        "chain_exact": _mean(rows, "exact"),
        "chain_f1": _mean(rows, "f1"),
        "filter_keys": _mean(rows, "filter_key_acc"),
        "filter_exact": _mean(rows, "filter_exact"),
        "in_filter": _mean(rows, "in_filter"),
        "unseen": _mean(rows, "unseen"),
        "constraints_satisfied": _mean(rows, "constraints_satisfied"),
        "items_satisfy": _mean(rows, "items_satisfy"),
        "intent_match": _mean(
            [{"m": r["intent"] == r["expected_intent"]} for r in rows if "intent" in r], "m"
        ),
        "s_per_query_p50": _p50([r["seconds"] for r in rows if not r.get("full")]),
        "s_full_p50": _p50([r["seconds"] for r in rows if r.get("full")]),
        "tokens_in": _mean(rows, "tokens_in"),
        "tokens_out": _mean(rows, "tokens_out"),
        "errors": sum(1 for r in rows if r.get("error")),
    }
