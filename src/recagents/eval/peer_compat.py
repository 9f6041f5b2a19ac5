"""The peer project's (recsys-agent) tool calls in our terms, and our results in its format.

``translate_call`` maps a peer tool name + arguments to one of our tools; ``to_peer_data`` renders
our result's ``data`` the way the peer printed it; ``compare`` decides equality per tool:

============================  =================  =============================================
peer tool                     ours               comparison
============================  =================  =============================================
item_filter_tool              filter_items       set of ids (peer: ascending ids = a set)
get_item_metadata_tool        item_metadata      per item_id (peer: id order, ours: asked order)
get_user_metadata_tool        user_metadata      exact dict
get_interacted_items_tool     recent_interactions exact sequence (peer: oldest→newest of last 20)
get_popular_items_tool        popular_items      exact sequence (a ranking)
get_like_percentage_tool      like_percentage    exact string "43.90%"
============================  =================  =============================================

Where our semantics differ on purpose, the replay runs ``peer_service_options`` (the services'
generic ``ServiceOptions`` set to the peer's values):
- popularity: the peer keeps only items above the 75th percentile of the pool's counts, so
  "3 most popular of these 5 Tom Cruise films" returns 1; ours returns the top k by default.
- release year: the peer compares the IMDb year only (items without one never match); ours
  falls back to MovieLens' year.
- catalog: the peer's loader split the enrichment file on physical lines and silently skipped
  the 51 records whose quoted text spans lines (Star Wars, Silence of the Lambs, …), and had no
  row for the 91 unenriched items: its tools saw 1,540 items. The replay restricts our tools to
  that universe (derived from our store: enriched items without a line break in their text).

Shared with the peer on purpose: the user-group boundaries (kid ≤ 12, teenager 13–19,
young_adult 20–30, adult 31–60, senior ≥ 61; ``stores.metadata.user_groups``).

``PEER_NAME_MAP`` names our tool for each of the peer's (arguments differ: ``translate_call``).

Not replicated (bugs, absent from the benchmark): the peer's ``"exact"`` comparison runs ``<``;
a threshold of 0 drops the condition; names are fuzzy-corrected (WRatio ≥ 70) and matched as
substrings of a comma-joined column, and several countries are ANDed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recagents.services.context import ServiceOptions

# The peer's tool names → ours.
PEER_NAME_MAP = {
    "get_top_k_recommendations_tool": "recommend_items",
    "item_filter_tool": "filter_items",
    "vector_store_search_tool": "search_plots",
    "get_like_percentage_tool": "like_percentage",
    "get_popular_items_tool": "popular_items",
    "get_user_metadata_tool": "user_metadata",
    "get_item_metadata_tool": "item_metadata",
    "get_interacted_items_tool": "recent_interactions",
}

PEER_DATA_ONLY = (
    "item_filter_tool",
    "get_item_metadata_tool",
    "get_user_metadata_tool",
    "get_interacted_items_tool",
    "get_popular_items_tool",
    "get_like_percentage_tool",
)
PEER_INTERACTIONS = 20
TIE_EQUIVALENT = "tie-equivalent"

# peer item column → our item_metadata field
ITEM_FIELD_MAP = {
    "title": "title",
    "genres": "genres",
    "director": "directors",
    "producer": "writers",  # the peer's "producer" column holds the IMDb writers
    "actors": "actors",
    "release_date": "imdb_year",
    "release_month": "release_month",
    "country": "country",
    "duration": "duration_min",
    "age_rating": "age_rating",
    "imdb_rating": "imdb_rating",
    "imdb_num_reviews": "imdb_num_reviews",
    "description": "description",
    "storyline": "storyline",
}
USER_FIELD_MAP = {
    "age_category": "age_group",
    "gender": "gender",
    "age": "age",
    "occupation": "occupation",
    "zip_code": "zip_code",
}
FILTER_ARG_MAP = {
    "genres": "genres",
    "actors": "actors",
    "director": "directors",
    "producer": "writers",
    "country": "countries",
    "release_date": "release_year",
    "imdb_rating": "imdb_rating",
    "duration": "duration_min",
    "release_month": "release_month",
}


def peer_service_options(universe: Iterable[int] | None = None) -> ServiceOptions:
    """The services' options set to the peer's semantics: popularity keeps only items above the
    75th percentile of the pool's counts, the release-year filter reads the IMDb year only, and
    the catalogue is ``universe`` (None: every item)."""
    return ServiceOptions(
        popularity_quantile=0.75,
        year_field="imdb_year",
        universe=None if universe is None else frozenset(universe),
    )


class UntranslatableCall(ValueError):
    """A peer call our tools cannot express (reported as a mismatch with this reason)."""


def translate_call(peer_name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(our tool name, our arguments) for a data-only peer call."""
    if peer_name == "item_filter_tool":
        out = {}
        for key, value in args.items():
            if key not in FILTER_ARG_MAP:
                raise UntranslatableCall(f"item_filter_tool argument {key!r} has no counterpart")
            if value in (None, [], "") or (key == "country" and value == "unk"):
                continue  # the peer ignores empty values and its "unk" country placeholder
            out[FILTER_ARG_MAP[key]] = value
        return "filter_items", out
    if peer_name == "get_item_metadata_tool":
        unknown = [g for g in args.get("get", []) if g not in ITEM_FIELD_MAP]
        if unknown:
            raise UntranslatableCall(f"item fields {unknown} have no counterpart")
        fields = list(dict.fromkeys(ITEM_FIELD_MAP[g] for g in args.get("get", [])))
        return "item_metadata", {"items": args["items"], "fields": fields}
    if peer_name == "get_user_metadata_tool":
        unknown = [g for g in args.get("get", []) if g not in USER_FIELD_MAP]
        if unknown:
            raise UntranslatableCall(f"user fields {unknown} have no counterpart")
        fields = [USER_FIELD_MAP[g] for g in args.get("get", [])]
        return "user_metadata", {"user_id": int(args["user"]), "fields": fields}
    if peer_name == "get_interacted_items_tool":
        return "recent_interactions", {"user_id": int(args["user"]), "n": PEER_INTERACTIONS}
    if peer_name == "get_popular_items_tool":
        out: dict[str, Any] = {"k": int(args.get("k", 20))}
        if args.get("popularity") == "by_user_group":
            if not args.get("user_group"):
                raise UntranslatableCall("by_user_group popularity without a user_group")
            out["user_group"] = args["user_group"]
        if args.get("items"):
            out["items"] = args["items"]
        return "popular_items", out
    if peer_name == "get_like_percentage_tool":
        return "like_percentage", {"items": args.get("items")}
    raise UntranslatableCall(f"{peer_name} is not a data-only tool")


