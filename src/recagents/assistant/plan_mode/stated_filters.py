"""Numeric conditions and countries a message states in plain English, read by rules (no model).

- ``stated_conditions``: release_year, imdb_rating and duration_min conditions written as a
  comparison ("released after 1998", "an IMDb rating higher than 6", "less than 2 hours",
  "90 minutes or less", "between 1990 and 1995", "the 1980s"), with English's strictness:
  "after 1998" is ``higher 1998`` (1999 on), "at least 7" is ``at_least 7``.
- ``stated_countries``: a nationality or a country named as the movies' origin ("Italian
  movies", "Bollywood", "made in France", "released in the United States"), spelled as the
  catalogue spells it.
- ``unstated_thresholds``: numeric conditions whose number the conversation never gives (a model
  that writes ``duration_min at_least 90`` for "the ideal duration of comedies" invented the
  90). A number counts as given when the text has it, or one away from it (``at_least 1999``
  for "after 1998"), or it follows from a stated unit (2 hours = 120 minutes) or decade.

The rules are plain English patterns, not any benchmark's sentences; the form grounding
(``form_grounding.py``) lets what they read win over the model's reading of the same field.
"""

from __future__ import annotations

import re

NUMERIC_FIELDS = ("release_year", "imdb_rating", "duration_min", "imdb_num_reviews")

_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "an": 1, "a": 1,
}  # fmt: skip
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(_WORD_NUMBERS) + r")"
_UNIT = r"\s*(hours?|hrs?|h|minutes?|mins?|stars?)?\b"
_FILLER = r"(?:the year\s+|the\s+|a\s+|an\s+|of\s+)?"
# comparison words → the operator they mean (strict ones first: "no more than" before "more than")
_OPERATORS: tuple[tuple[str, str], ...] = (
    ("at_most", r"at most|up to|no more than|not more than|no longer than|maximum of|until"),
    ("at_least", r"at least|no less than|not less than|minimum of|since"),
    ("lower", r"before|prior to|earlier than|older than|under|less than|lower than|below|"
              r"shorter than|fewer than"),
    ("higher", r"after|later than|newer than|over|more than|higher than|greater than|above|"
               r"longer than|better than"),
)  # fmt: skip
_PREFIX = re.compile(
    r"\b(" + "|".join(p for _, p in _OPERATORS) + r")\s+" + _FILLER + _NUM + _UNIT, re.I
)
_POSTFIX = re.compile(
    _NUM + _UNIT + r"\s+or\s+(more|higher|later|above|longer|better|less|lower|earlier|below|"
    r"shorter|fewer)\b",
    re.I,
)
_RANGE = re.compile(
    r"\b(?:between|from)\s+" + _NUM + _UNIT + r"\s*(?:and|to|-)\s*" + _NUM + _UNIT, re.I
)
_COUNTED = re.compile(r"^\s*(?:movies?|films?|titles?|users?|items?|people|recommendations?|"
                      r"suggestions?|picks?|times?)\b", re.I)  # fmt: skip
_REVIEWS = re.compile(r"^\s*(?:imdb\s+)?(?:reviews?|votes?)\b", re.I)
_DECADE = re.compile(r"\b(?:19)?([2-9]0)'?s\b")
_HOUR_AND_HALF = re.compile(r"\b(an?|one|\d+)\s+hours?\s+and\s+a\s+half\b", re.I)
_RATING_CUE = re.compile(r"\b(imdb|rating|rated|score[ds]?|stars?)\b", re.I)
_DURATION_CUE = re.compile(
    r"\b(last(?:s|ing)?|long|longer|short|shorter|run(?:s|ning)?|runtime|duration|length)\b",
    re.I,
)
_POSTFIX_OPS = {"more": "at_least", "higher": "at_least", "later": "at_least",
                "above": "at_least", "longer": "at_least", "better": "at_least",
                "less": "at_most", "lower": "at_most", "earlier": "at_most",
                "below": "at_most", "shorter": "at_most", "fewer": "at_most"}  # fmt: skip


def _number(word: str) -> float:
    low = word.lower()
    return float(_WORD_NUMBERS[low]) if low in _WORD_NUMBERS else float(word)


