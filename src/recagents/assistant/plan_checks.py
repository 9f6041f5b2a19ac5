"""Deterministic checks of a plan before it runs: what the model added that nobody asked for.

- ``drop_ungrounded_filters``: a filter_items genre or person that the conversation never
  mentions is removed (small models copy conditions from the examples); a filter left without
  conditions is removed, and references to it now mean the whole catalogue.
- ``complete_recommendation``: a message that asks to recommend to a named user gets its
  recommend_items step (ranking the last candidate set for that user) if the plan forgot it.
"""

from __future__ import annotations

import re
from typing import Any

from recagents.assistant.executor import REF

GENRE_WORDS = {
    "action": ("action",),
    "adventure": ("adventur",),
    "animation": ("animat", "cartoon", "anime"),
    "children's": ("child", "kid", "family", "families"),
    "comedy": ("comed", "comic", "funny", "humor", "humour", "laugh"),
    "crime": ("crime", "criminal", "gangster", "mob", "heist"),
    "documentary": ("documentar",),
    "drama": ("drama",),
    "fantasy": ("fantas",),
    "film-noir": ("noir",),
    "horror": ("horror", "scary", "scare", "frighten"),
    "musical": ("musical",),
    "mystery": ("myster", "whodunit", "detective"),
    "romance": ("roman", "love", "valentine", "date"),
    "sci-fi": ("sci", "science fiction", "space"),
    "thriller": ("thrill", "suspense"),
    "war": ("war",),
    "western": ("western", "cowboy"),
}
PEOPLE = ("actors", "directors", "writers")
# a condition on one of these fields needs one of its words (or a year, for release_year)
FIELD_WORDS = {
    "release_year": ("release", "year", "before", "after", "prior", "since", "until", "older",
                     "newer", "recent", "old ", "decade", "century", "classic", "between"),
    "imdb_rating": ("rating", "rated", "imdb", "score", "star", "acclaimed", "best"),
    "duration_min": ("minute", "hour", "long", "short", "duration", "length", "runtime", "run"),
    "imdb_num_reviews": ("review", "vote", "known", "obscure", "hidden", "famous", "gem"),
    "release_month": ("month", "january", "february", "march", "april", "may", "june", "july",
                      "august", "september", "october", "november", "december", "christmas",
                      "easter", "halloween", "valentine", "summer", "winter", "spring",
                      "autumn", "fall", "holiday", "thanksgiving", "new year"),
    "age_ratings": ("rated", "rating", "pg", "certif", "family", "kid", "child", "adult",
                    "mature", "nc-17", "g-rated", "r-rated"),
}  # fmt: skip
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d|\d0s|\d0's)\b")


def _field_grounded(field: str, text: str) -> bool:
    words = FIELD_WORDS.get(field)
    if words is None:
        return True
    return any(w in text for w in words) or (field == "release_year" and bool(_YEAR.search(text)))


_RECOMMEND = re.compile(r"\b(recommend|suggest|pick|propose)\w*", re.IGNORECASE)


def _genre_grounded(genre: str, text: str) -> bool:
    words = GENRE_WORDS.get(genre.strip().lower())
    return True if words is None else any(w in text for w in words)


def _person_grounded(name: str, text: str) -> bool:
    parts = [p for p in re.split(r"[\s.]+", name.lower()) if len(p) >= 3]
    return not parts or parts[-1] in text


