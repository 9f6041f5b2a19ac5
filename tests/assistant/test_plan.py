"""The plan schema, its references, the plan checks, grounding and the prompt catalogue."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from recagents.assistant.executor import resolve_refs
from recagents.assistant.plan_mode.plan import Plan
from recagents.assistant.plan_mode.plan_checks import (
    complete_recommendation,
    drop_ungrounded_filters,
    fix_directions,
    normalise_references,
)
from recagents.assistant.policy import asks_for_personal
from recagents.assistant.prompts import PLANNER_SYSTEM
from recagents.errors import InvalidArgumentError
from recagents.services.grounding import TitleIndex, drop_title_lists
from recagents.tools import TOOLS_BY_NAME


def test_the_plan_grammar_knows_every_tool_and_only_those():
    schema = Plan.model_json_schema()
    names = {d["properties"]["tool"]["const"] for d in schema["$defs"].values() if "tool" in
             d.get("properties", {})}  # fmt: skip
    assert names == set(TOOLS_BY_NAME)
    with pytest.raises(ValidationError):
        Plan.model_validate({"action": "run_tools", "steps": [{"tool": "drop_table", "args": {}}]})
    with pytest.raises(ValidationError):  # an argument the tool does not take
        Plan.model_validate(
            {"action": "run_tools", "steps": [{"tool": "recommend_items", "args": {"uid": 3}}]}
        )
    with pytest.raises(ValidationError):  # a bound of the tool's own schema
        Plan.model_validate(
            {"action": "run_tools",
             "steps": [{"tool": "recommend_items", "args": {"user_id": 3, "k": 0}}]}
        )  # fmt: skip
    assert all(f"- {name}(" in PLANNER_SYSTEM for name in TOOLS_BY_NAME)


def test_references_resolve_to_handles_and_fields():
    trace = [
        {"step": 1, "tool": "user_metadata", "status": "success",
         "data": {"user_id": 9, "age_group": "young_adult"}},
        {"step": 2, "tool": "filter_items", "status": "success", "data": {"handle": "C4"}},
        {"step": 3, "tool": "item_metadata", "status": "failure", "data": None},
    ]  # fmt: skip
    args = {"user_group": ["$1.age_group"], "items": "$2", "query": "plain text"}
    assert resolve_refs(args, trace) == {
        "user_group": ["young_adult"], "items": "C4", "query": "plain text",
    }  # fmt: skip
    for bad, why in (("$3", "failed"), ("$7", "has not run"), ("$1", "no candidate set")):
        with pytest.raises(InvalidArgumentError, match=why):
            resolve_refs({"items": bad}, trace)


def test_invented_filter_values_are_dropped_and_references_follow():
    calls = [
        {"tool": "filter_items", "args": {"genres": ["Comedy"], "actors": ["Tom Hanks"]}},
        {"tool": "recommend_items", "args": {"user_id": 9, "items": "$1"}},
    ]
    kept, notes = drop_ungrounded_filters(calls, "Recommend some movies to user 9")
    assert kept == [{"tool": "recommend_items", "args": {"user_id": 9}}] and len(notes) == 3
    kept, _ = drop_ungrounded_filters(calls, "funny films with Tom Hanks for user 9")
    assert kept == calls


def test_a_forgotten_recommend_step_is_added_for_the_named_user():
    calls = [{"tool": "search_plots", "args": {"query": "a heist"}}]
    done = complete_recommendation(calls, "Recommend heist films to user 12", {12})
    assert done[-1] == {"tool": "recommend_items", "args": {"user_id": 12, "k": 5, "items": "$1"}}
    assert complete_recommendation(calls, "Which films are about a heist?", set()) == calls


def test_grounding_removes_what_no_tool_returned():
    index = TitleIndex({77: "Firm, The (1993)", 161: "Top Gun (1986)", 31: "Crimson Tide (1995)"})
    text = "Try The Firm (1993). Crimson Tide is great too! Or Inception (2010).\nTop Gun rocks."
    grounded = index.ground(text, [77, 161])
    assert grounded.items == [77, 161]
    assert "Crimson" not in grounded.text and "Inception" not in grounded.text
    assert len(grounded.removed) == 2
    listed = "Here they are:\n1. The Firm (1993)\n2. Top Gun (1986)\nEnjoy!"
    assert drop_title_lists(listed, index) == "Here they are:\nEnjoy!"


def test_an_abbreviation_inside_a_title_does_not_end_the_sentence():
    index = TitleIndex({1: "People vs. Larry Flynt, The (1996)", 2: "Mr. Holland's Opus (1995)"})
    text = "Watch People vs. Larry Flynt, The (1996). Then Mr. Holland's Opus (1995)!"
    grounded = index.ground(text, [1, 2])
    assert grounded.text == text and grounded.items == [1, 2] and not grounded.removed


def test_personal_fields_need_an_explicit_request_for_one_user():
    assert asks_for_personal("What is the zip code of user 3?")
    assert not asks_for_personal("Describe user 3")
    assert not asks_for_personal("zip codes of users 1 and 2")


def test_guessed_handles_and_tool_names_become_references():
    calls = [
        {"tool": "filter_items", "args": {"genres": ["kids", "comedies"]}},
        {"tool": "popular_items", "args": {"items": "C1"}},
        {"tool": "item_metadata", "args": {"items": "popular_items", "fields": ["genres"]}},
    ]
    fixed = normalise_references(calls, known_handles=set())
    assert fixed[0]["args"]["genres"] == ["Children's", "Comedy"]
    assert fixed[1]["args"]["items"] == "$1" and fixed[2]["args"]["items"] == "$2"
    assert normalise_references(calls, known_handles={"C1"})[1]["args"]["items"] == "C1"
    own = [{"tool": "filter_items", "args": {"genres": ["Drama"], "items": "C1"}}]
    assert normalise_references(own, known_handles=set())[0]["args"] == {"genres": ["Drama"]}


def test_conditions_turn_the_way_the_text_says():
    calls = [
        {"tool": "filter_items", "args": {
            "release_year": [{"request": "at_least", "threshold": 1990}],
            "imdb_rating": [{"request": "higher", "threshold": 6}],
        }},
    ]  # fmt: skip
    fixed, notes = fix_directions(calls, "comedies from before 1990 rated higher than 6")
    assert fixed[0]["args"]["release_year"] == [{"request": "lower", "threshold": 1990}]
    assert fixed[0]["args"]["imdb_rating"] == [{"request": "higher", "threshold": 6}]
    assert len(notes) == 1


def test_the_stated_count_wins_and_default_k_fills_in():
    from recagents.assistant.plan_mode.plan_checks import fix_counts, stated_count

    assert stated_count("Recommend 3 comedies to user 17") == 3
    assert stated_count("five movies like Heat for user 2") == 5
    assert stated_count("top 10 films of 1995") == 10
    assert stated_count("what does user 17 like?") is None  # an id is not a count
    assert stated_count("movies rated above 4 stars") is None
    assert stated_count("Recommend user 17 movies") is None
    calls = [
        {"tool": "filter_items", "args": {"genres": ["Comedy"]}},
        {"tool": "recommend_items", "args": {"user_id": 17, "k": 5, "items": "$1"}},
    ]
    fixed, notes = fix_counts(calls, "Recommend 3 comedies to user 17", None)
    assert fixed[1]["args"]["k"] == 3 and notes and calls[1]["args"]["k"] == 5
    fixed, _ = fix_counts(calls, "Recommend comedies to user 17", 8)
    assert fixed[1]["args"]["k"] == 8
    assert fix_counts(calls, "Recommend comedies to user 17", None) == (calls, [])
    assert fix_counts(calls[:1], "3 comedies", None) == (calls[:1], [])
