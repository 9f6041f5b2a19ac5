"""Factorised engines served from Qdrant: top-k equals the score matrix's exact top-k, payload
filters select what the SQL filters select, and the two-tower engine trains on the shared split
and serves cold users and items from their features."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from qdrant_client import models as qm

from recagents.errors import EmptyResultError
from recagents.recommender.export import factorises
from recagents.recommender.inference import Recommender
from recagents.recommender.split import HistoryView, Split
from recagents.recommender.train import checkpoint_path, split_path, train_engine
from recagents.services import ServiceContext
from recagents.services.recommend import recommend_filtered
from recagents.services.requests import FilterRequest, RecommendRequest
from recagents.settings import engine_name
from recagents.stores.engine_vectors import EngineVectors, NoVectorsError, payload_conditions
from recagents.stores.metadata.item_filters import ItemFilter, NumericCondition
from recagents.stores.metadata.models import Role
from recagents.stores.metadata.names import fold

# short schedules: what is tested is the serving path, not the models' quality
SHORT = {"LightGCN": {"epochs": 2}, "TwoTower": {"epochs": 2, "text_features": False}}
USERS = list(range(1, 944, 19))  # 50 users


@pytest.fixture(scope="module")
def engines(tool_settings, tool_recommender):
    """BPR (the session's), LightGCN and the two-tower engine, trained into the same data dir."""
    metrics = {
        name: train_engine(tool_settings, name, overrides=over, show_progress=False)
        for name, over in SHORT.items()
    }
    recs = {"BPR": tool_recommender}
    recs.update({name: Recommender.load(tool_settings, name) for name in SHORT})
    return recs, metrics


@pytest.fixture
def index(request, engines, tool_settings, metadata_store):
    recs, _ = engines
    vectors = EngineVectors.open(tool_settings, recs[request.param], metadata_store.filter_payloads)
    yield vectors
    vectors.close()


def assert_same_ranking(fast, exact, rtol=1e-5):
    """Equal lists, except that two items whose exact scores tie (to float rounding) may swap."""
    assert len(fast.items) == len(exact.items)
    scale = max(abs(s.score) for s in exact.items) or 1.0
    for got, want in zip(fast.items, exact.items, strict=True):
        assert abs(got.score - want.score) <= rtol * scale, (got, want)
        if got.item_id != want.item_id:  # only a tie may reorder
            assert want.item_id in fast.item_ids
    assert set(fast.item_ids) == set(exact.item_ids) or all(
        abs(a.score - b.score) <= rtol * scale for a, b in zip(fast.items, exact.items, strict=True)
    )


@pytest.mark.parametrize("index", ["BPR", "LightGCN", "TwoTower"], indirect=True)
def test_vector_path_equals_exact_top_k(index, engines, tool_settings, metadata_store):
    payloads = metadata_store.filter_payloads()
    rec = engines[0][index.rec.model]
    assert index.count() == rec.n_items
    assert factorises(
        torch.from_numpy(rec._scores),
        torch.from_numpy(rec.user_vectors),
        torch.from_numpy(rec.item_vectors),
    )
    view = HistoryView.from_split(Split.load(split_path(tool_settings)), "test")
    candidates = list(range(1, 1683, 3))
    for uid in USERS:
        assert_same_ranking(index.top_k(uid, 10), rec.top_k(uid, 10))
        assert_same_ranking(index.top_k(uid, 20, view=view), rec.top_k(uid, 20, view=view))
        assert_same_ranking(
            index.top_k(uid, 5, candidates=candidates), rec.top_k(uid, 5, candidates=candidates)
        )
    # reopening with the same payloads finds the collection up to date: nothing is rebuilt
    again = EngineVectors.open(tool_settings, rec, payloads)
    try:
        assert again.built is False and again.count() == rec.n_items
    finally:
        again.close()


def _specs(store) -> list[ItemFilter]:
    genres = store.genre_index
    comedy, romance, horror = (genres[g][0] for g in ("comedy", "romance", "horror"))
    countries = store.distinct_values("country")
    ratings = store.distinct_values("age_rating")
    spielberg = store.people_index(Role.director)[fold("Steven Spielberg")][1]
    cruise = store.people_index(Role.actor)[fold("Tom Cruise")][1]
    num = NumericCondition
    return [
        ItemFilter(genre_ids=(comedy,)),
        ItemFilter(genre_ids=(comedy, romance)),
        ItemFilter(genre_ids=(horror,), numeric=(num("year", "lt", 1980),)),
        ItemFilter(people=((Role.director, spielberg),)),
        ItemFilter(people=((Role.actor, cruise),), numeric=(num("imdb_rating", "gt", 6),)),
        ItemFilter(countries=tuple(countries[:2]), age_ratings=tuple(ratings[:2])),
        ItemFilter(release_months=(12,), numeric=(num("duration_min", "le", 100),)),
        ItemFilter(numeric=(num("year", "eq", 1995), num("imdb_num_reviews", "ge", 1000))),
        ItemFilter(numeric=(num("imdb_rating", "ge", 7.5), num("ml_year", "gt", 1990))),
        ItemFilter(numeric=(num("year", "gt", 2100),)),  # nothing
    ]


@pytest.mark.parametrize("index", ["BPR"], indirect=True)
def test_payload_filters_equal_the_sql_filters(index, metadata_store):
    with index._client() as client:
        for spec in _specs(metadata_store):
            ids, offset = [], None
            while True:
                points, offset = client.scroll(
                    index.collection,
                    scroll_filter=qm.Filter(must=payload_conditions(spec)),
                    limit=2000,
                    offset=offset,
                )
                ids += [int(p.id) for p in points]
                if offset is None:
                    break
            assert sorted(ids) == metadata_store.filter_item_ids(spec), spec


@pytest.mark.parametrize("index", ["BPR", "TwoTower"], indirect=True)
def test_filtered_top_k_is_the_exact_top_k_within_the_sql_filter(index, metadata_store, engines):
    rec = engines[0][index.rec.model]
    for spec in _specs(metadata_store)[:5]:
        allowed = metadata_store.filter_item_ids(spec)
        for uid in USERS[:10]:
            assert_same_ranking(index.top_k(uid, 10, spec=spec), rec.top_k(uid, 10, allowed))


def test_services_rank_the_same_from_vectors_and_from_the_matrix(
    tool_settings, metadata_store, tool_recommender
):
    vec_settings = tool_settings.model_copy(update={"serving": "vectors"})
    dense = ServiceContext(
        settings=tool_settings, store=metadata_store, recommender=tool_recommender
    )
    served = ServiceContext(settings=vec_settings, store=metadata_store)
    try:
        assert isinstance(served.get_recommender(), EngineVectors)
        conditions = FilterRequest(
            genres=["Comedy"], release_year=[{"request": "lower", "threshold": 1990}]
        )
        for uid in (1, 45, 300):
            req = RecommendRequest(user_id=uid, k=10)
            a = recommend_filtered(dense, req, conditions)
            b = recommend_filtered(served, req, conditions)
            assert [i.item_id for i in a.items] == [i.item_id for i in b.items]
        nothing = FilterRequest(
            genres=["Horror"], release_year=[{"request": "higher", "threshold": 2100}]
        )
        for ctx in (dense, served):  # today's message, relaxations included
            with pytest.raises(EmptyResultError, match="No item satisfies all conditions"):
                recommend_filtered(ctx, RecommendRequest(user_id=1, k=5), nothing)
    finally:
        served.close()


def test_an_engine_without_vectors_is_refused_clearly(tool_settings, tool_recommender):
    matrix_only = copy.copy(tool_recommender)
    matrix_only.user_vectors = None
    matrix_only.model = "EASE"
    with pytest.raises(
        NoVectorsError, match="EASE has no user/item vectors.*RECAGENTS_SERVING=dense"
    ):
        EngineVectors.open(tool_settings, matrix_only, {})


def test_two_tower_trains_on_the_shared_split(engines, tool_settings):
    _, metrics = engines
    m = metrics["TwoTower"]
    assert engine_name("two_tower") == "TwoTower" and m["model"] == "TwoTower"
    assert m["epochs_run"] <= 2 and 0 < m["test"]["ndcg@10"] <= 1
    bpr, tt = (
        Split.load(split_path(tool_settings, "BPR")),
        Split.load(split_path(tool_settings, "TwoTower")),
    )
    for part in ("train", "valid", "test"):
        assert np.array_equal(bpr.part(part), tt.part(part))
    state = torch.load(checkpoint_path(tool_settings, "TwoTower"), weights_only=True)
    assert factorises(state["scores"], state["user_vectors"], state["item_vectors"])


def test_cold_users_and_items_get_recommendations_from_features(engines, tool_settings):
    rec = engines[0]["TwoTower"]
    scores = rec.fold_in_scores({50: 5.0, 172: 4.0, 181: 5.0})  # a new user: a history only
    assert len(scores) == rec.n_items - 3 and all(np.isfinite(list(scores.values())))
    assert len(set(np.round(list(scores.values()), 5))) > 100  # a ranking, not a constant
    other = rec.fold_in_scores({1: 5.0, 71: 5.0, 588: 4.0})
    assert max(scores, key=scores.get) != max(other, key=other.get) or scores != other
    # items without a training interaction embed from genres and year alone
    train_items = set(
        Split.load(split_path(tool_settings, "TwoTower")).part("train")[:, 1].tolist()
    )
    cold = [i for i in rec.item_ids if i not in train_items]
    assert len(cold) == engines[1]["TwoTower"]["cold_items"]
    cols = [int(rec._item_lookup[i]) for i in cold]
    assert cold and np.allclose(np.linalg.norm(rec.item_vectors[cols], axis=1), 1.0, atol=1e-4)
    top = rec.top_k(1, 50, candidates=cold + [1, 2, 3])
    assert len(top.items) >= 1 and all(np.isfinite(s.score) for s in top.items)


# --- the ranking stage ---------------------------------------------------------------------------
def test_the_ranking_stage_reorders_the_retrieved_candidates(
    tool_settings, tool_recommender, tmp_path
):
    from recagents.recommender.reranker import RankingConfig, Reranker, TwoStage, rank_all

    config = RankingConfig(enabled=True, candidates=30, max_iter=20)
    split = Split.load(split_path(tool_settings))
    ranker = Reranker.fit(tool_recommender, split, config)
    two_stage = TwoStage(tool_recommender, ranker)
    view = HistoryView.from_split(split, "test")
    for uid in USERS[:10]:
        retrieved = tool_recommender.top_k(uid, 30, view=view)
        top = two_stage.top_k(uid, 10, view=view)
        assert len(top.items) == 10 and set(top.item_ids) <= set(retrieved.item_ids)
        assert not set(top.item_ids) & tool_recommender.seen_items(uid, view)
        probs = [s.score for s in top.items]
        assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    ranked = rank_all(ranker, tool_recommender, USERS[:10], view, 10)
    assert ranked[USERS[0]] == two_stage.top_k(USERS[0], 10, view=view).item_ids
    # cached per checkpoint and config, and selected by configs/ranking.yaml
    (tmp_path / "ranking.yaml").write_text("enabled: true\ncandidates: 30\nmax_iter: 20\n")
    settings = tool_settings.model_copy(update={"config_dir": tmp_path})
    ctx = ServiceContext(settings=settings, store=None)
    try:
        assert isinstance(ctx.get_recommender(), TwoStage)
        assert (tool_settings.engine_dir("BPR") / "ranker.pkl").is_file()
        again = Reranker.load_or_fit(settings, tool_recommender, RankingConfig(**config.__dict__))
        assert again.trained_at == tool_recommender.trained_at
    finally:
        ctx.recommender = None
