"""True reasons from the store, and the model's choice among them (``explanations.method: choose``).

Score, don't generate, applied to explanations: the local models' own sentences were measured
false 75 % (1.5B) and 98 % (0.5B) of the time (``bench/bench_arag.py``, the checker's count),
so by default the code writes every candidate sentence from the store, each true by
construction:

- the genres the movie shares with the user's liked movie nearest to it (the data template);
- a director, or one of the first-billed actors, it shares with a movie the user liked;
- a genre the request asks for (in its filters or its words);
- its plot matched the request's words (plot search found it);
- its IMDb rating, when it is at least ``GOOD_IMDB``;
- the engine ranked it high for the user's history (always true of a known user's pool).

The model then fills ONE typed form, ``{"picks": "BAC"}``: for each movie with two or more
reasons, the letter of the one that tells this user best why it fits (grammar-constrained per
position to that movie's letters; about ten generated tokens in all; the prompt starts with the same bytes as the profile's, so the user block comes from the
prompt cache). ``finalize`` still checks every sentence against the store.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Annotated

from pydantic import BaseModel, Field, create_model

from recagents.agents.explanations import (
    ENGINE_REASON,
    ENGINE_SOURCES,
    Fact,
    genre_claims,
    template,
)
from recagents.agents.prompting import ask, titled
from recagents.agents.state import ARAGContext, ARAGState

LETTERS = "ABCD"  # at most this many reasons per movie
GOOD_IMDB = 7.0


def reasons(fact: Fact, sources: Collection[str], asked_genres: Collection[str]) -> list[str]:
    """The true sentences about ``fact``, the data template first, at most ``len(LETTERS)``."""
    out: list[str] = []
    if fact["liked"] and fact["shared"]:
        out.append(template(fact, sources))
    if crew := fact.get("crew"):
        h = crew["liked"]
        rated = f", which you rated {h['rating']:g}/5" if h.get("rating") is not None else ""
        verb = "Directed by" if crew["role"] == "director" else "With"
        how = "who also made" if crew["role"] == "director" else "who is also in"
        out.append(f"{verb} {crew['name']}, {how} {h['title']}{rated}.")
    wanted = [g for g in fact["genres"] if g in set(asked_genres)]
    if wanted:
        out.append(f"{' and '.join(wanted)}, as you asked.")
    if "search" in sources:
        out.append("Its plot matches the words of your request.")
    rating = fact.get("imdb_rating")
    if rating is not None and rating >= GOOD_IMDB:
        out.append(f"Rated {rating:g}/10 on IMDb.")
    if ENGINE_SOURCES & set(sources):
        out.append(ENGINE_REASON)
    if not out:
        out.append(template(fact, sources))
    return list(dict.fromkeys(out))[: len(LETTERS)]


def asked_genres(request_text: str, filter_genres: Collection[str]) -> set[str]:
    """The genres a request asks for: its filters' and those its words name."""
    return set(filter_genres) | set(genre_claims(request_text))


class ReasonChoice(BaseModel):
    picks: str  # one letter per movie, in order; ``_form`` constrains each position


def _form(counts: Sequence[int]) -> type[ReasonChoice]:
    """The typed form: one string whose i-th letter is one of movie i's reasons (a pattern per
    position, so the grammar admits only each movie's own letters; a string of letters costs
    a few tokens where one key per movie cost ~12 each with the grammar's whitespace)."""
    pattern = "^" + "".join(f"[{LETTERS[:c]}]" for c in counts) + "$"
    picks = Annotated[str, Field(pattern=pattern, min_length=len(counts), max_length=len(counts))]
    return create_model("ReasonChoice", __base__=ReasonChoice, picks=(picks, ...))


def task(fs: Sequence[Fact], options: Sequence[Sequence[str]], request_text: str) -> str:
    """The call's own part: the request and the numbered movies with their lettered reasons
    (the instructions are ``CHOICE_TASK``, in the cached system message)."""
    request = f"Request: {request_text[:200]!r}. " if request_text else ""
    blocks = []
    for n, (f, opts) in enumerate(zip(fs, options, strict=True), start=1):
        lines = [f"{n}. {titled(f['title'], f['year'])}"]  # its genres are in the reasons
        lines += [f"   {LETTERS[i]}) {text}" for i, text in enumerate(opts)]
        blocks.append("\n".join(lines))
    return (
        f"TASK (Explanations), as described above. {request}{len(fs)} movies, so "
        f"{len(fs)} letters:\n" + "\n".join(blocks)
    )


def choose(
    ctx: ARAGContext,
    state: ARAGState,
    fs: Sequence[Fact],
    options: Sequence[Sequence[str]],
    request_text: str,
    config,
) -> list[str]:
    """One sentence per fact: the only reason where there is one, else the model's pick among
    them (one call for all; raises ``RecagentsError`` when the LLM fails)."""
    open_ = [n for n, opts in enumerate(options) if len(opts) > 1]
    picks = {n: 0 for n in range(len(fs))}
    if open_:
        form = _form([len(options[n]) for n in open_])
        value = ask(
            ctx,
            state,
            form,
            task([fs[n] for n in open_], [options[n] for n in open_], request_text),
            config,
            max_tokens=2 * len(open_) + 16,
            candidates=False,
            schema_note=False,
            compact=True,
        )
        for letter, n in zip(value.picks, open_, strict=True):
            picks[n] = LETTERS.index(letter)
    return [options[n][picks[n]] for n in range(len(fs))]
