"""Services called directly: typed results, and the same bad-input errors the tools give."""

from __future__ import annotations

import pytest

from recagents.errors import (
    EmptyResultError,
    InvalidArgumentError,
    NotFoundError,
    UnknownItemError,
    UnknownUserError,
)
from recagents.services import catalog, popularity, recommend, social, users
from recagents.services.requests import (
    FilterRequest,
    HistoryRequest,
    ItemMetadataRequest,
    PopularRequest,
    RecommendRequest,
    SearchRequest,
    SimilarUsersRequest,
    UserMetadataRequest,
)
from recagents.services.results import (
    FilteredItems,
    History,
    LikePercentage,
    PopularItems,
    Recommendation,
    UserProfile,
)


def test_typed_results(tool_ctx, vector_items):
    rec = recommend.recommend(tool_ctx, RecommendRequest(user_id=23, k=5))
    assert isinstance(rec, Recommendation) and len(rec.items) == 5 and not rec.fallback
    found = catalog.filter_items(tool_ctx, FilterRequest(genres=["Film-Noir"]))
    assert isinstance(found, FilteredItems) and found.conditions == ["genre=Film-Noir"]
    within = recommend.recommend(tool_ctx, RecommendRequest(user_id=23, k=3), found.item_ids)
    assert set(within.item_ids) <= set(found.item_ids)
    assert isinstance(popularity.popular_items(tool_ctx, PopularRequest(k=3)), PopularItems)
    assert isinstance(popularity.like_percentage(tool_ctx, [1, 2]), LikePercentage)
    assert isinstance(users.user_profile(tool_ctx, UserMetadataRequest(user_id=5)), UserProfile)
    assert isinstance(users.recent_interactions(tool_ctx, HistoryRequest(user_id=5)), History)
    hits = catalog.search_plots(tool_ctx, SearchRequest(query="a detective", k=3))
    assert len(hits) == 3 and {h.item_id for h in hits} <= vector_items
    meta = catalog.item_metadata(tool_ctx, [77, 1], ItemMetadataRequest(fields=["title"]))
    assert [m["item_id"] for m in meta] == [77, 1] and set(meta[0]) == {"item_id", "title"}
    sims = social.similar_users(tool_ctx, SimilarUsersRequest(user_id=45, n=3))
    assert len(sims) == 3 and all(s.similarity > 0 for s in sims)


@pytest.mark.parametrize(
    ("request_type", "kwargs", "tool", "fragment"),
    [
        (RecommendRequest, {"user_id": 1, "k": 0}, "recommend_items", "1 to 100"),
        (RecommendRequest, {"user_id": 1, "k": 101}, "recommend_items", "1 to 100"),
        (PopularRequest, {"k": 500}, "popular_items", "1 to 100"),
        (SearchRequest, {"query": "x", "k": -1}, "search_plots", "1 to 100"),
        (SearchRequest, {"query": "x", "mode": "bm25"}, "search_plots", "'keyword' or 'hybrid'"),
        (HistoryRequest, {"user_id": 1, "n": 0}, "recent_interactions", "1 to 200"),
        (PopularRequest, {"k": 5, "colour": "red"}, "popular_items", "Extra inputs"),
    ],
)
def test_bounds_are_one_validator_for_services_and_tools(
    call, request_type, kwargs, tool, fragment
):
    with pytest.raises(InvalidArgumentError) as err:
        request_type.of(**kwargs)
    result = call(tool, **kwargs)
    assert result["status"] == "failure" and fragment in result["message"]
    assert fragment in str(err.value)
    # the schema the LLM sees carries the same bound
    schema = request_type.model_json_schema()["properties"]
    if "k" in kwargs and "k" in schema:
        assert schema["k"]["minimum"] == 1 and schema["k"]["maximum"] == 100


def test_domain_errors_match_the_tool_failures(tool_ctx, call):
    cases = [
        (
            lambda: users.user_profile(tool_ctx, UserMetadataRequest(user_id=99999)),
            UnknownUserError,
            ("user_metadata", {"user_id": 99999}),
        ),
        (
            lambda: catalog.item_metadata(tool_ctx, [1, 99999]),
            UnknownItemError,
            ("item_metadata", {"items": [1, 99999]}),
        ),
        (
            lambda: catalog.filter_items(tool_ctx, FilterRequest(genres=["Horrror"])),
            NotFoundError,
            ("filter_items", {"genres": ["Horrror"]}),
        ),
        (
            lambda: catalog.filter_items(
                tool_ctx, FilterRequest(actors=["Tom Cruise"], genres=["Horror"])
            ),
            EmptyResultError,
            ("filter_items", {"actors": ["Tom Cruise"], "genres": ["Horror"]}),
        ),
        (
            lambda: popularity.popular_items(tool_ctx, PopularRequest(user_group=["toddlers"])),
            InvalidArgumentError,
            ("popular_items", {"user_group": ["toddlers"]}),
        ),
    ]
    for run, error, (tool, args) in cases:
        with pytest.raises(error) as err:
            run()
        result = call(tool, **args)
        assert result["status"] == "failure" and result["message"] == str(err.value)