def _renumber(value: Any, mapping: dict[int, int | None]) -> Any:
    if isinstance(value, str):
        match = REF.match(value.strip())
        if not match:
            return value
        new = mapping.get(int(match[1]), int(match[1]))
        if new is None:
            return None
        return f"${new}" + (f".{match[2]}" if match[2] else "")
    if isinstance(value, list):
        out = [_renumber(v, mapping) for v in value]
        return [v for v in out if v is not None]
    if isinstance(value, dict):
        out = {k: _renumber(v, mapping) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    return value


CANONICAL_GENRES = {
    "action": "Action", "adventure": "Adventure", "animation": "Animation",
    "children's": "Children's", "comedy": "Comedy", "crime": "Crime",
    "documentary": "Documentary", "drama": "Drama", "fantasy": "Fantasy",
    "film-noir": "Film-Noir", "horror": "Horror", "musical": "Musical", "mystery": "Mystery",
    "romance": "Romance", "sci-fi": "Sci-Fi", "thriller": "Thriller", "war": "War",
    "western": "Western",
}  # fmt: skip
_HANDLE = re.compile(r"^C(\d+)$")


def canonical_genre(value: str) -> str:
    """A genre as the catalogue spells it ("kids" → "Children's", "comedies" → "Comedy");
    anything else unchanged (the tool then names the valid genres)."""
    low = value.strip().lower()
    if low in CANONICAL_GENRES:
        return CANONICAL_GENRES[low]
    for genre, words in GENRE_WORDS.items():
        if any(low.startswith(w) for w in words if len(w) >= 3):
            return CANONICAL_GENRES[genre]
    return value


def normalise_references(calls: list[dict], known_handles: set[str]) -> list[dict]:
    """The plan's ways of pointing back, made references: "C2" for a handle this conversation
    never issued (the model guessed step 2's handle) and an earlier step's tool name both mean
    that step's result; genres are spelled as the catalogue spells them."""
    out = []
    for number, call in enumerate(calls, start=1):
        earlier = {c["tool"]: n for n, c in enumerate(calls[: number - 1], start=1)}

        def fix(value: Any, number: int = number, earlier: dict = earlier) -> Any:
            if isinstance(value, str):
                handle = _HANDLE.match(value.strip())
                if handle and value.strip() not in known_handles and 0 < int(handle[1]) < number:
                    return f"${handle[1]}"
                if value.strip() in earlier:
                    return f"${earlier[value.strip()]}"
                return value
            if isinstance(value, list):
                return [fix(v) for v in value]
            if isinstance(value, dict):
                return {k: fix(v) for k, v in value.items()}
            return value

        args = {k: fix(v) for k, v in call["args"].items()}
        if call["tool"] in ("filter_items", "search_plots") and isinstance(
            args.get("genres"), list
        ):
            args["genres"] = [
                canonical_genre(g) if isinstance(g, str) else g for g in args["genres"]
            ]
        out.append({"tool": call["tool"], "args": args})
    return out


def drop_ungrounded_filters(calls: list[dict], text: str) -> tuple[list[dict], list[str]]:
    """(calls without invented filter values, notes on what was dropped)."""
    text = text.lower()
    kept: list[dict] = []
    notes: list[str] = []
    mapping: dict[int, int | None] = {}
    for number, call in enumerate(calls, start=1):
        args = dict(call["args"])
        if call["tool"] == "filter_items":
            for key, check in (("genres", _genre_grounded),) + tuple(
                (p, _person_grounded) for p in PEOPLE
            ):
                values = args.get(key)
                if not isinstance(values, list):
                    continue
                grounded = [v for v in values if not isinstance(v, str) or check(v, text)]
                if len(grounded) < len(values):
                    notes.append(f"dropped {key} {sorted(set(values) - set(grounded))}")
                    if grounded:
                        args[key] = grounded
                    else:
                        args.pop(key)
            for key in [k for k in args if k in FIELD_WORDS]:
                if not _field_grounded(key, text):
                    notes.append(f"dropped {key} (the conversation never mentions it)")
                    args.pop(key)
            if not {k for k in args if k != "items"}:
                mapping[number] = None
                notes.append(f"dropped step {number} (filter_items without conditions)")
                continue
        mapping[number] = len(kept) + 1
        kept.append({"tool": call["tool"], "args": args})
    return [{**c, "args": _renumber(c["args"], mapping)} for c in kept], notes


def complete_recommendation(calls: list[dict], question: str, users: set[int]) -> list[dict]:
    """Append recommend_items for a named user when the message asks for recommendations."""
    if not calls or not _RECOMMEND.search(question):
        return calls
    if any(c["tool"] in ("recommend_items", "similar_users_favourites") for c in calls):
        return calls
    named = [u for u in users if re.search(rf"\buser\s+{u}\b", question, re.IGNORECASE)]
    if len(named) != 1:
        return calls
    last = calls[-1]["tool"]
    args: dict = {"user_id": named[0], "k": 5}
    if last in ("filter_items", "search_plots", "popular_items", "similar_users_favourites"):
        args["items"] = f"${len(calls)}"
    return [*calls, {"tool": "recommend_items", "args": args}]
