"""Recommender: top-k properties over many users, fallback, and bad-input errors."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from recagents.errors import (
    DataError,
    InvalidArgumentError,
    NotBuiltError,
    UnknownItemError,
    UnknownUserError,
)
from recagents.recommender.inference import Recommender, get_recommender

from .conftest import MAX_K, make_settings

RNG_SEED = 7


def _check_ranked(top, k):
    scores = [item.score for item in top.items]
    ids = top.item_ids
    assert len(ids) <= k
    assert len(set(ids)) == len(ids)
    assert scores == sorted(scores, reverse=True)
    assert all(np.isfinite(scores))


def test_sizes(recommender):
    assert recommender.n_users == 943 and recommender.n_items == 1682
    assert recommender.user_ids == list(range(1, 944))
    assert recommender.item_ids == list(range(1, 1683))


def test_seen_items_are_all_ratings_of_the_full_data(recommender, ml100k_ratings):
    for user in (1, 13, 405, 943):
        assert recommender.seen_items(user) == ml100k_ratings[user]


def test_top_k_never_returns_seen_items_and_is_sorted(recommender, ml100k_ratings):
    rng = np.random.default_rng(RNG_SEED)
    for user in rng.choice(recommender.user_ids, size=300, replace=False).tolist():
        k = int(rng.integers(1, MAX_K + 1))
        top = recommender.top_k(user, k=k)
        assert not top.fallback and top.user_id == user
        _check_ranked(top, k)
        assert len(top.items) == k  # every user has far more than k unseen items
        assert not set(top.item_ids) & ml100k_ratings[user]


def test_top_k_is_the_best_unseen_items_by_score(recommender):
    for user in (1, 200, 943):
        top = recommender.top_k(user, k=20)
        unseen = set(recommender.item_ids) - recommender.seen_items(user)
        all_scores = recommender.scores(user, sorted(unseen))
        threshold = top.items[-1].score
        assert sum(score > threshold for score in all_scores.values()) < 20
        for item in top.items:
            assert all_scores[item.item_id] == pytest.approx(item.score)


def test_candidate_restriction_holds(recommender):
    rng = np.random.default_rng(RNG_SEED + 1)
    for user in rng.choice(recommender.user_ids, size=200, replace=False).tolist():
        size = int(rng.integers(1, 300))
        candidates = set(rng.choice(recommender.item_ids, size=size, replace=False).tolist())
        k = int(rng.integers(1, MAX_K + 1))
        top = recommender.top_k(user, k=k, candidates=candidates)
        _check_ranked(top, k)
        assert set(top.item_ids) <= candidates
        remaining = candidates - recommender.seen_items(user)
        assert len(top.items) == min(k, len(remaining))  # fewer only when fewer remain


def test_candidates_all_seen_give_an_empty_list(recommender):
    seen = recommender.seen_items(1)
    assert recommender.top_k(1, k=10, candidates=seen).items == []
    assert len(recommender.top_k(1, k=10, candidates=seen, exclude_seen=False).items) == 10


def test_exclude_seen_false_ranks_everything(recommender):
    top = recommender.top_k(1, k=MAX_K, exclude_seen=False)
    _check_ranked(top, MAX_K)
    assert len(top.items) == MAX_K


def test_all_users_batch_matches_single_requests(recommender):
    everyone = recommender.top_k_all_users(k=10)
    assert sorted(everyone) == recommender.user_ids
    for user in (1, 2, 500, 943):
        assert everyone[user].item_ids == recommender.top_k(user, k=10).item_ids


def test_unknown_user_gets_a_flagged_popularity_ranking(recommender, ml100k_ratings):
    top = recommender.top_k(99_999, k=10)
    assert top.fallback and top.model == "popularity" and "99999" in top.reason
    _check_ranked(top, 10)
    counts = Counter(item for items in ml100k_ratings.values() for item in items)
    expected = [item for item, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]
    assert top.item_ids == expected
    assert [item.score for item in top.items] == [float(counts[i]) for i in expected]


def test_unknown_user_fallback_respects_candidates(recommender):
    candidates = {5, 50, 500, 1000}
    top = recommender.top_k(10_000, k=3, candidates=candidates)
    assert top.fallback and len(top.items) == 3 and set(top.item_ids) <= candidates
    assert not recommender.known_user(10_000) and recommender.known_user(1)
    assert recommender.seen_items(10_000) == set()


def test_scores_match_top_k_scores(recommender):
    top = recommender.top_k(42, k=5)
    scores = recommender.scores(42, top.item_ids)
    assert scores == pytest.approx({item.item_id: item.score for item in top.items})
    assert recommender.scores(42, []) == {}


@pytest.mark.parametrize("k", [0, -3, MAX_K + 1, 10**9, 2.5, "10", True, None])
def test_bad_k_names_the_allowed_range(recommender, k):
    with pytest.raises(InvalidArgumentError, match=f"k must be an integer from 1 to {MAX_K}"):
        recommender.top_k(1, k=k)


@pytest.mark.parametrize("user", [-1, 0, "1", 1.0, None, True])
def test_malformed_user_id_is_an_error(recommender, user):
    with pytest.raises(InvalidArgumentError, match="user_id must be a positive integer"):
        recommender.top_k(user, k=5)


def test_unknown_items_in_candidates_are_listed(recommender):
    with pytest.raises(UnknownItemError, match=r"5000, 9999") as info:
        recommender.top_k(1, k=5, candidates=[1, 2, 9999, 5000])
    assert "1..1682" in str(info.value)
    with pytest.raises(UnknownItemError, match=r"\(\+2 more\)"):
        recommender.top_k(1, k=5, candidates=list(range(2000, 2007)))


@pytest.mark.parametrize("candidates", [[], set(), "123", [1, -2], [1, "2"]])
def test_malformed_candidates_are_an_error(recommender, candidates):
    with pytest.raises(InvalidArgumentError, match="candidate"):
        recommender.top_k(1, k=5, candidates=candidates)


def test_scores_of_unknown_user_or_item_are_errors(recommender):
    with pytest.raises(UnknownUserError, match="popularity"):
        recommender.scores(5000, [1])
    with pytest.raises(UnknownItemError, match="1683"):
        recommender.scores(1, [1, 1683])


def test_missing_checkpoint_says_to_run_setup(tmp_path):
    settings = make_settings(tmp_path)
    for load in (Recommender.load, get_recommender):
        with pytest.raises(NotBuiltError, match=r"recagents setup"):
            load(settings)


def test_corrupted_checkpoint_says_to_retrain(tmp_path):
    settings = make_settings(tmp_path)
    settings.checkpoint_dir.mkdir(parents=True)
    (settings.checkpoint_dir / "bpr.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="recagents train"):
        Recommender.load(settings)


def test_get_recommender_is_loaded_once(bpr_run):
    first = get_recommender(bpr_run.settings)
    assert get_recommender(bpr_run.settings) is first
    assert first.metrics == bpr_run.metrics
