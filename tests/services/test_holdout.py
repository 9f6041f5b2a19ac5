"""The holdout views: BPR's own test metrics through our service, and nothing hidden leaks."""

from __future__ import annotations

import numpy as np
import pytest

from recagents.eval.metrics import mean_metrics, ndcg_at_k, recall_at_k
from recagents.recommender.split import HistoryView, Split
from recagents.recommender.train import read_metrics, split_path
from recagents.services import ServiceContext
from recagents.services.popularity import like_percentage, popular_items
from recagents.services.recommend import recommend
from recagents.services.requests import (
    FavouritesRequest,
    HistoryRequest,
    PopularRequest,
    RecommendRequest,
    SimilarUsersRequest,
    UserMetadataRequest,
)
from recagents.services.social import similar_users, similar_users_favourites
from recagents.services.users import recent_interactions, user_profile

USERS = (1, 13, 94, 276, 405, 655, 846)


@pytest.fixture(scope="module")
def split(tool_settings, tool_recommender) -> Split:
    return Split.load(split_path(tool_settings))


def holdout_ctx(settings, store, recommender, holdout) -> ServiceContext:
    return ServiceContext(settings=settings, store=store, recommender=recommender, holdout=holdout)


@pytest.fixture
def test_ctx(tool_settings, metadata_store, tool_recommender):
    return holdout_ctx(tool_settings, metadata_store, tool_recommender, "test")


def test_the_split_is_recboles(split, ratings_df):
    counts = split.counts()
    assert sum(counts.values()) == len(ratings_df) == 100_000
    assert counts["test"] == pytest.approx(10_000, rel=0.1)
    everything = np.concatenate([split.train, split.valid, split.test])
    assert len({(u, i) for u, i in everything.tolist()}) == 100_000  # disjoint parts


def test_bpr_test_metrics_through_our_service(tool_settings, tool_recommender, test_ctx, split):
    """Full ranking for every test user with the test view = RecBole's test evaluation."""
    want = read_metrics(tool_settings)["test"]
    targets = split.per_user("test")
    rankings = {u: recommend(test_ctx, RecommendRequest(user_id=u, k=10)).item_ids for u in targets}
    got = mean_metrics(rankings, targets, ks=(10,), names=("ndcg", "recall"))
    assert got["ndcg@10"] == pytest.approx(want["ndcg@10"], abs=0.002)
    assert got["recall@10"] == pytest.approx(want["recall@10"], abs=0.002)
    # and the product view masks the test items, so the same ranking scores ~nothing
    product = ServiceContext(tool_settings, test_ctx.store, recommender=tool_recommender)
    masked = {u: recommend(product, RecommendRequest(user_id=u, k=10)).item_ids for u in USERS}
    assert all(not set(masked[u]) & targets[u] for u in USERS)
    assert np.mean([ndcg_at_k(rankings[u], targets[u], 10) for u in USERS]) >= 0
    assert recall_at_k([1, 2], {2}, 2) == 1.0


@pytest.mark.parametrize("holdout", ["test", "valid"])
def test_nothing_hidden_is_returned_or_counted(
    tool_settings, metadata_store, tool_recommender, split, ratings_df, holdout
):
    ctx = holdout_ctx(tool_settings, metadata_store, tool_recommender, holdout)
    hidden_parts = ["test"] if holdout == "test" else ["valid", "test"]
    hidden = {p: split.per_user(p) for p in hidden_parts}
    for uid in USERS:
        hidden_items = set().union(*(h.get(uid, set()) for h in hidden.values()))
        assert hidden_items
        rated = set(ratings_df.loc[ratings_df.user_id == uid, "item_id"])
        visible = rated - hidden_items
        assert {r["item_id"] for r in ctx.history(uid)} == visible
        history = recent_interactions(ctx, HistoryRequest(user_id=uid, n=200))
        assert {i.item_id for i in history.items} <= visible and history.total == len(visible)
        assert len(history.items) == min(200, len(visible))
        assert user_profile(ctx, UserMetadataRequest(user_id=uid)).n_ratings == len(visible)
        # seen-masking: visible history is masked, hidden items are rankable again
        assert ctx.get_recommender().seen_items(uid, ctx.view) == visible
        rec = recommend(ctx, RecommendRequest(user_id=uid, k=100)).item_ids
        assert not set(rec) & visible
        fav = similar_users_favourites(ctx, FavouritesRequest(user_id=uid, k=50, n_users=10))
        assert not {f.item_id for f in fav.items} & visible
        for neighbour in similar_users(ctx, SimilarUsersRequest(user_id=uid, n=5)):
            assert neighbour.user_id != uid
    # Swing was built from visible ratings only
    swing = ctx.get_swing()
    for uid in USERS[:3]:
        assert swing.seen_items(uid) == set(ratings_df.loc[ratings_df.user_id == uid, "item_id"]) - set().union(*(h.get(uid, set()) for h in hidden.values()))  # fmt: skip
    # popularity and like % count visible ratings only
    view = ctx.view
    keep = view.visible_mask(ratings_df.user_id.values, ratings_df.item_id.values)
    visible_df = ratings_df[keep]
    counts = visible_df.item_id.value_counts()
    top = popular_items(ctx, PopularRequest(k=10)).items
    assert [p.ratings for p in top] == sorted(counts.values, reverse=True)[:10]
    assert all(p.ratings == counts[p.item_id] for p in top)
    items = [50, 100, 181, 258]
    share = like_percentage(ctx, items)
    assert share.users == visible_df[visible_df.item_id.isin(items)].user_id.nunique()
    assert share.users < ratings_df[ratings_df.item_id.isin(items)].user_id.nunique()


def test_group_popularity_subtracts_hidden_ratings(test_ctx, users_df, ratings_df):
    keep = test_ctx.view.visible_mask(ratings_df.user_id.values, ratings_df.item_id.values)
    seniors = set(users_df.loc[users_df.age >= 61, "user_id"])
    visible = ratings_df[keep & ratings_df.user_id.isin(seniors)]
    counts = visible.item_id.value_counts()
    top = popular_items(test_ctx, PopularRequest(k=5, user_group=["senior"])).items
    assert [p.ratings for p in top] == sorted(counts.values, reverse=True)[:5]


def test_the_product_view_hides_nothing(tool_settings, metadata_store, tool_recommender):
    ctx = holdout_ctx(tool_settings, metadata_store, tool_recommender, "none")
    assert not ctx.view.hides_anything and isinstance(ctx.view, HistoryView)
    assert len(ctx.history(1)) == 272
