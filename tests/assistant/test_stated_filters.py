"""The plain-English rules for numeric conditions and countries (``stated_filters``).

Phrasings written for this test, not taken from any benchmark suite.
"""

from __future__ import annotations

import pytest

from recagents.assistant.plan_mode.stated_filters import (
    stated_conditions,
    stated_countries,
    unstated_thresholds,
)


def cond(request: str, threshold: float) -> dict:
    return {"request": request, "threshold": threshold}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("westerns made before the year 1960", {"release_year": [cond("lower", 1960)]}),
        ("anything since 1994 please", {"release_year": [cond("at_least", 1994)]}),
        (
            "films between 1970 and 1979",
            {"release_year": [cond("at_least", 1970), cond("at_most", 1979)]},
        ),
        ("sci-fi of the 1950s", {"release_year": [cond("at_least", 1950), cond("at_most", 1959)]}),
        ("rated better than 8 on IMDb", {"imdb_rating": [cond("higher", 8)]}),
        ("an imdb score of 6.5 or higher", {"imdb_rating": [cond("at_least", 6.5)]}),
        ("no longer than 95 minutes", {"duration_min": [cond("at_most", 95)]}),
        ("epics over three hours", {"duration_min": [cond("higher", 180)]}),
        ("at most an hour and a half", {"duration_min": [cond("at_most", 90)]}),
        ("with at least 50000 votes", {"imdb_num_reviews": [cond("at_least", 50000)]}),
        # a count or an age is not a condition on the movies
        ("give me more than 4 movies with good ratings", {}),
        ("users older than 40 liked what?", {}),
    ],
)
def test_stated_conditions(text, expected):
    assert stated_conditions(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a few Korean thrillers", ["South Korea"]),
        ("Bollywood musicals for tonight", ["India"]),
        ("anything produced in the UK", ["United Kingdom"]),
        ("German or Danish films", ["Germany", "Denmark"]),
        ("a story about an Italian chef", []),  # a character, not the movie's origin
        ("send the list from us", []),  # a pronoun
    ],
)
def test_stated_countries(text, expected):
    assert stated_countries(text) == expected


def test_unstated_thresholds_keep_derived_numbers_and_drop_invented_ones():
    args = {"genres": ["Drama"], "release_year": [cond("at_least", 1991)],
            "imdb_rating": [cond("at_least", 7)]}  # fmt: skip
    kept, notes = unstated_thresholds(args, "dramas after 1990")
    assert kept == {"genres": ["Drama"], "release_year": [cond("at_least", 1991)]}
    assert notes == ["dropped imdb_rating at_least 7 (the message gives no such number)"]
