"""What a message states in plain words, read by rules (no model): genres, years and age
ratings named outright, intents signalled by fixed phrases, fields asked for, and catalogue titles
written capitalised (numeric conditions and countries: ``stated_filters``). ``intent.ground`` uses them to check and complete the model's form: the
model's reading is kept unless the message says otherwise in one of these unambiguous ways.
"""

from __future__ import annotations

import re

from recagents.assistant.plan_mode.plan_checks import CANONICAL_GENRES, canonical_genre

AUDIENCE_WORDS = {
    "kid": ("kid", "child", "children"),
    "teenager": ("teen",),
    "young_adult": ("young", "twent", "student"),
    "adult": ("adult", "grown", "middle"),
    "senior": ("senior", "elderly", "old", "retire"),
    "male": ("male", "men", "man", "boy", "guy"),
    "female": ("female", "women", "woman", "girl", "ladies"),
}


def grounded_audience(groups: list[str], text: str) -> list[str]:
    return [g for g in groups if any(w in text for w in AUDIENCE_WORDS[g])]


FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "directors": ("direct", "filmmaker"), "actors": ("actor", "actress", "star", "cast"),
    "writers": ("writ", "screenplay", "script"), "genres": ("genre", "kind of"),
    "duration_min": ("long", "minute", "duration", "length", "runtime", "hour"),
    "imdb_rating": ("rating", "rated", "score", "imdb"), "imdb_num_reviews": ("review", "vote"),
    "storyline": ("plot", "story", "about", "happen", "summary"),
    "description": ("plot", "story", "about", "happen", "summary", "describ"),
    "year": ("year", "when", "released", "old"), "release_month": ("month", "when"),
    "country": ("country", "countries", "where", "made in"),
    "age_rating": ("certificate", "age rating", "rated", "suitable"),
    "title": ("title", "name"), "imdb_year": ("year",), "ml_year": ("year",),
    "age": ("age", "old"), "age_group": ("age",), "gender": ("gender", "man", "woman", "male",
    "female", "sex"), "occupation": ("job", "occupation", "work", "living", "profession"),
    "zip_code": ("zip", "postal", "post code"), "n_ratings": ("how many", "number of", "count"),
}  # fmt: skip
# whole genre words that state a hard filter when the form forgot it ("3 horror movies")
_GENRE_NOUNS = re.compile(
    r"(?<!not )(?<!no )\b(horror|comed(?:y|ies)|dramas?|thrillers?|westerns?|sci-?fi|"
    r"science[- ]fiction|documentar(?:y|ies)|musicals?|animated|animation|cartoons?|"
    r"film[- ]noir|crime|myster(?:y|ies)|fantasy|romances?|romantic|action|adventures?|"
    r"war (?:films?|movies?))\b"
)
RATED = re.compile(r"\brated\s+(PG-13|NC-17|PG|G|R)\b", re.I)


def stated_genres(text: str) -> list[str]:
    """Genres the text names as a kind of movie (whole words only), catalogue spelling."""
    found = []
    for m in _GENRE_NOUNS.finditer(text.lower()):
        word = m[1].replace("science fiction", "sci-fi").replace("science-fiction", "sci-fi")
        genre = canonical_genre(word.split()[0] if word.startswith("war ") else word)
        if word.startswith("war "):
            genre = "War"
        if genre in CANONICAL_GENRES.values() and genre not in found:
            found.append(genre)
    return found


# plain-English cues that decide an intent whatever the model read (checked in this order)
INTENT_CUES: tuple[tuple[str, re.Pattern], ...] = (
    ("audience_share", re.compile(
        r"\b(share|percentage|percent|fraction|proportion|how many (?:users|people|viewers)|"
        r"how broad)\b", re.I)),
    ("catalogue_statistic", re.compile(
        r"\b(most (?:common|frequent|typical)|on average|average|typical|median)\b", re.I)),
    # "what is the most popular genre …", "which director is the most watched …": a property of
    # a set of movies, asked as a question (no recommendation verb: see cue_intent)
    ("catalogue_statistic", re.compile(
        r"\b(?:what|which)(?:'s| is| are| was)? the (?:most \w+|ideal|best|usual|preferred|"
        r"favou?rite|optimal|commonest|longest|shortest)\s+(?:movie\s+|film\s+)?"
        r"(?:genres?|directors?|actors?|actress(?:es)?|producers?|writers?|duration|length|"
        r"runtime|country|countries|decade|year|age rating|certificate)\b", re.I)),
    ("recommend_similar_to_item", re.compile(
        r"\b((?i:similar to|in the vein of|(?:movies?|films?|ones?|something|more) like))\s+"
        r"(?:movie\s+\d|[A-Z\"'])")),
    ("item_facts", re.compile(
        r"\b(who (?:directed|wrote|stars|starred|made)|how long (?:is|does|do)|what is .{2,60} "
        r"about|tell me about (?:movie|film|[A-Z\"']))", re.I)),
)  # fmt: skip


