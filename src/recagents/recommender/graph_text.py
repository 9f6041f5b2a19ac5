"""Graph-enhanced text embeddings (RecoFM; TextGCN, arXiv 2510.12461): no training.

Each item starts from its text vector (the MiniLM plot vector of the vector index). A user starts
from the mean of the text vectors of the items they rated. L parameter-free graph-convolution
layers over the user-item bipartite graph of the VISIBLE history (symmetric normalisation
``D^-1/2 A D^-1/2``, as LightGCN) smooth them, and the item's graph-enhanced embedding is the
mean of its layers 0..L. Items nobody rated keep their text vector.

Retrieval: a user is the rating-weighted mean of the graph-enhanced embeddings of the items they
liked (rating >= ``liked_rating``); a request text is embedded with the same model; the search
vector is ``(1 - alpha) * user/|user| + alpha * query/|query|``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import yaml
from pydantic import BaseModel, ConfigDict, Field

from recagents.errors import DataError, InvalidArgumentError
from recagents.recommender.split import Holdout
from recagents.settings import Settings

CONFIG_NAME = "graph_text.yaml"


class GraphTextConfig(BaseModel):
    """``configs/graph_text.yaml`` (each key is documented there)."""

    model_config = ConfigDict(extra="forbid")

    layers: int = Field(4, ge=0, le=8)
    alpha: float = Field(0.1, ge=0, le=1)
    liked_rating: float = Field(4.0, ge=0, le=5)
    setup_views: list[Holdout] = Field(default_factory=lambda: list[Holdout](["none"]))
    arag_share: float = Field(0.3, ge=0, le=1)
    arag_alpha: float | None = Field(None, ge=0, le=1)

    @classmethod
    def load(cls, settings: Settings) -> GraphTextConfig:
        path = Path(settings.config_dir) / CONFIG_NAME
        if not path.is_file():
            return cls()
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except Exception as exc:
            raise DataError(f"{path} is not a valid graph-text config: {exc}") from exc


def check_alpha(alpha: object) -> float:
    """``alpha`` as a float in [0, 1], or ``InvalidArgumentError``."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise InvalidArgumentError(
            f"alpha must be a number from 0 (only the history) to 1 (only the text), got {alpha!r}"
        )
    return float(alpha)


def normalized_adjacency(
    n_items: int, users: np.ndarray, columns: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray]:
    """(``D_u^-1/2 R D_i^-1/2``, item degrees) of the users x items interaction matrix R built
    from the pairs (``users`` any ids, ``columns`` item rows 0..n_items-1; duplicates count once)."""
    _, rows = np.unique(np.asarray(users, dtype=np.int64), return_inverse=True)
    n_users = int(rows.max()) + 1 if rows.size else 0
    r = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, np.asarray(columns, dtype=np.int64))),
        shape=(n_users, n_items),
    )
    r.data[:] = 1.0  # a pair rated twice is one edge
    deg_u = np.asarray(r.sum(axis=1)).ravel()
    deg_i = np.asarray(r.sum(axis=0)).ravel()
    inv_u = np.divide(1.0, np.sqrt(deg_u), out=np.zeros_like(deg_u), where=deg_u > 0)
    inv_i = np.divide(1.0, np.sqrt(deg_i), out=np.zeros_like(deg_i), where=deg_i > 0)
    return (sp.diags(inv_u) @ r @ sp.diags(inv_i)).tocsr(), deg_i


def propagate(
    text: np.ndarray,
    item_ids: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    layers: int,
) -> np.ndarray:
    """The graph-enhanced embeddings (same rows as ``text``, whose row n is item ``item_ids[n]``)
    from the interactions (``users[j]``, ``items[j]``); pairs on items outside ``item_ids`` are
    ignored. ``layers`` = 0 gives ``text`` back."""
    text = np.asarray(text, dtype=np.float64)
    if layers < 0:
        raise InvalidArgumentError(f"layers must be >= 0, got {layers}")
    if layers == 0:
        return text.astype(np.float32)
    ids = np.asarray(item_ids, dtype=np.int64)
    lookup = np.full(int(max(ids.max(), np.max(items, initial=0))) + 1, -1, dtype=np.int64)
    lookup[ids] = np.arange(len(ids))
    columns = lookup[np.asarray(items, dtype=np.int64)]
    keep = columns >= 0
    norm, deg_i = normalized_adjacency(len(ids), np.asarray(users)[keep], columns[keep])
    binary = norm.copy()
    binary.data[:] = 1.0
    per_user = np.asarray(binary.sum(axis=1)).ravel()
    user = (binary @ text) / np.maximum(per_user, 1.0)[:, None]  # layer 0: mean of their items
    item = text
    total = text.copy()
    for _ in range(layers):
        user, item = norm @ item, norm.T @ user
        total += item
    out = total / (layers + 1)
    out[deg_i == 0] = text[deg_i == 0]  # nobody rated it: its text vector
    return out.astype(np.float32)


def liked_weights(history: Mapping[int, float], liked_rating: float) -> dict[int, float]:
    """The liked part of a history (item → rating, weight = rating)."""
    return {int(i): float(r) for i, r in history.items() if r >= liked_rating and r > 0}


def unit(vector: np.ndarray | None) -> np.ndarray | None:
    """``vector`` scaled to length 1 (None for None or a zero vector)."""
    if vector is None:
        return None
    norm = float(np.linalg.norm(vector))
    return None if norm == 0.0 else (np.asarray(vector, dtype=np.float32) / norm)


def weighted_mean(vectors: Mapping[int, np.ndarray], weights: Mapping[int, float]):
    """Weighted mean of the vectors of the weighted items that have one (None if none has)."""
    used = [i for i in weights if i in vectors and weights[i] > 0]
    if not used:
        return None
    w = np.asarray([weights[i] for i in used], dtype=np.float64)
    stacked = np.stack([np.asarray(vectors[i], dtype=np.float64) for i in used])
    return (w[:, None] * stacked).sum(axis=0) / w.sum()


def blend(user: np.ndarray | None, query: np.ndarray | None, alpha: float) -> np.ndarray | None:
    """``(1 - alpha) * user/|user| + alpha * query/|query|``; a missing side leaves the other."""
    u, q = unit(user), unit(query)
    if u is None:
        return q
    if q is None:
        return u
    return ((1.0 - alpha) * u + alpha * q).astype(np.float32)


def rank(
    matrix: np.ndarray,
    item_ids: np.ndarray,
    vector: np.ndarray,
    k: int,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """The ``k`` items of ``matrix`` (rows = ``item_ids``, unit length) nearest ``vector`` by
    cosine, best first, ties by id; ``exclude`` left out (the evaluation's exact search)."""
    scores = matrix @ np.asarray(vector, dtype=np.float32)
    if exclude:
        scores = scores.copy()
        scores[np.isin(item_ids, list(exclude))] = -np.inf
    order = np.lexsort((item_ids, -scores))[:k]
    return [int(item_ids[n]) for n in order if np.isfinite(scores[n])]


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0).astype(np.float32)
