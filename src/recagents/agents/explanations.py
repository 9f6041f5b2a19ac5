"""Explanations for the final k only: facts the code chooses, one short call, and a checker.

1. ``facts``: per final item, its real genres and year, the user's liked movie nearest to it
   (cosine of the engine's item vectors; liked = rated >= 4, or the whole history when none
   is), the genres they share, a director or top-billed actor it shares with a liked movie,
   and its IMDb rating.
2. ``write`` (``explanations.method: write``): ONE grammar-constrained call returns one sentence
   per item, in order, each at most ``explanations.max_words`` words (capped in characters by
   the grammar too). The default, ``choose``, writes no sentence: the model picks one of the
   true reasons ``agents.reasons`` builds from these facts.
3. ``check``: every sentence is compared with the store. It is replaced by the data template
   (``template``) when it
   - claims a genre the movie lacks (a genre word that is neither the movie's nor that of a
     movie the sentence names),
   - names a title that is neither the movie's own nor in the user's history (another
     candidate named is another movie's sentence), or a "Title (year)" the catalogue lacks,
   - is unfinished (no closing punctuation: the model stopped mid-sentence),
   - claims a genre in common with the liked movie when the two share none,
   - gives a year that is not the movie's (nor a named movie's, nor the request's),
   - contradicts the request or the movie: denies a genre the movie has or the request asks
     for ("not a comedy").
   Replacements are counted, with the reason, on the blackboard.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, Field, create_model

from recagents.agents.prompting import Capped, ask, titled
from recagents.agents.state import ARAGContext, ARAGState, Candidate
from recagents.services.grounding import TitleIndex

# genre claim words (whole words, lower case) -> catalogue genre; deliberately narrow: a tone
# word ("funny", "dark") is no genre claim, and "war" counts only as "war film/movie/drama"
GENRE_CLAIMS: dict[str, str] = {
    "action": "Action", "adventure": "Adventure", "adventures": "Adventure",
    "animation": "Animation", "animated": "Animation", "cartoon": "Animation",
    "children's": "Children's", "kids' movie": "Children's", "children's movie": "Children's",
    "comedy": "Comedy", "comedies": "Comedy", "comedic": "Comedy", "crime": "Crime",
    "documentary": "Documentary", "documentaries": "Documentary", "drama": "Drama",
    "dramas": "Drama", "fantasy": "Fantasy", "film-noir": "Film-Noir", "noir": "Film-Noir",
    "horror": "Horror", "musical": "Musical", "musicals": "Musical", "mystery": "Mystery",
    "mysteries": "Mystery", "romance": "Romance", "romantic": "Romance", "sci-fi": "Sci-Fi",
    "science fiction": "Sci-Fi", "science-fiction": "Sci-Fi", "thriller": "Thriller",
    "thrillers": "Thriller", "war film": "War", "war movie": "War", "war drama": "War",
    "western": "Western", "westerns": "Western",
}  # fmt: skip
_CLAIM = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, GENRE_CLAIMS), key=len, reverse=True)) + r")\b"
)
_NEGATED = re.compile(
    r"\b(?:not|isn't|is not|no|never|without|lacks?|lacking)\s+(?:a |an |any |really )?("
    + "|".join(sorted(map(re.escape, GENRE_CLAIMS), key=len, reverse=True))
    + r")\b"
)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_SHARING = re.compile(r"\b(shares?|sharing|shared|same genres?|in common)\b")
_ENDED = re.compile(r"[.!?…][\"')\]]*\s*$")
TOP_BILLED = 5  # actors counted as a movie's stars
PEOPLE_FIELDS = ("directors", "actors", "imdb_rating")
ENGINE_SOURCES = frozenset({"bpr", "foldin", "graph_text"})  # the engine put it in the pool
ENGINE_REASON = "Ranked high by the collaborative-filtering model for your rating history."


class Fact(TypedDict):
    item_id: int
    title: str
    year: int | None
    genres: list[str]
    liked: dict | None  # the nearest liked history item: item_id, title, year, genres, rating
    shared: list[str]  # genres the movie shares with ``liked``
    crew: dict | None  # a person in common with a liked movie: role, name, liked (history row)
    imdb_rating: float | None


def facts(ctx: ARAGContext, state: ARAGState, chosen: Sequence[Candidate]) -> list[Fact]:
    history = state.get("history", [])
    liked = [h for h in history if (h.get("rating") or 0) >= 4] or list(history)
    by_id = {h["item_id"]: h for h in liked}
    nearest: dict[int, int] = {}
    if liked:
        try:
            nearest = ctx.services.get_recommender().nearest_items(
                [c["item_id"] for c in chosen], list(by_id)
            )
        except Exception:  # noqa: BLE001 - no vectors: the genre overlap decides below
            nearest = {}
    crew, imdb = crew_in_common(ctx, [c["item_id"] for c in chosen], liked)
    out: list[Fact] = []
    for c in chosen:
        near = by_id.get(nearest.get(c["item_id"], -1))
        if near is None and liked:  # the liked movie sharing most genres
            near = max(liked, key=lambda h: len(set(h["genres"]) & set(c["genres"])))
        shared = sorted(set(c["genres"]) & set(near["genres"])) if near else []
        out.append(
            Fact(
                item_id=c["item_id"],
                title=c["title"],
                year=c["year"],
                genres=list(c["genres"]),
                liked=near,
                shared=shared,
                crew=crew.get(c["item_id"]),
                imdb_rating=imdb.get(c["item_id"]),
            )
        )
    return out


def _names(row: dict, field: str, limit: int | None = None) -> list[str]:
    names = list(row.get(field) or [])
    return names[:limit] if limit else names


def crew_in_common(
    ctx: ARAGContext, chosen_ids: Sequence[int], liked: Sequence[dict]
) -> tuple[dict[int, dict], dict[int, float | None]]:
    """item id → {role, name, liked (history row)}: a director, else a top-billed actor, the
    movie shares with a liked movie (the best-rated such movie); and item id → IMDb rating."""
    ids = list(dict.fromkeys([*chosen_ids, *(h["item_id"] for h in liked)]))
    rows = {r["item_id"]: r for r in ctx.services.store.item_details(ids, PEOPLE_FIELDS)}
    ranked = sorted(liked, key=lambda h: -(h.get("rating") or 0))
    crew: dict[int, dict] = {}
    for item_id in chosen_ids:
        row = rows.get(item_id, {})
        for role, field, limit in (
            ("director", "directors", None),
            ("actor", "actors", TOP_BILLED),
        ):
            mine = _names(row, field, limit)
            hit = next(
                (
                    (name, h)
                    for h in ranked
                    if h["item_id"] != item_id
                    for name in mine
                    if name in _names(rows.get(h["item_id"], {}), field, limit)
                ),
                None,
            )
            if hit:
                crew[item_id] = {"role": role, "name": hit[0], "liked": hit[1]}
                break
    imdb = {i: r.get("imdb_rating") for i, r in rows.items()}
    return crew, imdb


def fact_line(n: int, f: Fact) -> str:
    line = f"{n}. {titled(f['title'], f['year'])}, genres: {', '.join(f['genres'])}"
    if f["liked"]:
        h = f["liked"]
        rated = f", rated {h['rating']:g}/5" if h.get("rating") is not None else ""
        line += f"; the user liked {titled(h['title'], h['year'])}{rated}"
        line += (
            f"; shared genres: {', '.join(f['shared'])}"
            if f["shared"]
            else "; no genre in common (close in rating patterns)"
        )
    return line


def template(f: Fact, sources: Collection[str] = ()) -> str:
    """A true explanation from the store alone."""
    h = f["liked"]
    if h and f["shared"]:
        rated = f", which you rated {h['rating']:g}/5" if h.get("rating") is not None else ""
        return f"{' and '.join(f['shared'])}, like {h['title']}{rated}."
    if "search" in sources:
        return "Its plot matches your request."
    if "popularity" in sources:
        return "Popular with many users (no personal history to go on)."
    return ENGINE_REASON


def genre_claims(text: str) -> list[str]:
    """The catalogue genres ``text`` names ("funny" is no genre, "comedies" is Comedy)."""
    return list(dict.fromkeys(GENRE_CLAIMS[m[1]] for m in _CLAIM.finditer(text.lower())))


class Explanations(BaseModel):
    reasons: list[str]  # one per movie: ``_schema`` sets how many and caps their length


def sentence_cap(max_words: int) -> int:
    """The characters the grammar allows one explanation (a sentence that reaches it was cut)."""
    return max_words * 7


def _schema(k: int, max_words: int) -> type[Explanations]:
    sentence = Annotated[
        str,
        Capped(sentence_cap(max_words)),
        Field(description=f"One sentence of at most {max_words} words."),
    ]
    sized: dict[str, Any] = {"reasons": (list[sentence], Field(min_length=k, max_length=k))}
    return create_model("Explanations", __base__=Explanations, **sized)


def task(fs: Sequence[Fact], request_text: str, max_words: int) -> str:
    lines = "\n".join(fact_line(n, f) for n, f in enumerate(fs, start=1))
    request = f"The request: {request_text[:200]!r}. " if request_text else ""
    return (
        f"TASK (Explanations): for each of these {len(fs)} movies, in this order, write one "
        f"complete sentence of at most {max_words} words telling this user why it fits; answer "
        f'{{"reasons": [{len(fs)} sentences]}}. {request}'
        "Do not repeat the movie's title (it is shown beside the sentence). Use only that "
        "movie's own facts: its genres and year, the liked movie, the shared genres. Name no "
        "other movie and no other genre.\n" + lines
    )


def write(ctx: ARAGContext, state: ARAGState, fs: Sequence[Fact], request_text: str, config):
    """One sentence per fact, in order (raises ``RecagentsError`` when the LLM fails)."""
    max_words = ctx.config.explanations.max_words
    schema = _schema(len(fs), max_words)
    value = ask(
        ctx,
        state,
        schema,
        task(fs, request_text, max_words),
        config,
        max_tokens=len(fs) * max_words * 2 + 30,
        candidates=ctx.config.nli.method == "generate",
        schema_note=False,
    )
    return [" ".join(str(r).split()) for r in value.reasons]


def _strip_titles(text: str, titles: Collection[str]) -> str:
    low = text.lower()
    for title in sorted(titles, key=len, reverse=True):
        base = re.sub(r"\s*\(\d{4}\)\s*$", "", title).lower()
        for form in {base, re.sub(r"^(.*), (the|a|an)$", r"\2 \1", base)}:
            if form:
                low = low.replace(form, " ")
    return low


def check(
    text: str,
    fact: Fact,
    *,
    index: TitleIndex,
    allowed_ids: Collection[int],
    named_genres: dict[int, list[str]],
    named_years: dict[int, int | None],
    request_text: str = "",
    request_genres: Collection[str] = (),
    max_chars: int | None = None,
) -> str | None:
    """Why ``text`` is false for ``fact`` (see the module doc), or None when it holds.
    ``max_chars``: the grammar's cap; a sentence that reached it was cut mid-claim."""
    if not text.strip():
        return "empty"
    if len(text.split()) < 3:
        return "a fragment, not a sentence"
    if max_chars is not None and len(text) >= max_chars - 1:
        return "cut off at the length cap"
    if not _ENDED.search(text):
        return "an unfinished sentence"
    named = index.mentions(text)
    for ids in named:
        if -1 in ids:
            return "names a movie the catalogue does not have"
        if not ids & set(allowed_ids):
            return f"names {index.titles[min(ids)]}, neither this movie nor one the user rated"
    named_ids = {i for ids in named for i in ids if i in allowed_ids}
    titles = [index.titles[i] for i in named_ids | {fact["item_id"]} if i in index.titles]
    plain = _strip_titles(text, titles)
    movie = set(fact["genres"])
    others = {g for i in named_ids for g in named_genres.get(i, [])}
    for m in _NEGATED.finditer(plain):
        genre = GENRE_CLAIMS[m[1]]
        if genre in movie:
            return f"denies the genre {genre}, which the movie has"
        if genre in request_genres:
            return f"denies the genre {genre}, which the request asks for"
    negated_spans = [m.span(1) for m in _NEGATED.finditer(plain)]
    for m in _CLAIM.finditer(plain):
        if m.span(1) in negated_spans:
            continue
        genre = GENRE_CLAIMS[m[1]]
        if genre not in movie and genre not in others:
            return f"claims the genre {genre}, which the movie does not have"
    if _SHARING.search(plain) and not fact["shared"]:
        return "claims a genre in common with the liked movie, but they share none"
    years = {fact["year"], *(named_years.get(i) for i in named_ids)}
    years |= {int(y) for t in titles for y in _YEAR.findall(t)}  # "(1991)" in a title
    years |= {int(y) for y in _YEAR.findall(request_text)}
    for y in _YEAR.findall(plain):
        if int(y) not in years:
            return f"gives the year {y}, which is not the movie's ({fact['year']})"
    return None
