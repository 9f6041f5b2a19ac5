"""Candidate retrieval, no LLM: what the agents may choose from.

- Known user: BPR top-N within the hard filters, united with plot search on the request text
  within the same filters; items that are history under the holdout view never enter.
- Cold start (free text and/or an ad-hoc history): the history is folded in without
  retraining (rating-weighted mean of its items' BPR embeddings), united with Swing item
  neighbours of the history and with plot search on the text.
- Neither text nor history: popularity, flagged.
- Graph-enhanced text retrieval (``services.graph_text``, RecoFM): with ``alpha`` in the request
  (or ``graph_text.yaml``'s ``arag_alpha`` for a cold start with text and history), the blend of
  the history and the text contributes ``arag_share`` of the pool; an explicit ``alpha`` also
  puts its items first in the base order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recagents.agents.config import AgentsConfig
from recagents.agents.state import Candidate, HistoryEvent, RecRequest
from recagents.errors import EmptyResultError, InvalidArgumentError, RecagentsError
from recagents.services.catalog import filter_items, search_plots
from recagents.services.context import ServiceContext
from recagents.services.graph_text import graph_text_recommend
from recagents.services.popularity import popular_items
from recagents.services.recommend import recommend
from recagents.services.requests import (
    MAX_K,
    FavouritesRequest,
    PopularRequest,
    RecommendRequest,
    SearchRequest,
    UserMetadataRequest,
)
from recagents.services.social import similar_users_favourites
from recagents.services.users import user_profile

DEFAULT_EVENT_RATING = 4.0  # an event without a value counts as "liked"


@dataclass
class Retrieval:
    candidates: list[Candidate]
    history: list[dict]  # newest first: item_id, title, year, genres, rating
    user: dict | None = None  # demographics of a known user
    neighbour_favourites: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def _known_history(ctx: ServiceContext, user_id: int, n: int) -> list[dict]:
    rows = ctx.history(user_id, limit=n)
    ids = [r["item_id"] for r in rows]
    details = {d["item_id"]: d for d in ctx.store.item_details(ids, ("year", "genres"))}
    return [
        {
            "item_id": r["item_id"],
            "title": r["title"],
            "year": details[r["item_id"]]["year"],
            "genres": details[r["item_id"]]["genres"],
            "rating": r["rating"],
        }
        for r in rows
    ]


def resolve_history(
    ctx: ServiceContext, events: list[HistoryEvent]
) -> tuple[dict[int, float], list]:
    """Ad-hoc events → (item id → rating weight, dropped ids). All unknown is an error."""
    weights: dict[int, float] = {}
    dropped: list = []
    ordered = sorted(events, key=lambda e: e.event_datetime or "", reverse=True)
    for event in ordered:
        raw = str(event.item_id).strip()
        # ASCII digits only: str.isdigit takes "²" and "٥٠", and int() would read the latter
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or (
            int(raw) not in ctx.catalog_ids
        ):
            dropped.append(event.item_id)
            continue
        value = DEFAULT_EVENT_RATING if event.event_value is None else float(event.event_value)
        weights.setdefault(int(raw), min(max(value, 0.0), 5.0))
    if events and not weights:
        raise InvalidArgumentError(
            f"none of the {len(events)} history items is in the catalogue (ids {dropped[:10]}): "
            "use MovieLens-100k item ids 1-1682"
        )
    return weights, dropped


def _details(ctx: ServiceContext, ids: list[int]) -> dict[int, dict]:
    fields = ("title", "year", "genres", "description", "storyline")
    return {d["item_id"]: d for d in ctx.store.item_details(ids, fields)}


def _plot(detail: dict, words: int) -> str:
    text = detail.get("description") or detail.get("storyline") or ""
    parts = " ".join(str(text).split()).split(" ")
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _unite(sources: list[tuple[str, list[int], int]], n: int) -> dict[int, list[str]]:
    """Ordered union: each source contributes up to its quota, then the sources fill in turn."""
    pool: dict[int, list[str]] = {}
    for name, ids, quota in sources:
        taken = 0
        for i in ids:
            if taken >= quota or len(pool) >= n:
                break
            if i not in pool:
                pool[i] = [name]
                taken += 1
            elif name not in pool[i]:
                pool[i].append(name)
    for name, ids, _ in sources:
        for i in ids:
            if len(pool) >= n:
                break
            pool.setdefault(i, [name])
            if name not in pool[i]:
                pool[i].append(name)
    return pool


def _search(ctx: ServiceContext, text: str, k: int, allowed, drop: set[int]) -> list[int]:
    if not text:
        return []
    try:
        hits = search_plots(ctx, SearchRequest(query=text[:1000], k=min(k, MAX_K)), allowed)
    except EmptyResultError:
        return []
    return [h.item_id for h in hits if h.item_id not in drop]


def _graph_text(
    ctx: ServiceContext, req: RecRequest, info: dict, allowed, n: int, **who
) -> tuple[list[int], int]:
    """(the blend's items, their quota of the pool); nothing when the blend is off."""
    config = ctx.graph_text_config
    alpha = req.alpha
    if alpha is None and "history" in who and who["history"] and req.request_text:
        alpha = config.arag_alpha
    if alpha is None:
        return [], 0
    try:
        found = graph_text_recommend(
            ctx, text=req.request_text, alpha=alpha, k=min(n, MAX_K), candidates=allowed, **who
        )
    except RecagentsError as exc:
        if req.alpha is not None and not isinstance(exc, EmptyResultError):
            raise
        info["graph_text"] = {"alpha": alpha, "error": str(exc)}
        return [], 0
    info["graph_text"] = found.model_dump(include={"alpha", "ranked_by", "fallback", "reason"})
    return found.item_ids, round(n * config.arag_share)


def _blend_first(order: list[int], blended: list[int], req: RecRequest) -> list[int]:
    """An explicit ``alpha``: the blend's items lead the base order (in the blend's order)."""
    if req.alpha is None or not blended:
        return order
    first = [i for i in blended if i in set(order)]
    return first + [i for i in order if i not in set(first)]


def retrieve(ctx: ServiceContext, req: RecRequest, cfg: AgentsConfig) -> Retrieval:
    """The candidate pool, best first by the retrieval's own order (``base_rank``)."""
    rc = cfg.retrieval
    n = rc.pool_size
    allowed = filter_items(ctx, req.filters).item_ids if req.filters else None
    if req.candidate_ids is not None:
        given = ctx.check_items(req.candidate_ids, what="candidate_ids")
        allowed = given if allowed is None else [i for i in given if i in set(allowed)]
    allowed_set = None if allowed is None else set(allowed)
    text = req.request_text
    info: dict = {"cold_start": False, "popularity": False, "filtered": allowed is not None}
    user = None
    favourites: list[dict] = []
    known = req.user_id is not None and req.user_id in ctx.store.user_ids
    if req.user_id is not None and not known:
        if not (text or req.history):
            ctx.store.require_user(req.user_id)  # raises UnknownUserError with the valid range
        info["unknown_user"] = req.user_id

    if known and req.user_id is not None:
        uid = int(req.user_id)
        rec = recommend(ctx, RecommendRequest(user_id=uid, k=min(n, MAX_K)), allowed)
        seen = ctx.get_recommender().seen_items(uid, ctx.view)
        found = _search(ctx, text, n, allowed, seen)
        blended, n_blend = _graph_text(ctx, req, info, allowed, n, user_id=uid)
        pool = _unite(
            [
                ("graph_text", blended, n_blend),
                ("bpr", rec.item_ids, round(n * rc.bpr_share)),
                ("search", found, n),
            ],
            n,
        )
        scores = ctx.get_recommender().scores(uid, list(pool))
        order = _blend_first(sorted(pool, key=lambda i: (-scores[i], i)), blended, req)
        history = _known_history(ctx, uid, cfg.user_understanding.recent_items)
        user = user_profile(ctx, UserMetadataRequest(user_id=uid)).model_dump()
        if cfg.user_understanding.neighbour_items:
            try:
                favs = similar_users_favourites(
                    ctx, FavouritesRequest(user_id=uid, k=cfg.user_understanding.neighbour_items)
                )
                favourites = [{"item_id": f.item_id, "title": f.title} for f in favs.items]
            except RecagentsError:
                favourites = []
    elif req.history or text:
        info["cold_start"] = True
        weights, dropped = resolve_history(ctx, req.history)
        info["dropped_history"] = dropped
        exclude = set(weights)
        found = _search(ctx, text, n, allowed, exclude)
        folded: list[int] = []
        near: list[int] = []
        if weights:
            scores = ctx.get_recommender().fold_in_scores(weights)
            if allowed_set is not None:
                scores = {i: s for i, s in scores.items() if i in allowed_set}
            folded = sorted(scores, key=lambda i: (-scores[i], i))
            near = [
                i
                for i, _ in ctx.get_swing().similar_items(weights, n, exclude=exclude)
                if allowed_set is None or i in allowed_set
            ]
        blended, n_blend = _graph_text(ctx, req, info, allowed, n, history=weights)
        n_swing = round(n * rc.swing_share) if near else 0
        n_search = (n // 3 if weights else n) if found else 0
        pool = _unite(
            [
                ("graph_text", blended, n_blend),
                ("foldin", folded, n - n_swing - n_search),
                ("swing", near, n_swing),
                ("search", found, n_search),
            ],
            n,
        )
        if weights:
            order = sorted(pool, key=lambda i: (-scores.get(i, float("-inf")), i))
        else:
            order = list(pool)
        order = _blend_first(order, blended, req)
        if len(order) < n:  # e.g. text that matches few plots: popularity fills, flagged
            popular = popular_items(ctx, PopularRequest(k=min(n, MAX_K)), allowed)
            for p in popular.items:
                if len(order) >= n:
                    break
                if p.item_id not in pool and p.item_id not in exclude:
                    pool[p.item_id] = ["popularity"]
                    order.append(p.item_id)
        shown = ctx.store.item_details(list(weights), ("title", "year", "genres"))
        details = {d["item_id"]: d for d in shown}
        history = [
            {
                "item_id": i,
                "title": details[i]["title"],
                "year": details[i]["year"],
                "genres": details[i]["genres"],
                "rating": weights[i],
            }
            for i in weights
        ]
    else:
        info["popularity"] = True
        popular = popular_items(ctx, PopularRequest(k=min(n, MAX_K)), allowed)
        order = [p.item_id for p in popular.items]
        pool = {i: ["popularity"] for i in order}
        history = []

    if not order:
        raise EmptyResultError(
            "retrieval found no candidate (every allowed item is already in the history): "
            "relax the filters",
            {"count": 0},
        )
    details = _details(ctx, order)
    candidates: list[Candidate] = [
        {
            "item_id": i,
            "title": details[i]["title"],
            "year": details[i]["year"],
            "genres": details[i]["genres"],
            "plot": _plot(details[i], cfg.nli.plot_words),
            "sources": pool[i],
            "base_rank": rank,
        }
        for rank, i in enumerate(order, start=1)
    ]
    info["sources"] = {
        s: sum(s in c["sources"] for c in candidates)
        for s in ("bpr", "search", "foldin", "swing", "graph_text", "popularity")
        if any(s in c["sources"] for c in candidates)
    }
    return Retrieval(candidates, history, user, favourites, info)
