"""Ranking metrics and bootstrap intervals against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recagents.errors import InvalidArgumentError
from recagents.eval.bootstrap import mean_ci, paired_diff, resample_indices
from recagents.eval.metrics import hit_at_k, mrr_at_k, ndcg_at_k, recall_at_k
from recagents.eval.orders import fused_order
from recagents.eval.ranking_run import sample_users
from recagents.eval.scoring import user_metrics


def test_metrics_by_hand():
    ranked, relevant = [5, 2, 9, 4], {2, 4, 7}
    assert hit_at_k(ranked, relevant, 1) == 0.0
    assert hit_at_k(ranked, relevant, 2) == 1.0
    assert mrr_at_k(ranked, relevant, 10) == 0.5
    assert recall_at_k(ranked, relevant, 4) == pytest.approx(2 / 3)
    # hits at ranks 2 and 4; ideal: 3 relevant at ranks 1..3
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, relevant, 10) == pytest.approx(dcg / ideal)
    # at k = 2 the ideal DCG counts min(|relevant|, k) = 2 items
    assert ndcg_at_k(ranked, relevant, 2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )
    m = user_metrics(ranked, relevant)
    assert set(m) == {"ndcg@5", "ndcg@10", "hit@5", "hit@10", "mrr@10", "recall@10"}
    assert m["hit@5"] == 1.0 and m["mrr@10"] == 0.5


def test_ci_contains_the_mean_and_is_reproducible():
    values = [0.0, 0.2, 0.9, 0.4, 1.0, 0.0, 0.3]
    idx = resample_indices(len(values), 1000, seed=3)
    ci = mean_ci(values, idx)
    assert ci["mean"] == pytest.approx(np.mean(values))
    assert 0.0 <= ci["lo"] <= ci["mean"] <= ci["hi"] <= 1.0
    assert ci == mean_ci(values, resample_indices(len(values), 1000, seed=3))
    assert ci != mean_ci(values, resample_indices(len(values), 1000, seed=4))


def test_ci_of_constant_and_of_two_values():
    idx = resample_indices(4, 500, seed=0)
    assert mean_ci([0.25] * 4, idx) == {"mean": 0.25, "lo": 0.25, "hi": 0.25}
    # two users, 0 and 1: the resampled means are 0, 0.5 or 1 (p = 1/4, 1/2, 1/4)
    ci = mean_ci([0.0, 1.0], resample_indices(2, 2000, seed=0))
    assert (ci["lo"], ci["mean"], ci["hi"]) == (0.0, 0.5, 1.0)


def test_paired_differences():
    a = [0.1, 0.5, 0.3, 0.8]
    idx = resample_indices(len(a), 1000, seed=1)
    same = paired_diff(a, list(a), idx)
    assert (same["mean"], same["lo"], same["hi"], same["significant"]) == (0.0, 0.0, 0.0, False)
    shifted = paired_diff([x + 0.1 for x in a], a, idx)  # the same shift for every user
    assert shifted["mean"] == pytest.approx(0.1)
    assert shifted["lo"] == pytest.approx(0.1) and shifted["hi"] == pytest.approx(0.1)
    assert shifted["significant"]
    noisy = paired_diff([1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], idx)
    assert noisy["lo"] < 0 < noisy["hi"] and not noisy["significant"]
    with pytest.raises(InvalidArgumentError):
        paired_diff([1.0], [1.0, 2.0], idx)


def test_no_users_gives_no_interval():
    assert mean_ci([], resample_indices(0, 10)) == {"mean": None, "lo": None, "hi": None}
    with pytest.raises(InvalidArgumentError):
        mean_ci([1.0, 2.0], resample_indices(3, 10))


def test_user_sample_is_seeded_and_skips_users_without_targets():
    targets = {u: ({u} if u % 3 else set()) for u in range(1, 31)}
    first = sample_users(targets, 5, seed=7)
    assert first == sample_users(targets, 5, seed=7) == sorted(first)
    assert all(targets[u] for u in first)
    assert sample_users(targets, 1000, seed=7) == [u for u in range(1, 31) if u % 3]


def test_fused_order_matches_the_weights():
    parts = ([3, 1], [1, 2, 3, 4], [9])  # LLM order, accepted in base order, rejected
    assert fused_order(parts, 1.0, 60) == [3, 1, 2, 4, 9]  # pure LLM order, filled from base
    assert fused_order(parts, 0.0, 60) == [1, 2, 3, 4, 9]  # the base order
    assert fused_order(([], [1, 2], []), 0.5, 60) == [1, 2]  # no LLM ranking: the base order