RECOMMEND_VERB = re.compile(r"\b(recommend|suggest|what should|give me|find me|show me)", re.I)


def cue_intent(question: str) -> str | None:
    for intent, pattern in INTENT_CUES:
        if intent == "catalogue_statistic" and RECOMMEND_VERB.search(question):
            continue  # "recommend the most typical westerns" is still a recommendation
        if pattern.search(question):
            return intent
    return None


SIMILARITY = re.compile(
    r"\b(like|similar|resembl\w*|reminiscent|in the vein|same as|comparable)\b", re.I
)
POPULAR = re.compile(r"\b(popular|well[- ]known|most (?:watched|rated|seen)|crowd[- ]pleas\w*)\b",
                     re.I)  # fmt: skip
# the audience is the user's own age group ("popular in his/her age category")
OWN_AGE = re.compile(
    r"\b(?:his|her|his/her|their|the user'?s?|this user'?s?|same|own)\s+age\b|"
    r"\bage (?:group|category|range|bracket) of (?:the |this )?user\b",
    re.I,
)
_STORY = re.compile(
    r"\b(?:about|involving|where|in which|whose (?:plot|story) is)\s+([^?.!]{3,200})", re.I
)
_STORY_TAIL = re.compile(r"\s+(?:to|for)\s+(?:user\b.*|me\b.*|him\b.*|her\b.*|them\b.*)$", re.I)


def stated_story(question: str) -> str | None:
    """The plot the message describes ("movies about war crimes", "where the hero is
    kidnapped"), without the recipient that may follow it ("… to user 5")."""
    m = _STORY.search(question)
    if not m:
        return None
    story = _STORY_TAIL.sub("", m[1].strip()).strip(" ,;:'\"")
    return story or None


_CAPITALISED = re.compile(
    r"[A-Z0-9][\w'&.:-]*(?:\s+(?:of|the|and|a|an|in|on|to|for|with|[A-Z0-9][\w'&.:-]*))*"
)


def capitalised_title(question: str, title_index) -> int | None:
    """A catalogue title written capitalised in the question ("Who directed Fargo?"): each
    capitalised run of words, and its shorter tails and heads, looked up as a title form."""
    from recagents.services.grounding import _norm

    for span in _CAPITALISED.findall(question):
        words = _norm(span).split()
        for size in range(len(words), 0, -1):
            for start in range(0, len(words) - size + 1):
                ids = title_index.by_form.get(" ".join(words[start : start + size]))
                if ids and (size > 1 or len(words[start]) >= 4):
                    return min(ids)
    return None


_NAME = r"([A-Z][\w.'-]+(?:\s+(?:de |van |von |del )?[A-Z][\w.'-]+)+)"
ROLE_PHRASES: tuple[tuple[str, re.Pattern], ...] = (
    ("directors", re.compile(r"\b(?:directed by|director)\s+" + _NAME)),
    ("writers", re.compile(r"\b(?:written by|screenplay by|writer)\s+" + _NAME)),
    (
        "actors",
        re.compile(
            r"\b(?:starring|with actor|with actress|featuring|(?:movies?|films?) "
            r"with)\s+" + _NAME
        ),
    ),
)


def stated_roles(question: str) -> dict[str, list[str]]:
    """People the message names with their role ("directed by Quentin Tarantino")."""
    out: dict[str, list[str]] = {}
    for role, pattern in ROLE_PHRASES:
        for m in pattern.finditer(question):
            out.setdefault(role, []).append(m[1].strip().rstrip(".,'"))
    return out


_ITEM_ID = re.compile(r"\b(?:movies?|films?|items?)\s*(?:ids?\s*)?#?\s*((?:\d+(?:\s*(?:,|and|&)\s*)?)+)",
                      re.I)  # fmt: skip


_USER_ID = re.compile(r"\buser\s*(?:id\s*)?#?\s*(\d+)\b", re.I)


def stated_user(question: str) -> int | None:
    """The one user id the message gives ("to user 45"); None when it gives none or several."""
    found = {int(m[1]) for m in _USER_ID.finditer(question)}
    return found.pop() if len(found) == 1 else None


def stated_item_ids(question: str) -> list[int]:
    """Movie ids the message gives ("movie 127", "films 2, 5 and 9")."""
    out: list[int] = []
    for m in _ITEM_ID.finditer(question):
        out += [int(n) for n in re.findall(r"\d+", m[1]) if int(n) not in out]
    return out
