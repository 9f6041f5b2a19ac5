"""User Understanding's profile is checked against the ratings the model was shown, and its form
asks for the session intent only when the request says something."""

from __future__ import annotations

from recagents.agents.user_understanding import TasteProfile, UserProfile, check_profile

HISTORY = [
    {"item_id": 1, "title": "Fargo (1996)", "rating": 5},
    {"item_id": 2, "title": "Replacement Killers, The (1998)", "rating": 1},
    {"item_id": 3, "title": "Star Trek: The Motion Picture (1979)", "rating": 4},
    {"item_id": 4, "title": "Sabrina (1995)", "rating": 3},
]


def test_likes_and_dislikes_that_the_ratings_contradict_are_dropped():
    profile = {
        "long_term": "crime and science fiction",
        "likes": ["Fargo", "Replacement Killers, The"],  # the second was rated 1/5
        "dislikes": ["Star Trek: The Motionpic"],  # cut at 24 characters; rated 4/5
    }
    checked, dropped = check_profile(profile, HISTORY)
    assert checked["likes"] == ["Fargo"] and checked["dislikes"] == []
    assert checked["long_term"] == profile["long_term"]
    assert len(dropped) == 2 and all("/5" in why for why in dropped)


def test_phrases_that_name_no_rated_movie_and_true_ones_are_kept():
    profile = {"long_term": "x", "likes": ["dark comedies", "Sabrina"],
               "dislikes": ["Replacement Killers"]}  # fmt: skip
    checked, dropped = check_profile(profile, HISTORY)
    assert checked == profile and dropped == []


def test_the_session_intent_is_asked_only_with_a_request():
    assert "session_intent" not in TasteProfile.model_json_schema()["properties"]
    assert "session_intent" in UserProfile.model_json_schema()["required"]
