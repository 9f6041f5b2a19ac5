"""Catalog services: hard filters in SQL, item metadata, semantic plot search.

Filter semantics: every condition must hold (AND); several genres / actors / directors /
writers must ALL be present; several countries / age ratings / release months mean ANY of them.
Names match case- and accent-insensitively and exactly (no silent fuzzy correction): an unknown
name is an error that lists the closest known names, so the caller chooses instead of the
service guessing. An item with an unknown value (e.g. no IMDb rating) never satisfies a
comparison on that value.
"""

from __future__ import annotations

from collections.abc import Sequence

from recagents.errors import EmptyResultError, InvalidArgumentError, NotFoundError
from recagents.services.context import ServiceContext
from recagents.services.requests import (
    MAX_METADATA_ITEMS,
    OP_TEXT,
    REQUEST_TO_OP,
    FilterRequest,
    ItemMetadataRequest,
    SearchRequest,
)
from recagents.services.results import FilteredItems, ItemDetails, PlotHit
from recagents.stores.metadata.item_filters import ItemFilter, NumericCondition
from recagents.stores.metadata.models import Role
from recagents.stores.metadata.names import closest_names, fold
from recagents.vocabulary import DEFAULT_ITEM_FIELDS

ROLE_ARGS = (("actors", Role.actor), ("directors", Role.director), ("writers", Role.writer))
NUMERIC_ARGS = ("release_year", "imdb_rating", "duration_min", "imdb_num_reviews")
CONDITION_NAMES = (
    "genres, actors, directors, writers, countries, release_year, imdb_rating, duration_min, "
    "imdb_num_reviews, release_month, age_ratings"
)


def credited_as(ctx: ServiceContext, name: str) -> list[str]:
    """The filter arguments (``actors``, ``directors``, ``writers``) under which the catalogue
    credits ``name``."""
    return [arg for arg, role in ROLE_ARGS if fold(name) in ctx.store.people_index(role)]


def _resolve_names(ctx: ServiceContext, req: FilterRequest) -> tuple[list, list]:
    """(genre ids, people) from the names; collects every unknown name before failing."""
    store = ctx.store
    problems: list[str] = []
    genre_ids = []
    for name in req.genres or []:
        hit = store.genre_index.get(name.strip().lower())
        if hit is None:
            valid = sorted(n for _, n in store.genre_index.values())
            problems.append(f"unknown genre {name!r}: valid genres are {valid}")
        else:
            genre_ids.append(hit[0])
    people = []
    for arg, role in ROLE_ARGS:
        for name in getattr(req, arg) or []:
            credited = store.people_index(role).get(fold(name))
            if credited is not None:
                people.append((role, credited[1]))
                continue
            other = [r.value for r in Role if r != role and fold(name) in store.people_index(r)]
            hint = (
                f" ({name!r} is credited as {'/'.join(other)}: use that argument)" if other else ""
            )
            close = store.name_index(role).closest(name)
            problems.append(
                f"no {role.value} named {name!r}{hint}; closest {role.value} names: {close or 'none'}"
            )
    if problems:
        raise NotFoundError("; ".join(problems) + ". Fix the names (or drop them) and call again.")
    return genre_ids, people


def _resolve_values(requested: list[str] | None, known: list[str], what: str) -> tuple[str, ...]:
    if not requested:
        return ()
    by_lower = {k.lower(): k for k in known}
    out, problems = [], []
    for value in requested:
        hit = by_lower.get(value.strip().lower())
        if hit is None:
            close = closest_names(value, known)
            problems.append(f"unknown {what} {value!r}; closest: {close or 'none'}")
        else:
            out.append(hit)
    if problems:
        raise NotFoundError(
            "; ".join(problems) + f". Known {what} values ({len(known)}): {known[:60]}"
        )
    return tuple(out)