def join_names(values: list[str] | None) -> str:
    """The peer's list rendering: "A", "A and B", "A, B, and C"; empty → "unknown"."""
    if not values:
        return "unknown"
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} and {values[1]}"
    return ", ".join(values[:-1]) + ", and " + values[-1]


def _peer_value(value: Any) -> Any:
    if isinstance(value, list):
        return join_names(value)
    return "unknown" if value is None else value


def to_peer_data(peer_name: str, result: dict, ids_of: Any, peer_args: dict) -> Any:
    """Our result's ``data`` in the peer's format (``ids_of(handle)`` resolves a candidate-set handle)."""
    data = result.get("data")
    if result.get("status") != "success":
        return None
    if peer_name == "item_filter_tool":
        return [str(i) for i in ids_of(data["handle"])]
    if peer_name == "get_item_metadata_tool":
        fields = {ITEM_FIELD_MAP[g]: g for g in peer_args.get("get", [])}
        rows = [
            {
                "item_id": row["item_id"],
                **{peer: _peer_value(row[ours]) for ours, peer in fields.items()},
            }
            for row in data
        ]
        return sorted(rows, key=lambda r: r["item_id"])
    if peer_name == "get_user_metadata_tool":
        out = {}
        for g in peer_args.get("get", []):
            value = data[USER_FIELD_MAP[g]]
            out[g] = value.capitalize() if g == "gender" else value
        return out
    if peer_name == "get_interacted_items_tool":
        return [str(row["item_id"]) for row in reversed(data["items"])]
    if peer_name == "get_popular_items_tool":
        return [str(row["item_id"]) for row in data["items"]]
    if peer_name == "get_like_percentage_tool":
        return f"{100.0 * data['users'] / data['total_users']:.2f}%"
    raise UntranslatableCall(peer_name)


