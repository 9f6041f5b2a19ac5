"""Swing similarity: the vectorised rows equal the formula computed pair by pair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recagents.errors import InvalidArgumentError, UnknownUserError
from recagents.recommender.swing import SwingIndex


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(7)
    pairs = sorted({(u, i) for u in range(1, 16) for i in range(1, 21) if rng.random() < 0.35})
    users = np.array([p[0] for p in pairs])
    items = np.array([p[1] for p in pairs])
    ratings = rng.integers(1, 6, len(pairs))
    return users, items, ratings


def brute_swing(users, items, u, v, alpha, gamma):
    by_user = {x: set(items[users == x]) for x in set(users)}
    by_item = {i: set(users[items == i]) for i in set(items)}
    total = 0.0
    for a, b in itertools.combinations(sorted(by_user[u] & by_user[v]), 2):
        w = (len(by_item[a]) * len(by_item[b])) ** -0.5
        total += w / (alpha + len(by_item[a] & by_item[b]))
    return total / (len(by_user[u]) * len(by_user[v])) ** gamma


@pytest.mark.parametrize(("alpha", "gamma"), [(1.0, 0.0), (0.5, 0.5), (2.0, 1.0)])
def test_rows_equal_the_formula(small, alpha, gamma):
    users, items, ratings = small
    index = SwingIndex(users, items, ratings, alpha=alpha, activity_exponent=gamma)
    for u in (1, 4, 9):
        row = index.similarity_row(u)
        want = [
            0.0 if v == u else brute_swing(users, items, u, v, alpha, gamma) for v in index.users
        ]
        np.testing.assert_allclose(row, want, rtol=1e-5, atol=1e-7)


def test_similar_users_and_favourites(small):
    users, items, ratings = small
    index = SwingIndex(users, items, ratings)
    top = index.similar_users(3, n=4)
    sims = [t.similarity for t in top]
    assert sims == sorted(sims, reverse=True) and 3 not in [t.user_id for t in top]
    fav = index.favourite_items({t.user_id: t.similarity for t in top}, n=50, exclude_seen_by=3)
    seen = set(items[users == 3])
    for f in fav:
        assert f.item_id not in seen
        likers = {t.user_id for t in top} & set(users[(items == f.item_id) & (ratings >= 4)])
        assert f.liked_by == len(likers) > 0
        assert f.score == pytest.approx(sum(t.similarity for t in top if t.user_id in likers))


def test_bad_input():
    with pytest.raises(InvalidArgumentError):
        SwingIndex(np.array([1]), np.array([1, 2]), np.array([5]))
    index = SwingIndex(np.array([1, 2]), np.array([1, 1]), np.array([5, 4]))
    with pytest.raises(UnknownUserError, match="valid ids are 1–2"):
        index.similar_users(3)
    with pytest.raises(InvalidArgumentError):
        index.similar_users(1, n=0)