def build_filter(ctx: ServiceContext, req: FilterRequest) -> tuple[ItemFilter, list[str]]:
    """The resolved SQL filter and a readable description of each condition."""
    genre_ids, people = _resolve_names(ctx, req)
    countries = _resolve_values(req.countries, ctx.store.distinct_values("country"), "country")
    age_ratings = _resolve_values(
        req.age_ratings, ctx.store.distinct_values("age_rating"), "age rating"
    )
    months = tuple(req.release_month or ())
    numeric = []
    for arg in NUMERIC_ARGS:
        field = ctx.options.year_field if arg == "release_year" else arg
        for cond in getattr(req, arg) or []:
            numeric.append(NumericCondition(field, REQUEST_TO_OP[cond.request], cond.threshold))
    spec = ItemFilter(
        genre_ids=tuple(genre_ids),
        people=tuple(people),
        countries=countries,
        age_ratings=age_ratings,
        release_months=months,
        numeric=tuple(numeric),
    )
    text = [f"genre={ctx.store.genre_index[g.strip().lower()][1]}" for g in req.genres or []]
    for arg, _ in ROLE_ARGS:
        text += [f"{arg[:-1]}={n}" for n in getattr(req, arg) or []]
    if countries:
        text.append(f"country in {list(countries)}")
    if age_ratings:
        text.append(f"age_rating in {list(age_ratings)}")
    if months:
        text.append(f"release_month in {list(months)}")
    for arg in NUMERIC_ARGS:
        text += [
            f"{arg} {OP_TEXT[REQUEST_TO_OP[c.request]]} {c.threshold:g}"
            for c in getattr(req, arg) or []
        ]
    return spec, text


def _relaxations(ctx: ServiceContext, req: FilterRequest, candidates) -> dict[str, int]:
    """For an empty result: how many items each single relaxed condition would give."""
    out = {}
    given = [k for k, v in req.model_dump().items() if v not in (None, [])]
    for name in given:
        spec, _ = build_filter(ctx, req.model_copy(update={name: None}))
        if not spec.is_empty:
            out[f"without {name}"] = len(ctx.store.filter_item_ids(spec, candidates))
    return out


def filter_items(
    ctx: ServiceContext, req: FilterRequest, candidates: Sequence[int] | None = None
) -> FilteredItems:
    """Ids of the items satisfying every condition, ascending; ``EmptyResultError`` (with the
    single relaxations that would match) when none does."""
    spec, text = build_filter(ctx, req)
    if spec.is_empty:
        raise InvalidArgumentError(f"give at least one condition ({CONDITION_NAMES})")
    pool = ctx.candidate_pool(candidates)  # the checked candidates, else the universe if set
    ids = ctx.store.filter_item_ids(spec, pool)
    if not ids:
        relax = _relaxations(ctx, req, pool)
        hint = ", ".join(f"{k}: {n} items" for k, n in relax.items() if n) or "none"
        scope = "" if candidates is None or pool is None else f" within the {len(pool)} given items"
        raise EmptyResultError(
            f"No item satisfies all conditions ({'; '.join(text)}){scope}. Relax or drop a "
            f"condition and call again; single relaxations that would match: {hint}.",
            {"count": 0, "relaxations": relax},
        )
    return FilteredItems(item_ids=ids, conditions=text)


def item_metadata(
    ctx: ServiceContext, item_ids: Sequence[int], req: ItemMetadataRequest | None = None
) -> list[ItemDetails]:
    """The asked fields of the items, in the order given (None means unknown)."""
    ids = ctx.check_items(item_ids)
    if not ids:
        raise InvalidArgumentError("items is empty: give at least one item id in the catalog")
    if len(ids) > MAX_METADATA_ITEMS:
        raise InvalidArgumentError(
            f"{len(ids)} items asked: item metadata is returned for at most {MAX_METADATA_ITEMS} "
            "items per call. Narrow the set first (recommend, popular items or search with k)."
        )
    fields = list(dict.fromkeys((req.fields if req else None) or DEFAULT_ITEM_FIELDS))
    return ctx.store.item_details(ids, fields)


def search_plots(
    ctx: ServiceContext, req: SearchRequest, candidates: Sequence[int] | None = None
) -> list[PlotHit]:
    """Items that match the query best first, in ``req.mode`` (score: cosine similarity in
    ``dense``, BM25 in ``keyword``, reciprocal-rank fusion in ``hybrid``)."""
    if not req.query.strip():
        raise InvalidArgumentError("query is empty: describe the plot you are looking for")
    pool = ctx.candidate_pool(candidates)
    year_range = None
    if req.year_from is not None or req.year_to is not None:
        year_range = (req.year_from, req.year_to)
    hits = ctx.get_vectors().search(
        req.query,
        k=req.k,
        candidates=pool,
        genres=req.genres or None,
        year_range=year_range,
        mode=req.mode,
    )
    if not hits:
        where = "No item matched the search restrictions (candidates / genres / years)"
        if req.mode == "keyword":
            where = "No item holds any word of the query within the search restrictions"
        raise EmptyResultError(f"{where}: relax them.", {"count": 0})
    return [
        PlotHit(item_id=h.item_id, title=h.title, year=h.year, genres=h.genres, score=h.score)
        for h in hits
    ]
