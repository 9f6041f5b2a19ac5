"""Explanations chosen among true reasons: every reason the code writes passes the checker, the
typed form admits only each movie's own letters, and the choice maps back to the sentences."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from langchain_core.messages import BaseMessage
from pydantic import ValidationError

from recagents.agents.config import AgentsConfig
from recagents.agents.explanations import ENGINE_REASON, Fact, check, crew_in_common
from recagents.agents.reasons import LETTERS, _form, asked_genres, choose, reasons, task
from recagents.services.grounding import TitleIndex
from tests.agents.conftest import fact

MOVIES = [  # (id, title, genres) as the catalogue has them
    (4, "Get Shorty (1995)", ["Action", "Comedy", "Drama"]),
    (257, "Men in Black (1997)", ["Action", "Adventure", "Comedy", "Sci-Fi"]),
    (386, "Addams Family Values (1993)", ["Comedy"]),
    (3, "Four Rooms (1995)", ["Thriller"]),
]
TITLES = {i: title for i, title, _ in MOVIES}
GENRES = {i: genres for i, _, genres in MOVIES}
LIKED = {"item_id": 4, "title": TITLES[4], "year": 1995, "genres": GENRES[4], "rating": 5}
SONNENFELD = {"role": "director", "name": "Barry Sonnenfeld", "liked": LIKED}
MIB = fact(257, TITLES[257], 1997, GENRES[257], LIKED, ["Action", "Comedy"], SONNENFELD, 7.3)


def verdict(text: str, fact: Fact) -> str | None:
    return check(
        text,
        fact,
        index=TitleIndex(TITLES),
        allowed_ids={4, fact["item_id"]},
        named_genres=GENRES,
        named_years={4: 1995, 257: 1997, 386: 1993, 3: 1995},
        request_text="a sci-fi comedy",
        request_genres={"Sci-Fi", "Comedy"},
    )


def test_every_reason_is_true_and_the_template_comes_first():
    asked = asked_genres("a sci-fi comedy", [])
    assert asked == {"Sci-Fi", "Comedy"}
    options = reasons(MIB, ["bpr", "search"], asked)
    assert options[0] == "Action and Comedy, like Get Shorty (1995), which you rated 5/5."
    assert any("Barry Sonnenfeld" in o and "Get Shorty" in o for o in options)
    assert 1 < len(options) <= len(LETTERS) and len(set(options)) == len(options)
    for text in options:
        assert verdict(text, MIB) is None, text


def test_a_movie_with_nothing_in_common_keeps_the_true_fallbacks():
    alone = fact(3, TITLES[3], 1995, GENRES[3], imdb_rating=6.1)
    assert reasons(alone, ["bpr"], set()) == [ENGINE_REASON]
    assert reasons(alone, ["popularity"], set()) == [
        "Popular with many users (no personal history to go on)."
    ]
    assert asked_genres("something funny", []) == set()  # a tone is no genre


def test_the_form_admits_only_each_movies_own_letters():
    form = _form([2, 4])
    assert form.model_validate({"picks": "BD"}).picks == "BD"
    for wrong in ("CA", "A", "ABA", "ba"):
        with pytest.raises(ValidationError):
            form.model_validate({"picks": wrong})
    assert "[AB][ABCD]" in json.dumps(form.model_json_schema())  # what the grammar enforces


def test_the_choice_maps_back_and_movies_with_one_reason_ask_nothing(scripted_llm):
    calls: list[str] = []

    def reply(messages: list[BaseMessage]) -> str:
        text = str(messages[-1].content)
        calls.append(text)
        assert "2. " not in text.split("TASK", 1)[1]  # the one-reason movie is not in the form
        return json.dumps({"picks": "B"})

    handle = scripted_llm(reply)
    services = SimpleNamespace(settings=SimpleNamespace(llm_max_tokens=64))
    ctx = SimpleNamespace(llm=handle, services=services, config=AgentsConfig())
    state = {"user_block": "<user_context>\nUser 1.\n</user_context>"}
    one = fact(3, TITLES[3], 1995, GENRES[3])
    options = [["first", "second"], [ENGINE_REASON]]
    assert choose(ctx, state, [MIB, one], options, "", None) == ["second", ENGINE_REASON]
    assert len(calls) == 1 and "A) first" in calls[0] and "B) second" in calls[0]
    assert task([MIB], [options[0]], "x").count(") ") == 2


def test_crew_in_common_reads_the_store(agent_services):
    liked = [{**LIKED, "rating": 5}, {"item_id": 3, "title": TITLES[3], "year": 1995,
                                      "genres": GENRES[3], "rating": 4}]  # fmt: skip
    ctx = SimpleNamespace(services=agent_services)
    crew, imdb = crew_in_common(ctx, [257, 386], liked)
    assert crew[257]["role"] == "director" and crew[257]["liked"]["item_id"] == 4
    assert crew[257]["name"] == "Barry Sonnenfeld" == crew[386]["name"]
    assert set(imdb) >= {257, 386}
