"""The graph-enhanced text embeddings' math against numbers worked out by hand."""

from __future__ import annotations

from math import sqrt

import numpy as np
import pytest

from recagents.errors import InvalidArgumentError
from recagents.recommender.graph_text import (
    blend,
    check_alpha,
    liked_weights,
    propagate,
    rank,
    weighted_mean,
)

# Items A=[1,0], B=[0,1], C=[1,1]; user 1 rated A and B (B twice: one edge), user 2 rated A; C
# has no rating. Degrees: u1 2, u2 1, A 2, B 1. Normalised edges: u1-A 1/sqrt(2*2) = 1/2,
# u1-B 1/sqrt(2*1), u2-A 1/sqrt(1*2). Users start as the mean of their items: u1 = [1/2, 1/2],
# u2 = [1, 0].
TEXT = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
IDS = np.array([10, 20, 30])
USERS = np.array([1, 1, 1, 2])
ITEMS = np.array([10, 20, 20, 10])
r2 = 1 / sqrt(2)
# layer 1 (items from layer-0 users): A = 1/2 u1 + r2 u2, B = r2 u1
A1 = [0.5 * 0.5 + r2 * 1.0, 0.5 * 0.5 + r2 * 0.0]
B1 = [r2 * 0.5, r2 * 0.5]
# layer 1 users from layer-0 items: u1 = 1/2 A + r2 B = [1/2, r2], u2 = r2 A = [r2, 0]
# layer 2 items: A = 1/2 [1/2, r2] + r2 [r2, 0] = [1/4 + 1/2, r2/2], B = r2 [1/2, r2]
A2 = [0.25 + 0.5, r2 / 2]
B2 = [r2 / 2, 0.5]


def test_zero_layers_is_the_text():
    np.testing.assert_allclose(propagate(TEXT, IDS, USERS, ITEMS, 0), TEXT)


def test_one_layer_by_hand():
    out = propagate(TEXT, IDS, USERS, ITEMS, 1)
    np.testing.assert_allclose(out[0], [(1 + A1[0]) / 2, (0 + A1[1]) / 2], rtol=1e-6)
    np.testing.assert_allclose(out[1], [(0 + B1[0]) / 2, (1 + B1[1]) / 2], rtol=1e-6)
    np.testing.assert_allclose(out[2], [1.0, 1.0])  # nobody rated C: its text


def test_two_layers_by_hand():
    out = propagate(TEXT, IDS, USERS, ITEMS, 2)
    np.testing.assert_allclose(out[0], [(1 + A1[0] + A2[0]) / 3, (A1[1] + A2[1]) / 3], rtol=1e-6)
    np.testing.assert_allclose(out[1], [(B1[0] + B2[0]) / 3, (1 + B1[1] + B2[1]) / 3], rtol=1e-6)
    np.testing.assert_allclose(out[2], [1.0, 1.0])


def test_pairs_on_items_without_text_are_ignored():
    more = propagate(TEXT, IDS, np.append(USERS, 2), np.append(ITEMS, 99), 2)
    np.testing.assert_allclose(more, propagate(TEXT, IDS, USERS, ITEMS, 2))


def test_user_vector_is_the_rating_weighted_mean_of_liked_items():
    liked = liked_weights({10: 5, 20: 4, 30: 2}, 4)
    assert liked == {10: 5.0, 20: 4.0}
    vectors = {10: np.array([1.0, 0.0]), 20: np.array([0.0, 1.0])}
    np.testing.assert_allclose(weighted_mean(vectors, liked), [5 / 9, 4 / 9])
    assert weighted_mean(vectors, {99: 5.0}) is None


def test_blend_normalises_each_side():
    user, query = np.array([3.0, 0.0]), np.array([0.0, 0.5])
    np.testing.assert_allclose(blend(user, query, 0.25), [0.75, 0.25])
    np.testing.assert_allclose(blend(user, None, 0.25), [1.0, 0.0])
    np.testing.assert_allclose(blend(None, query, 0.25), [0.0, 1.0])
    assert blend(None, None, 0.5) is None


def test_rank_excludes_and_breaks_ties_by_id():
    matrix = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert rank(matrix, IDS, np.array([1.0, 0.0]), 3) == [10, 20, 30]
    assert rank(matrix, IDS, np.array([1.0, 0.0]), 2, exclude={10}) == [20, 30]


@pytest.mark.parametrize("bad", [-0.1, 1.01, True, "0.5", float("nan")])
def test_alpha_outside_0_1_is_an_error(bad):
    with pytest.raises(InvalidArgumentError, match="alpha"):
        check_alpha(bad)
