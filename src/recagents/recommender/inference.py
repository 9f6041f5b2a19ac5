"""Engine inference: top-k per user with seen items masked, candidate restriction, scores.

Works for whichever engine is active (BPR by default; LightGCN, EASE, ItemKNN, MultiVAE, …):
the checkpoint holds the engine's whole user x item score matrix (943 x 1,683 floats, ~6 MB),
computed by RecBole at training time, so a request is a row copy, two masks and an
``argpartition``, and nothing here imports RecBole. Load once with
``Recommender.load(settings)`` (or the cached ``get_recommender``). All ids in and out are
external MovieLens ids.

A user-facing recommender must not suggest what the user already rated, so "seen" means all
of the user's ratings in the full 100k data, not only the training split. Under an evaluation
view (``HistoryView`` of ``holdout`` valid/test) the hidden ratings are not "seen": they are
exactly what the evaluation scores on.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recagents.errors import DataError, NotBuiltError, UnknownUserError
from recagents.recommender.popularity import count_items, rank_by_count
from recagents.recommender.split import HistoryView
from recagents.recommender.topk import (
    ScoredItem,
    TopK,
    candidate_columns,
    check_id,
    check_k,
    known_range,
    top_k_columns,
)
from recagents.recommender.train import CHECKPOINT_FORMAT, checkpoint_path, read_metrics
from recagents.recommender.two_tower import cold_user_tower
from recagents.settings import MAX_K, Settings, engine_name

_REQUIRED = ("user_ids", "item_ids", "scores", "interactions")


def _lookup(ext_ids: np.ndarray) -> np.ndarray:
    """external id -> internal index (-1 where unknown); index 0 of ext_ids is padding."""
    lookup = np.full(int(ext_ids.max()) + 1, -1, dtype=np.int64)
    lookup[ext_ids[1:]] = np.arange(1, len(ext_ids))
    return lookup


def _profile_vectors(scores: np.ndarray) -> np.ndarray:
    """Item vectors for engines without embeddings (EASE, ItemKNN, MultiVAE): each item's
    column of scores over the users, centred and scaled to unit length, so fold-in ranks by
    how alike the engine scores two items across users."""
    finite = np.where(np.isfinite(scores), scores, 0.0)[1:].T.astype(np.float32)
    finite -= finite.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(finite, axis=1, keepdims=True)
    vectors = np.divide(finite, norms, out=np.zeros_like(finite), where=norms > 0)
    vectors[0] = 0.0
    return vectors


class Recommender:
    """A trained engine ready to rank. Build with :meth:`load`."""

    def __init__(self, state: dict[str, Any], *, source: Path | None = None) -> None:
        missing = [key for key in _REQUIRED if key not in state]
        if state.get("format") != CHECKPOINT_FORMAT or missing:
            raise DataError(
                f"{source or 'checkpoint'} is not a recagents engine checkpoint "
                f"(format {state.get('format')!r}, missing {missing}); re-run `recagents train`."
            )
        self.source = source
        self.model: str = str(state.get("model") or "BPR")
        self.trained_at: str | None = state.get("trained_at")
        self.user_ext = state["user_ids"].numpy().astype(np.int64)
        self.item_ext = state["item_ids"].numpy().astype(np.int64)
        self._user_lookup = _lookup(self.user_ext)
        self._item_lookup = _lookup(self.item_ext)

        self._scores = state["scores"].float().numpy().copy()
        self._scores[:, 0] = -np.inf  # padding item
        vectors = state.get("item_vectors")
        self._item_vectors = (
            vectors.float().numpy() if vectors is not None else _profile_vectors(self._scores)
        )
        users = state.get("user_vectors")
        # a factorised engine (scores = user · item): what the vector path serves from
        self.user_vectors: np.ndarray | None = (
            users.float().numpy() if users is not None and vectors is not None else None
        )
        self._cold_tower = cold_user_tower(state)

        pairs = state["interactions"].numpy().astype(np.int64)
        seen = np.zeros(self._scores.shape, dtype=bool)
        seen[pairs[:, 0], pairs[:, 1]] = True
        seen[:, 0] = True
        self._seen = seen
        self._seen_by_view: dict[str, np.ndarray] = {"none": seen}
        self._pairs = pairs  # (row, column) of every interaction
        self.metrics: dict[str, Any] | None = None

    # --- construction ------------------------------------------------------------------
    @classmethod
    def load(cls, settings: Settings, engine: str | None = None) -> Recommender:
        """The engine's checkpoint (default: the active engine, ``RECAGENTS_RECOMMENDER``)."""
        name = engine_name(engine or settings.recommender)
        path = checkpoint_path(settings, name)
        if not path.is_file():
            how = "`recagents setup` (or `recagents train`)"
            if name != "BPR":
                how = f"`recagents train --model {name}`"
            raise NotBuiltError(f"No {name} checkpoint at {path}: run {how}.")
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated file, wrong pickle, ...
            raise DataError(
                f"{name} checkpoint {path} cannot be read ({type(exc).__name__}: {exc}); "
                f"re-run `recagents train --model {name}`."
            ) from exc
        recommender = cls(state, source=path)
        metrics = read_metrics(settings, name)
        # metrics.json is written right after the .pth; only trust the one of this checkpoint
        if metrics and metrics.get("trained_at") == recommender.trained_at:
            recommender.metrics = metrics
        return recommender

    # --- facts -------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.user_ext) - 1

    @property
    def n_items(self) -> int:
        return len(self.item_ext) - 1

    @property
    def user_ids(self) -> list[int]:
        """Known user ids, ascending."""
        return sorted(self.user_ext[1:].tolist())

    @property
    def item_ids(self) -> list[int]:
        """Known item ids, ascending."""
        return sorted(self.item_ext[1:].tolist())

    def _user_row(self, user_id: Any) -> int:
        """Internal row of a validated user id, or -1 when the model does not know it."""
        uid = check_id(user_id, "user_id")
        return int(self._user_lookup[uid]) if uid < len(self._user_lookup) else -1

    def _item_column(self, item_id: Any) -> int:
        iid = check_id(item_id, "item_id")
        return int(self._item_lookup[iid]) if iid < len(self._item_lookup) else -1

    def known_user(self, user_id: Any) -> bool:
        return self._user_row(user_id) > 0

    @property
    def item_vectors(self) -> np.ndarray:
        """items x d (row 0: padding): what fold-in and the vector path rank with."""
        return self._item_vectors

    def user_vector(self, user_id: Any) -> np.ndarray:
        """The user's vector of a factorised engine (``user_vector · item_vectors`` = scores)."""
        if self.user_vectors is None:
            raise DataError(f"engine {self.model} has no user vectors (not factorised).")
        row = self._user_row(user_id)
        if row <= 0:
            raise UnknownUserError(f"User {user_id} is not in the trained model.")
        return self.user_vectors[row]

    def seen_matrix(self, view: HistoryView | None = None) -> np.ndarray:
        """users x items: True where the rating is history under ``view`` (cached per view)."""
        if view is None or not view.hides_anything:
            return self._seen
        cached = self._seen_by_view.get(view.holdout)
        if cached is None:
            cached = self._seen.copy()
            pairs = view.hidden_pairs
            rows = self._user_lookup[np.clip(pairs[:, 0], 0, len(self._user_lookup) - 1)]
            cols = self._item_lookup[np.clip(pairs[:, 1], 0, len(self._item_lookup) - 1)]
            ok = (rows > 0) & (cols > 0)
            cached[rows[ok], cols[ok]] = False
            self._seen_by_view[view.holdout] = cached
        return cached

    def seen_items(self, user_id: Any, view: HistoryView | None = None) -> set[int]:
        """Every item the user rated (history under ``view``); empty for an unknown user."""
        row = self._user_row(user_id)
        if row <= 0:
            return set()
        return set(self.item_ext[np.flatnonzero(self.seen_matrix(view)[row])].tolist()) - {-1}

    def item_counts(self, view: HistoryView | None = None) -> dict[int, int]:
        """item id → interactions that are history under ``view`` (popularity)."""
        seen = self.seen_matrix(view)
        rows, cols = self._pairs[:, 0], self._pairs[:, 1]
        return count_items(self.item_ext[cols[seen[rows, cols]]].tolist())

    def fold_in_scores(self, history: dict[int, float]) -> dict[int, float]:
        """Cold start without retraining: score every item by its dot product with the
        weighted mean of the history items' embeddings (``history``: item id → weight, e.g. the
        rating; the two-tower engine: its user tower's vector of that history). Unknown items are
        ignored; the history items themselves are left out."""
        columns, weights = [], []
        for item_id, weight in history.items():
            col = self._item_column(item_id)
            if col > 0 and weight > 0:
                columns.append(col)
                weights.append(float(weight))
        if not columns:
            return {}
        w = np.asarray(weights, dtype=np.float32)
        if self._cold_tower is not None:  # two-tower: the user tower on the history alone
            profile = self._cold_tower.vector(columns, w)
        else:
            profile = (w[:, None] * self._item_vectors[columns]).sum(axis=0) / w.sum()
        scores = self._item_vectors @ profile
        scores[0] = -np.inf
        scores[columns] = -np.inf
        return {
            int(self.item_ext[c]): float(scores[c]) for c in np.flatnonzero(np.isfinite(scores))
        }

    def nearest_items(self, items: Iterable[Any], pool: Iterable[Any]) -> dict[int, int]:
        """For each of ``items``, the item of ``pool`` closest to it by the cosine of the
        engine's item vectors (items or pool members the engine does not know are left out)."""
        known = [int(i) for i in pool if self._item_column(i) > 0]
        if not known:
            return {}
        vecs = self._item_vectors[[self._item_column(i) for i in known]]
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        out: dict[int, int] = {}
        for item in items:
            col = self._item_column(item)
            if col <= 0:
                continue
            v = self._item_vectors[col]
            sims = vecs @ (v / max(float(np.linalg.norm(v)), 1e-12))
            out[int(item)] = known[int(np.argmax(sims))]
        return out

    # --- ranking -----------------------------------------------------------------------
    def scores(self, user_id: Any, item_ids: Iterable[Any]) -> dict[int, float]:
        """The engine's scores of the given items for the user (higher is better)."""
        row = self._user_row(user_id)
        if row <= 0:
            raise UnknownUserError(
                f"User {user_id} is not in the trained model (known users "
                f"{known_range(self._user_lookup)}); top_k falls back to popularity for them."
            )
        ids = list(item_ids)
        if not ids:
            return {}
        columns = candidate_columns(ids, self._item_lookup)
        return {int(i): float(self._scores[row, c]) for i, c in zip(ids, columns, strict=True)}

    def top_k(
        self,
        user_id: Any,
        k: int = 10,
        candidates: Collection[Any] | None = None,
        exclude_seen: bool = True,
        view: HistoryView | None = None,
    ) -> TopK:
        """The user's k best items, best first; never a seen item (history under ``view``;
        unless exclude_seen is False) and only items in ``candidates`` when given. Fewer than k
        when fewer remain.

        An unknown (but well-formed) user id gets a popularity ranking with ``fallback=True``.
        """
        k = check_k(k, MAX_K)
        row = self._user_row(user_id)
        uid = int(user_id)
        allowed = None if candidates is None else candidate_columns(candidates, self._item_lookup)
        if row <= 0:
            pool = self.item_ids if candidates is None else [int(c) for c in candidates]
            items = rank_by_count(self.item_counts(view), pool, k, keep_unrated=True)
            reason = (
                f"user {uid} is not in the trained model (known users "
                f"{known_range(self._user_lookup)}): ranked by popularity"
            )
            return TopK(uid, items, fallback=True, reason=reason, model="popularity")
        scores = self._scores[row].copy()
        if exclude_seen:
            scores[self.seen_matrix(view)[row]] = -np.inf
        if allowed is not None:
            restricted = np.full(len(scores), -np.inf, dtype=scores.dtype)
            restricted[allowed] = scores[allowed]
            scores = restricted
        return TopK(uid, top_k_columns(scores, k, self.item_ext), model=self.model)

    def top_k_all_users(
        self, k: int = 10, exclude_seen: bool = True, view: HistoryView | None = None
    ) -> dict[int, TopK]:
        """Top-k for every known user at once (batched over the score matrix)."""
        k = check_k(k, MAX_K)
        scores = self._scores[1:].copy()
        if exclude_seen:
            scores[self.seen_matrix(view)[1:]] = -np.inf
        else:
            scores[:, 0] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((self.item_ext[part], -part_scores), axis=1)
        best = np.take_along_axis(part, order, axis=1)
        best_scores = np.take_along_axis(part_scores, order, axis=1)
        result: dict[int, TopK] = {}
        for r, uid in enumerate(self.user_ext[1:].tolist()):
            finite = np.isfinite(best_scores[r])
            items = [
                ScoredItem(int(i), float(s))
                for i, s in zip(self.item_ext[best[r][finite]], best_scores[r][finite], strict=True)
            ]
            result[uid] = TopK(uid, items, model=self.model)
        return result


_cache: dict[str, tuple[int, Recommender]] = {}
_cache_lock = threading.Lock()


def get_recommender(settings: Settings, engine: str | None = None) -> Recommender:
    """The process-wide ``Recommender`` of the engine's checkpoint (default: the active
    engine), reloaded when the file changes."""
    path = checkpoint_path(settings, engine)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return Recommender.load(settings, engine)  # raises NotBuiltError with the fix
    with _cache_lock:
        cached = _cache.get(str(path))
        if cached is None or cached[0] != mtime:
            cached = (mtime, Recommender.load(settings, engine))
            _cache[str(path)] = cached
        return cached[1]
