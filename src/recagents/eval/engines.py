"""The engines side by side in ``eval ranking`` (``--engines``): same split, same users, same
metrics and intervals as every other method.

Each engine (a RecBole general recommender, ``recagents train --model NAME``) ranks the full
catalogue with train + valid masked — RecBole's full-sort test protocol — from its exported
score matrix. An engine without a checkpoint is trained first; one whose YAMLs changed since
its training is evaluated as it is and flagged (``checks[name]["stale"]``). Its split must
be the evaluation's split (every engine shares ``configs/recbole.yaml``'s split and seed); a
different one is an error, never a silent mismatch. Our metrics for each engine over every test
user are checked against RecBole's own test numbers in that engine's ``metrics.json``.

The ``bpr`` row is always BPR (the reference of every paired difference), whichever engine is
active; the ARAG agents retrieve with the active engine (``report["engine"]``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm import tqdm

from recagents.build import engine_is_built, engine_stale_reason, train_and_record
from recagents.errors import DataError
from recagents.eval.metrics import mean_metrics
from recagents.recommender.inference import get_recommender
from recagents.recommender.split import HistoryView, Split
from recagents.recommender.train import read_metrics, split_path
from recagents.settings import ENGINES, Settings, engine_name


def engine_method(engine: str) -> str:
    """The method name of an engine's row: its name lowercased (``bpr``, ``ease``, …)."""
    return engine_name(engine).lower()


def built_engine(settings: Settings, engine: str, *, progress: bool = True) -> tuple[Any, dict]:
    """(the engine's recommender, facts): trained first when it has no checkpoint."""
    trained = not engine_is_built(settings, engine)
    if trained:
        train_and_record(settings, engine, show_progress=progress)
    stale = engine_stale_reason(settings, engine)
    return get_recommender(settings, engine), {
        "trained_now": trained,
        "stale": None if stale is None or trained else stale,
    }


def reference_bpr(settings: Settings, active: Any) -> Any:
    """BPR's recommender, the reference row: ``active`` when it is BPR, else BPR's own."""
    return active if active.model == "BPR" else built_engine(settings, "BPR")[0]


def _same_split(settings: Settings, engine: str, split: Split) -> None:
    other = Split.load(split_path(settings, engine))
    for part in ("train", "valid", "test"):
        if not np.array_equal(other.part(part), split.part(part)):
            raise DataError(
                f"{engine} was trained on another split than {settings.recommender} "
                f"({part} differs): retrain both from the same configs/recbole.yaml."
            )


def recbole_check(rec: Any, settings: Settings, view: HistoryView, targets) -> dict[str, Any]:
    """The engine over EVERY test user with our metrics vs RecBole's test numbers."""
    tops = rec.top_k_all_users(k=10, view=view)
    users = [u for u, t in targets.items() if t]
    ours = mean_metrics({u: tops[u].item_ids for u in users}, targets, ks=(10,))
    saved = read_metrics(settings, rec.model) or {}
    recbole = saved.get("test", {})
    return {
        "users": len(users),
        "ours": {k: round(v, 4) for k, v in ours.items()},
        "recbole": {k: recbole[k] for k in ours if k in recbole},
        "max_abs_diff": max(
            (abs(ours[k] - recbole[k]) for k in ours if k in recbole), default=None
        ),
        "same_model": saved.get("trained_at") == rec.trained_at,
    }


def run_engines(
    settings: Settings,
    engines: tuple[str, ...],
    *,
    users: list[int],
    view: HistoryView,
    targets: dict[int, set[int]],
    cut: int = 10,
    progress: bool = True,
) -> tuple[dict[str, dict[int, list[int]]], dict[str, float], dict[str, Any]]:
    """(rankings per method, seconds per user per method, checks) for ``engines`` (BPR, the
    baseline row, is left out: it is always there)."""
    split = Split.load(split_path(settings))
    rankings: dict[str, dict[int, list[int]]] = {}
    seconds: dict[str, float] = {}
    checks: dict[str, Any] = {}
    names = [engine_name(e) for e in engines if engine_name(e) != "BPR"]
    for name in tqdm(names, desc="engines", unit="engine", disable=not progress or not names):
        rec, facts = built_engine(settings, name, progress=progress)
        _same_split(settings, name, split)
        started = time.perf_counter()
        tops = rec.top_k_all_users(k=cut, view=view)
        method = engine_method(name)
        rankings[method] = {u: tops[u].item_ids for u in users}
        seconds[method] = (time.perf_counter() - started) / max(1, len(users))
        checks[method] = {
            **recbole_check(rec, settings, view, targets),
            **facts,
            "train_seconds": (read_metrics(settings, name) or {}).get("train_seconds"),
        }
    return rankings, seconds, checks


def run_two_stage(
    settings: Settings,
    engines: tuple[str, ...],
    *,
    users: list[int],
    view: HistoryView,
    cut: int = 10,
    progress: bool = True,
) -> tuple[dict[str, dict[int, list[int]]], dict[str, float], dict[str, Any]]:
    """(rankings, seconds per user, facts) of retrieval → ranking for each engine
    (``two_stage_<engine>``): the engine's top-N on the test view re-ranked by the ranker fitted
    on the valid view (``recommender/reranker.py``, ``configs/ranking.yaml``)."""
    from recagents.recommender.reranker import Reranker, rank_all, ranking_config

    config = ranking_config(settings)
    rankings: dict[str, dict[int, list[int]]] = {}
    seconds: dict[str, float] = {}
    facts: dict[str, Any] = {}
    for name in tqdm([engine_name(e) for e in engines], desc="two-stage", disable=not progress):
        rec, _ = built_engine(settings, name, progress=progress)
        started = time.perf_counter()
        ranker = Reranker.load_or_fit(settings, rec, config)
        fitted = time.perf_counter() - started
        method = f"two_stage_{engine_method(name)}"
        started = time.perf_counter()
        rankings[method] = dict(rank_all(ranker, rec, users, view, cut))
        seconds[method] = (time.perf_counter() - started) / max(1, len(users))
        facts[method] = {"retrieval": name, "candidates": config.candidates, "fit_seconds": fitted}
    return rankings, seconds, facts


def parse_engines(value: str | None) -> tuple[str, ...]:
    """``--engines`` value: ``all`` (the shipped five) or comma-separated RecBole names."""
    if not value:
        return ()
    if value.strip().lower() == "all":
        return ENGINES
    return tuple(engine_name(v) for v in value.split(",") if v.strip())