def _operator(phrase: str) -> str:
    low = " ".join(phrase.lower().split())
    for op, pattern in _OPERATORS:
        if re.fullmatch(pattern, low):
            return op
    raise ValueError(phrase)  # unreachable: the phrase matched one of the patterns


def _field(value: float, unit: str | None, before: str, after: str) -> tuple[str, float] | None:
    """Which field a stated number is about, and its value in that field's unit."""
    unit = (unit or "").lower()
    if _REVIEWS.match(after):
        return "imdb_num_reviews", value
    if not unit and _COUNTED.match(after):
        return None  # "more than 5 movies": a count, not a condition
    if unit.startswith("h"):
        return "duration_min", value * 60
    if unit.startswith("min"):
        return "duration_min", value
    if value.is_integer() and 1880 <= value <= 2030:
        return "release_year", value
    if unit.startswith("star") or (value <= 10 and _RATING_CUE.search(before + " " + after)):
        return "imdb_rating", value
    if 40 <= value <= 300 and _DURATION_CUE.search(before):
        return "duration_min", value  # "lasting less than 100" (minutes implied)
    return None


def stated_conditions(text: str) -> dict[str, list[dict]]:
    """{field: [{"request", "threshold"}]} for the comparisons the text states."""
    out: dict[str, list[dict]] = {}

    def add(op: str, start: int, end: int, number: str, unit: str | None) -> None:
        if re.fullmatch(r"an?", number, re.I) and not (unit or "").lower().startswith("h"):
            return  # "over a" without "hour": not a number
        before, after = text[max(0, start - 45) : start], text[end : end + 20]
        found = _field(_number(number), unit, before, after)
        if found is None:
            return
        field, value = found
        cond = {"request": op, "threshold": int(value) if value.is_integer() else value}
        if cond not in out.setdefault(field, []):
            out[field].append(cond)

    for m in _HOUR_AND_HALF.finditer(text):  # "an hour and a half" = 90 minutes
        prefix = _PREFIX.search(text[max(0, m.start() - 20) : m.end()])
        if prefix:
            hours = 1.0 if m[1].lower() in ("a", "an", "one") else float(m[1])
            add(_operator(prefix[1]), m.start(), m.end(), str(hours + 0.5), "hours")
    for m in _RANGE.finditer(text):
        unit = m[2] or m[4]
        add("at_least", m.start(), m.end(), m[1], unit)
        add("at_most", m.start(), m.end(), m[3], unit)
    for m in _PREFIX.finditer(text):
        if _HOUR_AND_HALF.match(text, m.start(2)):
            continue
        add(_operator(m[1]), m.start(), m.end(), m[2], m[3])
    for m in _POSTFIX.finditer(text):
        add(_POSTFIX_OPS[m[3].lower()], m.start(), m.end(), m[1], m[2])
    if "release_year" not in out and (decade := _DECADE.search(text.lower())):
        start = 1900 + int(decade[1])
        out["release_year"] = [{"request": "at_least", "threshold": start},
                               {"request": "at_most", "threshold": start + 9}]  # fmt: skip
    return out


