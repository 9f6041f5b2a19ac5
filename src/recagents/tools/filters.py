"""filter_items: hard filters over the catalog in SQL (genres, people, country, ranges, …).

Semantics: every condition must hold (AND); several genres / actors / directors / writers must
ALL be present; several countries / age ratings / release months mean ANY of them. Names match
case-insensitively and exactly (no silent fuzzy correction): an unknown name is a failure that
lists the closest known names, so the LLM chooses instead of the tool guessing. An item with an
unknown value (e.g. no IMDb rating) never satisfies a comparison on that value.
"""

from __future__ import annotations

from pydantic import Field

from recagents.errors import InvalidArgumentError, NotFoundError
from recagents.stores.metadata import queries as q
from recagents.stores.metadata.models import Role
from recagents.tools.context import ToolContext
from recagents.tools.results import ToolResult, ToolSpec
from recagents.tools.schemas import (
    OP_TEXT,
    REQUEST_TO_OP,
    ItemsArg,
    NameList,
    NumericArg,
    StrictArgs,
)

ROLE_ARGS = (("actors", Role.actor), ("directors", Role.director), ("writers", Role.writer))
NUMERIC_ARGS = ("release_year", "imdb_rating", "duration_min", "imdb_num_reviews")


class FilterItemsArgs(StrictArgs):
    genres: NameList = Field(None, description="Genres the movie must ALL have, e.g. ['Horror'].")
    actors: NameList = Field(None, description="Actors who must ALL appear (full names).")
    directors: NameList = Field(None, description="Directors (full names); all must match.")
    writers: NameList = Field(None, description="Writers (full names); all must match.")
    countries: NameList = Field(None, description="Production country; any of these.")
    release_year: NumericArg = None
    imdb_rating: NumericArg = None
    duration_min: NumericArg = None
    imdb_num_reviews: NumericArg = None
    release_month: list[int] | int | None = Field(
        None, description="Release month number(s) 1-12; any of these."
    )
    age_ratings: NameList = Field(None, description="Age certificates, e.g. ['PG-13', 'R']; any.")
    items: ItemsArg = None


def _resolve_names(ctx: ToolContext, args: FilterItemsArgs) -> tuple[list, list[str]]:
    """(genre ids, people) from the names; collects every unknown name before failing."""
    problems: list[str] = []
    genre_ids = []
    for name in args.genres or []:
        hit = ctx.genres.get(name.strip().lower())
        if hit is None:
            valid = sorted(n for _, n in ctx.genres.values())
            problems.append(f"unknown genre {name!r}: valid genres are {valid}")
        else:
            genre_ids.append(hit[0])
    people = []
    for arg, role in ROLE_ARGS:
        for name in getattr(args, arg) or []:
            hit = ctx.people(role).get(q.fold(name))
            if hit is not None:
                people.append((role, hit[1]))
                continue
            other = [r.value for r in Role if r != role and q.fold(name) in ctx.people(r)]
            hint = (
                f" ({name!r} is credited as {'/'.join(other)}: use that argument)" if other else ""
            )
            close = q.closest_names(name, ctx.people_names(role))
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
            close = q.closest_names(value, known)
            problems.append(f"unknown {what} {value!r}; closest: {close or 'none'}")
        else:
            out.append(hit)
    if problems:
        raise NotFoundError(
            "; ".join(problems) + f". Known {what} values ({len(known)}): {known[:60]}"
        )
    return tuple(out)


