"""One ``eval ranking`` run: its options, its state (users, targets, orders, timings, costs,
checks), the user sample and the history views the methods run under."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recagents.errors import InvalidArgumentError
from recagents.services.context import ServiceContext

TUNE_GRID = tuple(round(0.1 * i, 1) for i in range(11))


@dataclass
class RankingOptions:
    users: int | None = 20  # None: every test user with a test item
    seed: int = 2020
    k: int = 10  # items the ARAG ranker is asked for (capped at the pool size)
    resamples: int = 1000
    llm: bool = True
    ablations: bool = True
    tune: bool = False
    grid: tuple[float, ...] = TUNE_GRID
    swing_users: int = 20
    engines: tuple[str, ...] = ()  # RecBole engines compared beside BPR (eval/engines.py)
    two_stage: tuple[str, ...] = ()  # engines evaluated as retrieval → ranking (eval/engines.py)
    tune_users: int | None = None  # valid users for --tune (None: as many as ``users``)
    generated: int = 0  # users also run through the earlier generated agents
    sampled: int = 0  # users of the sampled-candidate protocol (eval/sampled.py)
    graph_text: bool = False  # RecoFM rows and the cold-start protocol (eval/graph_text.py)
    cold_users: int | None = None  # users of that cold-start protocol (None: every eligible)
    cache_path: Path | None = None
    progress: bool = True


@dataclass
class RankingRun:
    users: list[int]
    targets: dict[int, set[int]]
    pools: dict[int, list[int]] = field(default_factory=dict)
    rankings: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # method -> seconds per user
    cost: dict[str, dict[int, dict]] = field(default_factory=dict)  # variant -> user -> usage
    checks: dict[str, Any] = field(default_factory=dict)


def record_seconds(run: RankingRun, name: str, started: float) -> None:
    """``name``'s seconds per user since ``started`` (a ``time.perf_counter()``)."""
    run.seconds[name] = (time.perf_counter() - started) / max(1, len(run.users))


def sample_users(targets: dict[int, set[int]], n: int | None, seed: int) -> list[int]:
    """``n`` users with at least one target, drawn with ``seed``; all of them when n is None."""
    eligible = sorted(u for u, items in targets.items() if items)
    if n is None or n >= len(eligible):
        return eligible
    if n < 1:
        raise InvalidArgumentError(f"--users must be at least 1, got {n}")
    return sorted(random.Random(seed).sample(eligible, n))


def view_context(base: ServiceContext, holdout: str) -> ServiceContext:
    """The same opened stores under another history view (Swing is rebuilt from its ratings)."""
    return ServiceContext(
        settings=base.settings,
        store=base.store,
        recommender=base.get_recommender(),
        vectors=base.vectors,
        swing=None,
        options=base.options,
        holdout=holdout,
    )