# nationality words (and the two film industries) → the catalogue's country names
DEMONYMS: dict[str, str] = {
    "american": "United States", "hollywood": "United States", "british": "United Kingdom",
    "french": "France", "italian": "Italy", "german": "Germany", "swedish": "Sweden",
    "canadian": "Canada", "australian": "Australia", "turkish": "Turkey",
    "brazilian": "Brazil", "dutch": "Netherlands", "japanese": "Japan", "indian": "India",
    "bollywood": "India", "finnish": "Finland", "hungarian": "Hungary", "polish": "Poland",
    "argentinian": "Argentina", "argentine": "Argentina", "filipino": "Philippines",
    "spanish": "Spain", "korean": "South Korea", "chilean": "Chile", "russian": "Russia",
    "chinese": "China", "mexican": "Mexico", "irish": "Ireland", "danish": "Denmark",
    "taiwanese": "Taiwan", "czech": "Czechoslovakia", "croatian": "Croatia",
    "singaporean": "Singapore", "uruguayan": "Uruguay", "south african": "South Africa",
    "hong kong": "Hong Kong",
}  # fmt: skip
COUNTRY_NAMES: dict[str, str] = {
    "united states": "United States", "usa": "United States", "america": "United States",
    "united kingdom": "United Kingdom", "britain": "United Kingdom",
    "england": "United Kingdom", "korea": "South Korea",
    **{name.lower(): name for name in (
        "France", "Italy", "Germany", "Sweden", "Canada", "Australia", "Turkey", "Brazil",
        "Netherlands", "Japan", "India", "Finland", "Hungary", "Poland", "Argentina",
        "Philippines", "Spain", "South Korea", "Chile", "Russia", "China", "Mexico",
        "Ireland", "Denmark", "Taiwan", "Croatia", "Singapore", "Uruguay", "South Africa",
        "Hong Kong")},
}  # fmt: skip
_FILM = (
    r"(?:[\w'-]+\s+){0,3}?(?:movies?|films?|cinema|productions?|titles?|classics?|"
    r"comed(?:y|ies)|dramas?|thrillers?|westerns?|musicals?|romances?|horrors?)\b"
)
_DEMONYM = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, DEMONYMS), key=len, reverse=True)) + r")\b"
    r"((?=\s+" + _FILM + r"))?",
    re.I,
)
_NAMES = "|".join(sorted(map(re.escape, COUNTRY_NAMES), key=len, reverse=True))
_ORIGIN = re.compile(
    r"\b(?:(?:made|produced|filmed|shot|released)\s+in|from)\s+(?:the\s+)?"
    r"(" + _NAMES + r"|u\.?s\.?a?\.?|u\.?k\.?)(?![\w.])",
    re.I,
)


def stated_countries(text: str) -> list[str]:
    """Countries the text names as the movies' origin, as the catalogue spells them."""
    found: list[str] = []
    for m in _DEMONYM.finditer(text):
        word = m[1].lower()
        # a nationality is an origin when it qualifies the movies ("Italian movies") or is
        # a film industry's name ("Bollywood"); "an Italian chef" is a storyline, not a country
        if m[2] is not None or word in ("bollywood", "hollywood"):
            country = DEMONYMS[word]
            if country not in found:
                found.append(country)
    for m in _ORIGIN.finditer(text):
        name = m[1].lower().replace(".", "")
        if name in ("us", "uk") and m.group(0).lower().split()[-2:-1] != ["the"]:
            continue  # "from us" is a pronoun; "from the US" a country
        origin = {"us": "United States", "uk": "United Kingdom"}.get(name, COUNTRY_NAMES.get(name))
        if origin and origin not in found:
            found.append(origin)
    return found


def _given_numbers(text: str) -> set[float]:
    """The numbers a condition may use: those written, one either side (strict ↔ inclusive),
    hours in minutes, and a decade's first and last year."""
    given: set[float] = set()
    for m in re.finditer(r"(\d+(?:\.\d+)?)" + _UNIT, text, re.I):
        value, unit = float(m[1]), (m[2] or "").lower()
        given |= {value, value - 1, value + 1}
        if unit.startswith("h"):
            given |= {value * 60, value * 60 - 1, value * 60 + 1}
    for word, n in _WORD_NUMBERS.items():
        if re.search(rf"\b{word}\s+hours?\b", text, re.I):
            given |= {n * 60.0, n * 60.0 - 1, n * 60.0 + 1}
    if _HOUR_AND_HALF.search(text):
        given |= {89.0, 90.0, 91.0}
    for m in _DECADE.finditer(text.lower()):
        start = 1900 + int(m[1])
        given |= {float(start - 1), float(start), float(start + 9), float(start + 10)}
    return given


def unstated_thresholds(args: dict, text: str) -> tuple[dict, list[str]]:
    """filter_items arguments without the numeric conditions whose number nobody gave."""
    given = _given_numbers(text)
    out, notes = dict(args), []
    for key in NUMERIC_FIELDS:
        conds = out.get(key)
        if not isinstance(conds, list):
            continue
        kept = [
            c
            for c in conds
            if not isinstance(c, dict)
            or not isinstance(c.get("threshold"), int | float)
            or float(c["threshold"]) in given
        ]
        if len(kept) < len(conds):
            dropped = [f"{c['request']} {c['threshold']:g}" for c in conds if c not in kept]
            notes.append(f"dropped {key} {', '.join(dropped)} (the message gives no such number)")
            if kept:
                out[key] = kept
            else:
                out.pop(key)
    return out, notes
