"""Deterministic checks of a plan before it runs: what the model added that nobody asked for.

- ``drop_ungrounded_filters``: a filter_items genre or person that the conversation never
  mentions is removed (small models copy conditions from the examples), and so is a numeric
  condition whose number it never gives; a filter left without conditions is removed, and
  references to it now mean the whole catalogue.
- ``complete_recommendation``: a message that asks to recommend to a named user gets its
  recommend_items step (ranking the last candidate set for that user) if the plan forgot it.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from recagents.assistant.executor import REF
from recagents.assistant.plan_mode.stated_filters import stated_conditions, unstated_thresholds

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
COUNTRY_WORDS = {
    "united states": ("united states", "america", "u.s", "usa", "hollywood"),
    "united kingdom": ("united kingdom", "brit", "england", "english", "uk ", "u.k"),
    "india": ("india", "bollywood"),
}
_UPPER_OPS = ("lower", "at_most")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d|\d0s|\d0's)\b")


def _field_grounded(field: str, text: str) -> bool:
    words = FIELD_WORDS.get(field)
    if words is None:
        return True
    return any(w in text for w in words) or (field == "release_year" and bool(_YEAR.search(text)))


_RECOMMEND = re.compile(r"\b(recommend|suggest|pick|propose)\w*", re.IGNORECASE)


def _country_grounded(country: str, text: str) -> bool:
    words = COUNTRY_WORDS.get(country.strip().lower()) or (country.strip().lower()[:4],)
    return any(w in text for w in words)


def _bound_in_text(threshold: float, text: str) -> str | None:
    """The operator the text states for ``threshold`` ("before 1990" → lower), if any."""
    for conds in stated_conditions(text).values():
        for c in conds:
            if float(c["threshold"]) == threshold:
                return c["request"]
    return None


def fix_directions(calls: list[dict], text: str) -> tuple[list[dict], list[str]]:
    """Numeric filter conditions pointing the other way than the text says ("before 1990" as
    at_least 1990) are turned the way the text says (lower 1990)."""
    text, notes, out = text.lower(), [], []
    for call in calls:
        args = dict(call["args"])
        if call["tool"] == "filter_items":
            for key in ("release_year", "imdb_rating", "duration_min", "imdb_num_reviews"):
                conds = args.get(key)
                if not isinstance(conds, list):
                    continue
                fixed = []
                for c in conds:
                    c = dict(c) if isinstance(c, dict) else c
                    if isinstance(c, dict) and c.get("request") in ("lower", "higher", "at_most",
                                                                     "at_least"):  # fmt: skip
                        said = _bound_in_text(float(c.get("threshold", 0)), text)
                        if said and (said in _UPPER_OPS) != (c["request"] in _UPPER_OPS):
                            notes.append(f"{key} {c['request']} → {said} {c['threshold']:g}")
                            c["request"] = said
                    fixed.append(c)
                args[key] = fixed
        out.append({"tool": call["tool"], "args": args})
    return out, notes


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
        renumbered = {k: _renumber(v, mapping) for k, v in value.items()}
        return {k: v for k, v in renumbered.items() if v is not None}
    return value


Genre = Literal[
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
]  # fmt: skip
CANONICAL_GENRES: dict[str, str] = {genre.lower(): genre for genre in get_args(Genre)}
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
    that step's result; a guessed handle no earlier step can stand for is dropped (the argument
    then means the whole catalogue); genres are spelled as the catalogue spells them."""
    out = []
    for number, call in enumerate(calls, start=1):
        earlier = {c["tool"]: n for n, c in enumerate(calls[: number - 1], start=1)}

        def fix(value: Any, number: int = number, earlier: dict = earlier) -> Any:
            if isinstance(value, str):
                handle = _HANDLE.match(value.strip())
                if handle and value.strip() not in known_handles:
                    # step n's set if an earlier step n made one; else a handle nobody issued
                    return f"${handle[1]}" if 0 < int(handle[1]) < number else None
                if value.strip() in earlier:
                    return f"${earlier[value.strip()]}"
                return value
            if isinstance(value, list):
                return [fix(v) for v in value]
            if isinstance(value, dict):
                return {k: fix(v) for k, v in value.items()}
            return value

        args = {k: v for k, v in ((k, fix(v)) for k, v in call["args"].items()) if v is not None}
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
            checks = (("genres", _genre_grounded), ("countries", _country_grounded))
            for key, check in checks + tuple((p, _person_grounded) for p in PEOPLE):
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
            args, unstated = unstated_thresholds(args, text)
            notes += unstated
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


_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "a dozen": 12, "twelve": 12, "fifteen": 15, "twenty": 20,
}  # fmt: skip
_COUNTED = (
    r"movies?|films?|titles?|recommendations?|suggestions?|picks?|items?|options?|ideas?|"
    r"comedies|dramas|thrillers|westerns|musicals|documentaries|romances|romcoms|classics|"
    r"cartoons|animations|horrors?|sci-?fi|mysteries|adventures|crime"
)
_COUNT = re.compile(
    r"\b(?:top\s+)?(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(?:[\w'-]+\s+){0,3}?"
    r"(?:" + _COUNTED + r")\b",
    re.IGNORECASE,
)
COUNTED_TOOLS = ("recommend_items", "search_plots", "popular_items", "similar_users_favourites")


def stated_count(text: str) -> int | None:
    """How many items the message asks for ("3 comedies", "five movies", "top 10 films")."""
    pos = 0
    while match := _COUNT.search(text, pos):
        if re.search(r"\b(?:users?|items?|ids?|movie|film|#)\s*$", text[: match.start()], re.I):
            pos = match.end(1)  # "user 17 movies": an id, not a count ("user 23 10 movies": 10)
            continue
        word = match[1].lower()
        n = int(word) if word.isdigit() else _NUMBER_WORDS[word]
        return n if 1 <= n <= 50 else None
    return None


def fix_counts(calls: list[dict], question: str, default_k: int | None) -> tuple[list, list]:
    """The count the message states is the list's length; without one, ``default_k`` (the
    chat's setting) for recommendations. The last counted step decides what is shown."""
    n = stated_count(question)
    counted = [i for i, c in enumerate(calls) if c["tool"] in COUNTED_TOOLS]
    if not counted:
        return calls, []
    last = counted[-1]
    k = n or (default_k if calls[last]["tool"] == "recommend_items" else None)
    if k is None or calls[last]["args"].get("k") == k:
        return calls, []
    fixed = [dict(c) for c in calls]
    fixed[last] = {**fixed[last], "args": {**fixed[last]["args"], "k": k}}
    why = "the count the message states" if n else "the chat's default count"
    return fixed, [f"{calls[last]['tool']} k set to {k} ({why})"]
