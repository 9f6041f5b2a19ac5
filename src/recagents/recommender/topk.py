"""Result types, argument checks and the top-k selection shared by BPR and popularity."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from numbers import Integral
from typing import Any

import numpy as np

from recagents.errors import InvalidArgumentError, UnknownItemError


@dataclass(frozen=True, slots=True)
class ScoredItem:
    item_id: int
    score: float


@dataclass(frozen=True, slots=True)
class TopK:
    """A ranked list for one user, best first. ``fallback`` marks a popularity ranking."""

    user_id: int
    items: list[ScoredItem] = field(default_factory=list)
    fallback: bool = False
    reason: str | None = None
    model: str = "BPR"

    @property
    def item_ids(self) -> list[int]:
        return [item.item_id for item in self.items]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_id(value: Any, what: str) -> int:
    """A user/item id must be a positive integer (ML-100k ids start at 1)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidArgumentError(
            f"{what} must be a positive integer MovieLens id, got {value!r} "
            f"({type(value).__name__})."
        )
    if value < 1:
        raise InvalidArgumentError(f"{what} must be a positive integer MovieLens id, got {value}.")
    return int(value)


def check_k(k: Any, max_k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= int(k) <= max_k:
        raise InvalidArgumentError(
            f"k must be an integer from 1 to {max_k}, got {k!r}; ask for fewer items."
        )
    return int(k)


def candidate_columns(
    candidates: Collection[Any], item_lookup: np.ndarray, *, limit_shown: int = 5
) -> np.ndarray:
    """Internal item columns of external candidate ids; every id must be known.

    ``item_lookup[external_id]`` is the internal column, or -1 for an id not in the data.
    """
    if isinstance(candidates, str | bytes) or not isinstance(candidates, Collection):
        raise InvalidArgumentError(
            f"candidates must be a collection of item ids, got {type(candidates).__name__}."
        )
    if len(candidates) == 0:
        raise InvalidArgumentError(
            "candidates is empty: pass at least one item id, or omit candidates to rank all items."
        )
    ids = np.fromiter((check_id(c, "each candidate item id") for c in candidates), np.int64)
    inside = ids < len(item_lookup)
    columns = np.full(len(ids), -1, dtype=np.int64)
    columns[inside] = item_lookup[ids[inside]]
    unknown = np.unique(ids[columns < 0])
    if len(unknown):
        shown = ", ".join(str(i) for i in unknown[:limit_shown])
        more = f" (+{len(unknown) - limit_shown} more)" if len(unknown) > limit_shown else ""
        raise UnknownItemError(
            f"Unknown item id(s) in candidates: {shown}{more}. "
            f"Use MovieLens-100k item ids ({known_range(item_lookup)}); drop or fix these."
        )
    return columns


def known_range(lookup: np.ndarray) -> str:
    known = np.flatnonzero(lookup >= 0)
    if len(known) == 0:
        return "none known"
    low, high = int(known[0]), int(known[-1])
    return (
        f"{low}..{high}" if len(known) == high - low + 1 else f"{len(known)} ids in {low}..{high}"
    )


def top_k_columns(scores: np.ndarray, k: int, ext_ids: np.ndarray) -> list[ScoredItem]:
    """The k best finite scores (masked entries are -inf), score desc then item id asc.

    Returns fewer than k items when fewer are unmasked; never a masked one.
    """
    valid = np.flatnonzero(np.isfinite(scores))
    if len(valid) > k:
        part = np.argpartition(-scores[valid], k - 1)[:k]
        kth = scores[valid[part]].min()
        # keep every tie with the k-th score so the id tie-break is deterministic
        valid = valid[scores[valid] >= kth]
    order = np.lexsort((ext_ids[valid], -scores[valid]))[:k]
    chosen = valid[order]
    return [
        ScoredItem(int(i), float(s)) for i, s in zip(ext_ids[chosen], scores[chosen], strict=True)
    ]
