"""The explanation checker: a sentence that claims a genre the movie lacks, names a title from
nowhere, gives a wrong year or contradicts the request is caught; a true one passes."""

from __future__ import annotations

import pytest

from recagents.agents.explanations import check, template
from recagents.services.grounding import TitleIndex
from tests.agents.conftest import fact

TITLES = {
    1: "Titanic (1997)",
    2: "Star Wars (1977)",
    3: "English Patient, The (1996)",
    4: "Casablanca (1942)",
    5: "Scream (1996)",
}
GENRES = {
    1: ["Action", "Drama", "Romance"],
    2: ["Action", "Adventure", "Romance", "Sci-Fi", "War"],
    3: ["Drama", "Romance", "War"],
    4: ["Drama", "Romance", "War"],
    5: ["Horror", "Thriller"],
}
YEARS = {1: 1997, 2: 1977, 3: 1996, 4: 1942, 5: 1996}
LIKED = {"item_id": 3, "title": TITLES[3], "year": 1996, "genres": GENRES[3], "rating": 5}
TITANIC = fact(1, TITLES[1], 1997, GENRES[1], LIKED, ["Drama", "Romance"])


def verdict(text: str, *, allowed=(1, 2, 3), request_text: str = "", request_genres=()):
    return check(
        text,
        TITANIC,
        index=TitleIndex(TITLES),
        allowed_ids=set(allowed),
        named_genres=GENRES,
        named_years=YEARS,
        request_text=request_text,
        request_genres=set(request_genres),
    )


@pytest.mark.parametrize(
    "text",
    [
        "A sweeping romance and drama, like The English Patient, which you rated 5/5.",
        "An action-filled love story from 1997 with a strong dramatic core.",
        "Like Star Wars (1977), a sci-fi adventure you loved, it mixes action and romance.",
        "A fine pick for this user's taste.",
    ],
)
def test_a_true_explanation_passes(text):
    assert verdict(text) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Titanic is a drama, romance and thriller.", "Thriller"),
        ("A chilling horror story at sea.", "Horror"),
        ("As funny as any comedy you have rated.", "Comedy"),
        ("You will love it as much as Casablanca.", "Casablanca"),
        ("Just like Some Invented Movie (1988), it is epic.", "does not have"),
        ("A 1985 classic of the big screen.", "1985"),
        ("It is not a romance, but an epic.", "denies the genre Romance"),
    ],
)
def test_a_false_explanation_is_caught(text, why):
    found = verdict(text)
    assert found is not None and why in found


def test_an_explanation_that_contradicts_the_request_is_caught():
    assert "request asks for" in verdict(
        "Not a comedy, but a grand epic.", request_text="a comedy please",
        request_genres={"Comedy"},
    )  # fmt: skip
    assert verdict("An epic love story.", request_text="x") is None
    assert verdict("   ") == "empty"


def test_fragments_and_sentences_cut_at_the_cap_are_caught():
    """A small model can stop after a word, or run into the grammar's length cap mid-title."""
    assert verdict("genres.") == "a fragment, not a sentence"
    assert verdict("and") == "a fragment, not a sentence"
    cut = "Toy Story (1995), genres: Animation, Children's, Comedy; the user liked Rock, The (1"
    assert check(
        cut, TITANIC, index=TitleIndex(TITLES), allowed_ids={1, 2, 3}, named_genres=GENRES,
        named_years=YEARS, max_chars=len(cut),
    ) == "cut off at the length cap"  # fmt: skip
    whole = "A sweeping romance, like The English Patient."
    assert check(
        whole, TITANIC, index=TitleIndex(TITLES), allowed_ids={1, 2, 3}, named_genres=GENRES,
        named_years=YEARS, max_chars=140,
    ) is None  # fmt: skip


def test_a_named_history_title_allows_its_own_genres_and_year():
    text = "Star Wars (1977) fans like you get action here too."  # Star Wars: a candidate/history
    assert verdict(text) is None
    assert verdict(text, allowed=(1, 3)) is not None  # not in the history nor a candidate


def test_the_template_is_true_by_construction():
    text = template(TITANIC)
    assert "Drama and Romance" in text and "English Patient" in text
    assert verdict(text) is None
    alone = fact(1, TITLES[1], 1997, GENRES[1])
    assert verdict(template(alone, ["search"])) is None


def test_the_year_in_a_title_wins_over_a_mismatched_stored_year():
    # a remake matched during enrichment: the stored year is the remake's (2014), the
    # MovieLens title keeps the film's own (1991); the prompt shows it once, the checker allows it
    from recagents.agents.prompting import titled

    assert titled("Silence of the Lambs, The (1991)", 2014) == "Silence of the Lambs, The (1991)"
    assert titled("Heat", 1995) == "Heat (1995)"
    lambs = fact(6, "Silence of the Lambs, The (1991)", 2014, ["Drama", "Thriller"])
    text = "A tense 1991 thriller with a strong dramatic core."
    assert check(text, lambs, index=TitleIndex({**TITLES, 6: lambs["title"]}), allowed_ids={6},
                 named_genres=GENRES, named_years=YEARS) is None  # fmt: skip


def test_a_shared_genre_claimed_where_none_is_shared_is_caught():
    scream = fact(5, TITLES[5], 1996, GENRES[5], LIKED)
    text = "A horror film that shares its genre with English Patient, The, which you loved."
    assert check(text, scream, index=TitleIndex(TITLES), allowed_ids={3, 5},
                 named_genres=GENRES, named_years=YEARS) is not None  # fmt: skip
    ok = "A horror film from 1996, close to what fans of English Patient, The rate highly."
    assert check(ok, scream, index=TitleIndex(TITLES), allowed_ids={3, 5},
                 named_genres=GENRES, named_years=YEARS) is None  # fmt: skip
