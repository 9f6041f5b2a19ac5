"""filter_items against the real stores: every returned item satisfies the filter, and every
catalog item that satisfies it is returned (checked against a plain-Python filter of the catalog).
"""

from __future__ import annotations

import operator

import pytest

from recagents.tools.runtime import INLINE_LIMIT, PREVIEW_SIZE

OPS = {
    "lower": operator.lt,
    "higher": operator.gt,
    "at_most": operator.le,
    "at_least": operator.ge,
    "exact": operator.eq,
}
NUMERIC = {"release_year": "year", "imdb_rating": "imdb_rating", "duration_min": "duration_min",
           "imdb_num_reviews": "imdb_num_reviews"}  # fmt: skip
NAME_ARGS = ("genres", "actors", "directors", "writers", "countries", "age_ratings")


def _conds(value):
    if value is None:
        return []
    if isinstance(value, int | float):
        return [{"request": "exact", "threshold": value}]
    return value if isinstance(value, list) else [value]


def _names(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def matches(item: dict, args: dict) -> bool:
    """The documented semantics, written out in Python."""
    low = str.casefold
    args = {k: _names(v) if k in NAME_ARGS else v for k, v in args.items()}
    if not all(low(g) in map(low, item["genres"]) for g in args.get("genres", [])):
        return False
    for arg, key in (("actors", "actors"), ("directors", "directors"), ("writers", "writers")):
        if not all(low(n) in map(low, item[key]) for n in args.get(arg, [])):
            return False
    if args.get("countries") and low(item["country"] or "") not in map(low, args["countries"]):
        return False
    if args.get("age_ratings") and (item["age_rating"] or "") not in args["age_ratings"]:
        return False
    months = args.get("release_month")
    if months is not None and item["release_month"] not in (
        [months] if isinstance(months, int) else months
    ):
        return False
    for arg, key in NUMERIC.items():
        for cond in _conds(args.get(arg)):
            if item[key] is None or not OPS[cond["request"]](item[key], cond["threshold"]):
                return False
    return True


CASES = [
    {"actors": ["Tom Cruise"], "release_year": {"request": "lower", "threshold": 1996},
     "imdb_rating": {"request": "higher", "threshold": 6}},
    {"genres": ["horror"]},
    {"genres": ["Drama"], "directors": ["quentin tarantino"]},
    {"genres": ["Comedy", "Romance"], "release_year": [{"request": "at_least", "threshold": 1990},
                                                       {"request": "at_most", "threshold": 1995}]},
    {"release_month": 12},
    {"release_month": [4, 5], "genres": ["Action"]},
    {"countries": ["italy", "France"]},
    {"genres": ["Horror"], "release_year": {"request": "lower", "threshold": 1997},
     "imdb_rating": {"request": "higher", "threshold": 5}, "countries": "United States",
     "duration_min": {"request": "lower", "threshold": 120}},
    {"imdb_num_reviews": {"request": "at_least", "threshold": 500000}},
    {"age_ratings": ["PG-13", "G"], "imdb_rating": {"request": "at_least", "threshold": 7.5}},
    {"writers": ["Joel Coen"]},
    {"release_year": 1994, "genres": "Crime"},
]  # fmt: skip


@pytest.mark.parametrize("args", CASES, ids=[str(i) for i in range(len(CASES))])
def test_filter_returns_exactly_the_matching_items(call, catalog, tool_ctx, args, handle_ids):
    result = call("filter_items", **args)
    want = sorted(c["item_id"] for c in catalog if matches(c, args))
    assert want, f"test case {args} should match something"
    assert result["status"] == "success", result["message"]
    data = result["data"]
    got = handle_ids(data["handle"])
    assert got == want
    assert data["count"] == len(want)
    if len(want) <= INLINE_LIMIT:
        assert data["item_ids"] == want
    else:
        assert [p["item_id"] for p in data["preview"]] == want[:PREVIEW_SIZE]


def test_filter_within_a_candidate_set(call, catalog, tool_ctx, handle_ids):
    horror = call("filter_items", genres=["Horror"])["data"]["handle"]
    result = call(
        "filter_items", release_year={"request": "higher", "threshold": 1990}, items=horror
    )
    got = set(handle_ids(result["data"]["handle"]))
    want = {c["item_id"] for c in catalog if "Horror" in c["genres"] and (c["year"] or 0) > 1990}
    assert got == want
    explicit = call("filter_items", genres=["Horror"], items=[1, 17, 84, 101, 2])
    assert explicit["data"]["item_ids"] == [17, 84, 101]


def test_unknown_values_never_satisfy_a_comparison(call, catalog, tool_ctx, handle_ids):
    low = call("filter_items", imdb_rating={"request": "lower", "threshold": 100})
    got = set(handle_ids(low["data"]["handle"]))
    assert got == {c["item_id"] for c in catalog if c["imdb_rating"] is not None}


def test_peer_year_semantics_uses_the_imdb_year(call, catalog, tool_ctx, handle_ids):
    from dataclasses import replace

    args = {"release_year": {"request": "lower", "threshold": 1996}}
    ours = set(handle_ids(call("filter_items", **args)["data"]["handle"]))
    tool_ctx.options = replace(tool_ctx.options, year_field="imdb_year")
    peer = set(handle_ids(call("filter_items", thread="t2", **args)["data"]["handle"], "t2"))
    assert peer == {c["item_id"] for c in catalog if c["imdb_year"] and c["imdb_year"] < 1996}
    assert peer < ours  # the ML-year fallback adds the items IMDb has no year for
