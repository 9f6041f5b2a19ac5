"""Graph-enhanced text retrieval (RecoFM): build the view's embeddings, and rank by the blend of
a history (known user or ad-hoc) and a request text.

``build_graph_text`` propagates the plot vectors over the ratings that are history under the
context's view (``recommender.graph_text.propagate``) into ``graph_text_<view>``; it is skipped
when the fingerprint (view, layers, texts, visible ratings, filter payloads) is unchanged.

``graph_text_recommend``: user vector = rating-weighted mean of the graph-enhanced embeddings of
the liked history (rating >= ``liked_rating``); query = the text, embedded by the plot index's
model; search vector = ``(1 - alpha) * user + alpha * query`` (each normalised); hard filters are
payload filters; the history is never recommended. A history with no liked, known item falls
back to the text (``fallback``, ``reason``); with no text either, to popularity (flagged alike).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from recagents.errors import EmptyResultError
from recagents.recommender.graph_text import (
    GraphTextConfig,
    blend,
    check_alpha,
    liked_weights,
    propagate,
    weighted_mean,
)
from recagents.recommender.topk import check_k
from recagents.services.catalog import build_filter, filter_items
from recagents.services.context import ServiceContext
from recagents.services.popularity import popular_items
from recagents.services.requests import FilterRequest, PopularRequest
from recagents.services.results import Result, ScoredItem
from recagents.settings import MAX_K

FORMAT = 1
DEFAULT_EVENT_RATING = 4.0  # an ad-hoc event without a rating counts as liked (as in ARAG)
RankedBy = Literal["blend", "history", "text", "popularity"]


class BlendedItems(Result):
    items: list[ScoredItem]
    alpha: float
    ranked_by: RankedBy  # what the order came from
    fallback: bool = False  # True: the history (and text) could not be used as asked
    reason: str | None = None
    history_used: list[int] = []  # the liked items the user vector is the mean of
    dropped: list[int] = []  # ad-hoc history ids outside the catalogue
    model: str = "GraphText"

    @property
    def item_ids(self) -> list[int]:
        return [i.item_id for i in self.items]


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _array_digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def build_graph_text(
    ctx: ServiceContext, config: GraphTextConfig | None = None, *, force: bool = False
) -> tuple[bool, str]:
    """(built, detail): ``graph_text_<ctx.holdout>`` made current (skipped when up to date)."""
    config = config or ctx.graph_text_config
    store = ctx.get_graph_text()
    started = time.perf_counter()
    item_ids, text, plot = store.plot_vectors()
    users, items, _ = ctx.visible_ratings()
    filters = ctx.store.filter_payloads()
    stamp = {
        "format": FORMAT,
        "view": ctx.holdout,
        "layers": config.layers,
        "texts": _digest(sorted((i, p.get("text_sha256")) for i, p in plot.items())),
        "ratings": _array_digest(users, items),
        "payloads": _digest(sorted(filters.items())),
    }
    if not force and store.stamp() == stamp:
        return False, f"{store.collection} matches its inputs ({len(item_ids)} items)"
    vectors = propagate(text, item_ids, users, items, config.layers)
    payloads = {
        int(i): {
            **filters.get(int(i), {}),
            "title": plot[int(i)].get("title"),
            "year": plot[int(i)].get("year"),
            "genres": plot[int(i)].get("genres") or [],
        }
        for i in item_ids
    }
    store.write(item_ids, vectors, payloads, stamp)
    seconds = time.perf_counter() - started
    return True, (
        f"{store.collection}: {len(item_ids)} items, L={config.layers}, "
        f"{len(users)} visible ratings, {seconds:.1f}s"
    )


def ad_hoc_history(
    ctx: ServiceContext, events: Mapping[int, float | None] | Sequence[int]
) -> tuple[dict[int, float], list[int]]:
    """(item → rating of the catalogue's items, dropped ids); a missing rating counts as liked."""
    pairs = events.items() if isinstance(events, Mapping) else ((i, None) for i in events)
    history: dict[int, float] = {}
    dropped: list[int] = []
    for item, rating in pairs:
        if int(item) not in ctx.catalog_ids:
            dropped.append(int(item))
            continue
        history.setdefault(int(item), DEFAULT_EVENT_RATING if rating is None else float(rating))
    return history, dropped


def graph_text_recommend(
    ctx: ServiceContext,
    *,
    user_id: int | None = None,
    history: Mapping[int, float | None] | Sequence[int] | None = None,
    text: str | None = None,
    alpha: float | None = None,
    k: int = 10,
    conditions: FilterRequest | None = None,
    candidates: Sequence[int] | None = None,
) -> BlendedItems:
    """The ``k`` best unseen items for a known user (``user_id``: the visible history under the
    view) or an ad-hoc ``history`` (item ids, or item → rating), blended with ``text``."""
    config = ctx.graph_text_config
    alpha = config.alpha if alpha is None else check_alpha(alpha)
    k = check_k(k, MAX_K)
    dropped: list[int] = []
    if user_id is not None:
        uid = ctx.store.require_user(user_id)
        rated = {int(r["item_id"]): float(r["rating"]) for r in ctx.history(uid)}
    else:
        rated, dropped = ad_hoc_history(ctx, history or [])
    store = ctx.get_graph_text()
    liked = liked_weights(rated, config.liked_rating)
    vectors = store.vectors_of(liked)
    user = weighted_mean(vectors, liked)
    query = None
    if text and text.strip():
        query = ctx.get_vectors().embedder.embed_query(text.strip()[:1000])
    pool = ctx.candidate_pool(candidates)
    common = {"alpha": alpha, "dropped": dropped}
    used = [i for i in liked if i in vectors]
    reason = None
    if user is None and (rated or dropped):
        reason = (
            f"no liked item (rating >= {config.liked_rating:g}) of the history is in the "
            "catalogue's embeddings"
        )
    if user is None and query is None:
        why = reason or "no text and no history"
        allowed = pool
        if conditions is not None:
            allowed = filter_items(ctx, conditions, candidates).item_ids
        popular = popular_items(ctx, PopularRequest(k=min(MAX_K, k + len(rated))), allowed)
        items = [
            ScoredItem(item_id=p.item_id, title=p.title, score=float(p.ratings))
            for p in popular.items
            if p.item_id not in rated
        ][:k]
        return BlendedItems(
            items=items, ranked_by="popularity", fallback=True, reason=why + ": popularity",
            **common,
        )  # fmt: skip
    ranked_by: RankedBy = "blend" if user is not None and query is not None else "history"
    if user is None:
        ranked_by = "text"
        reason = reason and f"{reason}: ranked by the text alone"
    spec = build_filter(ctx, conditions)[0] if conditions is not None else None
    vector = blend(user, query, alpha)
    assert vector is not None  # user or query is set (the popularity branch took neither)
    found = store.search(vector, k, spec=spec, candidates=pool, exclude=rated)
    if not found and conditions is not None:
        filter_items(ctx, conditions, candidates)  # raises with its relaxations when empty
    if not found:
        raise EmptyResultError(
            "no unseen item is left to recommend within the candidates", {"count": 0}
        )
    items = [ScoredItem(item_id=s.item_id, title=ctx.titles.get(s.item_id), score=s.score)
             for s in found]  # fmt: skip
    return BlendedItems(
        items=items,
        ranked_by=ranked_by,
        fallback=reason is not None,
        reason=reason,
        history_used=used,
        **common,
    )
