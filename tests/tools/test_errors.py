"""Failures an LLM can act on, and filter values that look like SQL injection."""

from __future__ import annotations

import pytest

from recagents.tools.results import ToolResult


def test_unknown_genre_lists_the_valid_ones(call):
    result = call("filter_items", genres=["Horrror"])
    assert result["status"] == "failure"
    for genre in ("Horror", "Comedy", "Film-Noir", "Sci-Fi"):
        assert genre in result["message"]


def test_unknown_person_suggests_closest_names(call):
    result = call("filter_items", actors=["Tom Cruse"], directors=["Quentin Tarantinno"])
    assert result["status"] == "failure"
    assert "Tom Cruise" in result["message"] and "Quentin Tarantino" in result["message"]
    wrong_role = call("filter_items", directors=["Tom Cruise"])
    assert "credited as" in wrong_role["message"] and "actor" in wrong_role["message"]


def test_names_match_case_and_accent_insensitively(call):
    plain = call("filter_items", actors=["tcheky karyo"])
    accented = call("filter_items", actors=["Tchéky Karyo"])
    assert plain["status"] == "success" and plain["data"] == {
        **accented["data"],
        "handle": plain["data"]["handle"],
    }


def test_empty_result_says_so_and_suggests_relaxing(call):
    result = call(
        "filter_items",
        actors=["Tom Cruise"],
        genres=["Horror"],
        imdb_rating={"request": "higher", "threshold": 6},
    )
    assert result["status"] == "failure"
    assert "No item satisfies" in result["message"] and "Relax" in result["message"]
    relax = result["data"]["relaxations"]
    assert relax["without genres"] > 0 and relax["without actors"] > 0


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("recommend_items", {"user_id": 1, "k": 0}),
        ("recommend_items", {"user_id": 1, "k": 101}),
        ("popular_items", {"k": 500}),
        ("search_plots", {"query": "robots", "k": -1}),
    ],
)
def test_k_out_of_range_names_the_allowed_range(call, tool, args):
    result = call(tool, **args)
    assert result["status"] == "failure" and "1 to 100" in result["message"]


def test_argument_errors_are_failures_not_exceptions(call):
    assert "Extra inputs" in call("popular_items", k=5, colour="red")["message"]
    assert call("recommend_items", user_id="abc")["status"] == "failure"
    unknown_user = call("user_metadata", user_id=99999)
    assert unknown_user["status"] == "failure" and "1–943" in unknown_user["message"]
    unknown_item = call("item_metadata", items=[1, 99999])
    assert unknown_item["status"] == "failure" and "99999" in unknown_item["message"]
    group = call("popular_items", user_group=["toddlers"])
    assert "young_adult" in group["message"]


def test_result_shape_is_always_the_same(call):
    for result in (
        call("filter_items", genres=["Horror"]),
        call("filter_items", genres=["nope"]),
        call("like_percentage", items="C42"),
    ):
        assert ToolResult.model_validate(result)


INJECTIONS = [
    "Horror'; DROP TABLE items; --",
    "x' OR '1'='1",
    "Robert'); DELETE FROM ratings; --",
    '" OR 1=1 --',
    "%",
    "_",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_looking_values_change_nothing(call, metadata_store, value):
    before = metadata_store.counts()
    for arg in ("genres", "actors", "directors", "writers", "countries", "age_ratings"):
        result = call("filter_items", **{arg: [value]})
        assert result["status"] == "failure", (arg, value)
        assert "unknown" in result["message"] or "no " in result["message"]
    assert call("item_metadata", items=value)["status"] == "failure"
    assert call("popular_items", items=value)["status"] == "failure"
    assert call("search_plots", query=value, k=3, items=value)["status"] == "failure"
    assert metadata_store.counts() == before