def build_filter(ctx: ToolContext, args: FilterItemsArgs) -> tuple[q.ItemFilter, list[str]]:
    """The resolved SQL filter and a readable description of each condition."""
    genre_ids, people = _resolve_names(ctx, args)
    countries = _resolve_values(args.countries, ctx.countries, "country")
    age_ratings = _resolve_values(args.age_ratings, ctx.age_ratings, "age rating")
    months = args.release_month
    months = tuple([months] if isinstance(months, int) else months or [])
    if any(not 1 <= m <= 12 for m in months):
        raise InvalidArgumentError(f"release_month must be 1-12, got {list(months)}")
    numeric = []
    for arg in NUMERIC_ARGS:
        field = ctx.options.year_field if arg == "release_year" else arg
        for cond in getattr(args, arg) or []:
            numeric.append(q.NumericCondition(field, REQUEST_TO_OP[cond.request], cond.threshold))
    spec = q.ItemFilter(
        genre_ids=tuple(genre_ids),
        people=tuple(people),
        countries=countries,
        age_ratings=age_ratings,
        release_months=months,
        numeric=tuple(numeric),
    )
    text = [f"genre={ctx.genres[g.strip().lower()][1]}" for g in args.genres or []]
    for arg, _ in ROLE_ARGS:
        text += [f"{arg[:-1]}={n}" for n in getattr(args, arg) or []]
    if countries:
        text.append(f"country in {list(countries)}")
    if age_ratings:
        text.append(f"age_rating in {list(age_ratings)}")
    if months:
        text.append(f"release_month in {list(months)}")
    for arg in NUMERIC_ARGS:
        text += [
            f"{arg} {OP_TEXT[REQUEST_TO_OP[c.request]]} {c.threshold:g}"
            for c in getattr(args, arg) or []
        ]
    return spec, text


def _relaxations(ctx: ToolContext, args: FilterItemsArgs, candidates) -> dict[str, int]:
    """For an empty result: how many items each single relaxed condition would give."""
    out = {}
    given = [k for k, v in args.model_dump(exclude={"items"}).items() if v not in (None, [])]
    for name in given:
        relaxed = args.model_copy(update={name: None})
        spec, _ = build_filter(ctx, relaxed)
        if spec.is_empty:
            continue
        with ctx.store.session() as s:
            out[f"without {name}"] = len(q.filter_item_ids(s, spec, candidates))
    return out


def filter_items(ctx: ToolContext, thread_id: str, args: FilterItemsArgs) -> dict:
    spec, text = build_filter(ctx, args)
    if spec.is_empty:
        raise InvalidArgumentError(
            "give at least one condition (genres, actors, directors, writers, countries, "
            "release_year, imdb_rating, duration_min, imdb_num_reviews, release_month, age_ratings)"
        )
    candidates = ctx.resolve_items(thread_id, args.items)
    if candidates is None and ctx.options.universe is not None:
        candidates = ctx.options.universe
    with ctx.store.session() as s:
        ids = q.filter_item_ids(s, spec, candidates)
    scope = "" if args.items is None else f" within the {len(candidates)} given items"
    if not ids:
        relax = _relaxations(ctx, args, candidates)
        hint = ", ".join(f"{k}: {n} items" for k, n in relax.items() if n) or "none"
        return ToolResult.failure(
            f"No item satisfies all conditions ({'; '.join(text)}){scope}. Relax or drop a "
            f"condition and call again; single relaxations that would match: {hint}.",
            {"count": 0, "relaxations": relax},
        )
    data = ctx.id_set(thread_id, ids, "filter_items: " + "; ".join(text))
    return ToolResult.success(
        f"{len(ids)} items satisfy {'; '.join(text)}{scope}. Pass handle {data['handle']} as "
        "`items` to the next tool (no need to copy ids).",
        data,
    )


SPEC = ToolSpec(
    name="filter_items",
    description=(
        "Find the movies that satisfy hard conditions: genres, actors, directors, writers, "
        "production countries, release year / IMDb rating / duration in minutes / number of "
        'IMDb reviews (each a condition like {"request": "higher", "threshold": 7} or a list '
        "of them for a range), release month (1-12) and age rating. All conditions must hold. "
        "Returns a candidate handle (e.g. 'C1'), the count and a preview; pass the handle as "
        "`items` to recommend_items, popular_items, search_plots, item_metadata or "
        "like_percentage. Use `items` here too to filter an existing candidate set further."
    ),
    args_schema=FilterItemsArgs,
    fn=filter_items,
)