def _list_diff(expected: list, got: list) -> str:
    missing = [x for x in expected if x not in set(got)]
    extra = [x for x in got if x not in set(expected)]
    parts = [f"expected {len(expected)}, got {len(got)}"]
    if missing:
        parts.append(f"only in peer: {missing[:15]}")
    if extra:
        parts.append(f"only in ours: {extra[:15]}")
    if not missing and not extra:
        parts.append("same items, different order")
    return "; ".join(parts)


def raw_csv_quirk(peer_value: Any, ours: Any) -> bool:
    """True when the peer's text is our text as a raw CSV field: wrapped in quotes with inner
    quotes doubled (its loader never unquoted), possibly cut at the first line break."""
    if not (isinstance(peer_value, str) and isinstance(ours, str) and peer_value.startswith('"')):
        return False
    quoted = '"' + ours.replace('"', '""') + '"'
    return quoted == peer_value or quoted.startswith(peer_value.rstrip())


def same_up_to_ties(expected: list[str], got: list[str], timestamps: dict[int, int]) -> bool:
    """Both are "the most recent n" of one user: the same timestamp sequence, so they differ
    only in how ratings with equal timestamps were ordered (and cut)."""
    try:
        return [timestamps[int(i)] for i in expected] == [timestamps[int(i)] for i in got]
    except KeyError:
        return False


def compare(
    peer_name: str,
    expected: dict,
    got_status: str,
    got_data: Any,
    timestamps: dict[int, int] | None = None,
) -> str | None:
    """None when equal, else a one-line description of the difference.

    Interactions equal only up to the order of equal timestamps give "tie-equivalent: …" (the
    caller counts them as matches and reports how many); ``timestamps`` maps the user's items
    to their rating time.
    """
    exp_status, exp_data = expected.get("status"), expected.get("data")
    if exp_status != got_status:
        return f"status: peer {exp_status!r}, ours {got_status!r}"
    if exp_status != "success":
        return None
    if peer_name == "item_filter_tool":
        return None if set(exp_data) == set(got_data) else _list_diff(exp_data, got_data)
    if peer_name == "get_interacted_items_tool":
        if list(exp_data) == list(got_data):
            return None
        diff = _list_diff(exp_data, got_data)
        if timestamps is not None and same_up_to_ties(exp_data, got_data, timestamps):
            return f"{TIE_EQUIVALENT}: {diff}"
        return diff
    if peer_name == "get_popular_items_tool":
        return None if list(exp_data) == list(got_data) else _list_diff(exp_data, got_data)
    if peer_name == "get_item_metadata_tool":
        exp = {int(r["item_id"]): r for r in exp_data}
        ours = {int(r["item_id"]): r for r in got_data}
        if set(exp) != set(ours):
            return "items: " + _list_diff(sorted(exp), sorted(ours))
        diffs = []
        for i in sorted(exp):
            for key, value in exp[i].items():
                if key == "item_id" or value == ours[i].get(key):
                    continue
                tag = (
                    " [peer loader quirk: raw CSV quoting]"
                    if raw_csv_quirk(value, ours[i].get(key))
                    else ""
                )
                diffs.append(
                    f"item {i} {key}{tag}: peer {value!r:.70} ours {ours[i].get(key)!r:.70}"
                )
        if not diffs:
            return None
        return "; ".join(diffs[:3]) + (f" (+{len(diffs) - 3} more)" if len(diffs) > 3 else "")
    return None if exp_data == got_data else f"peer {exp_data!r}, ours {got_data!r}"
