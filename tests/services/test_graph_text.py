"""Graph-enhanced text retrieval over the REAL test stores: Qdrant local mode (the plot vectors of
items 1..160), the SQLite metadata store, BPR's saved split."""

from __future__ import annotations

import numpy as np
import pytest

from recagents.errors import InvalidArgumentError, UnknownUserError
from recagents.recommender.graph_text import blend, rank, unit_rows
from recagents.recommender.split import Split
from recagents.recommender.train import split_path
from recagents.services import ServiceContext
from recagents.services.catalog import filter_items
from recagents.services.graph_text import build_graph_text, graph_text_recommend
from recagents.services.requests import FilterRequest
from recagents.stores.metadata import MetadataStore, load_metadata, make_engine

LIKED = {1: 5, 50: 5, 100: 4}  # Toy Story, Star Wars, Fargo (all embedded in the test index)
TEXT = "astronauts stranded in space"


def _context(settings, url, rec, vectors, swing, holdout="none") -> ServiceContext:
    store = MetadataStore(make_engine(url, read_only=True))
    return ServiceContext(settings, store, rec, vectors, swing, holdout=holdout)


def _release(ctx: ServiceContext) -> None:  # the session's vector store stays open
    if ctx.graph_text is not None:
        ctx.graph_text.close()
    ctx.store.close()


@pytest.fixture(scope="module")
def gt_ctx(tool_settings, sqlite_url, tool_recommender, tool_vectors, swing_index):
    ctx = _context(tool_settings, sqlite_url, tool_recommender, tool_vectors, swing_index)
    build_graph_text(ctx)
    yield ctx
    _release(ctx)


def _all_vectors(ctx, ids=range(1, 161)) -> tuple[np.ndarray, np.ndarray]:
    got = ctx.get_graph_text().vectors_of(ids)
    keys = np.array(sorted(got))
    return keys, np.stack([got[i] for i in keys])


def test_build_is_skipped_while_its_inputs_hold(gt_ctx, vector_items):
    built, detail = build_graph_text(gt_ctx)
    assert not built and "matches" in detail
    assert gt_ctx.get_graph_text().count() == len(vector_items)


def test_alpha_0_is_the_history_and_1_the_text(gt_ctx):
    history_only = graph_text_recommend(gt_ctx, history=LIKED, k=10)
    text_only = graph_text_recommend(gt_ctx, text=TEXT, k=10)
    assert text_only.ranked_by == "text" and not text_only.fallback
    at_0 = graph_text_recommend(gt_ctx, history=LIKED, text=TEXT, alpha=0.0, k=10)
    at_1 = graph_text_recommend(gt_ctx, history=LIKED, text=TEXT, alpha=1.0, k=10)
    assert history_only.ranked_by == "history" and at_0.ranked_by == "blend"
    assert at_0.item_ids == history_only.item_ids
    # alpha 1: the text alone (Qdrant's search = the exact numpy search), the history unseen
    ids, matrix = _all_vectors(gt_ctx)
    query = gt_ctx.get_vectors().embedder.embed_query(TEXT)
    assert at_1.item_ids == rank(unit_rows(matrix), ids, query, 10, exclude=set(LIKED))
    middle = graph_text_recommend(gt_ctx, history=LIKED, text=TEXT, alpha=0.5, k=10)
    liked = gt_ctx.get_graph_text().vectors_of(LIKED)
    user = sum(LIKED[i] * liked[i] for i in LIKED) / sum(LIKED.values())
    expected = rank(unit_rows(matrix), ids, blend(user, query, 0.5), 10, exclude=set(LIKED))
    assert middle.item_ids == expected and middle.history_used == sorted(LIKED)
    assert not set(middle.item_ids) & set(LIKED)


@pytest.mark.parametrize("alpha", [-0.01, 1.5, True])
def test_alpha_out_of_range_is_an_invalid_argument(gt_ctx, alpha):
    with pytest.raises(InvalidArgumentError, match="alpha"):
        graph_text_recommend(gt_ctx, history=LIKED, text=TEXT, alpha=alpha)


def test_unusable_history_falls_back_to_the_text_saying_so(gt_ctx):
    disliked = graph_text_recommend(gt_ctx, history={1: 1, 50: 2}, text=TEXT, alpha=0.2)
    assert disliked.ranked_by == "text" and disliked.fallback
    assert "liked" in disliked.reason and "text" in disliked.reason
    assert not {1, 50} & set(disliked.item_ids)
    unknown = graph_text_recommend(gt_ctx, history=[99999], text=TEXT)
    assert unknown.fallback and unknown.dropped == [99999] and unknown.ranked_by == "text"


def test_no_text_and_no_usable_history_is_flagged_popularity(gt_ctx):
    nothing = graph_text_recommend(gt_ctx, history={1: 1}, k=5)
    assert nothing.ranked_by == "popularity" and nothing.fallback
    assert "popularity" in nothing.reason and 1 not in nothing.item_ids
    assert len(nothing.items) == 5
    empty = graph_text_recommend(gt_ctx, k=5)
    assert empty.ranked_by == "popularity" and empty.fallback


def test_known_user_never_gets_a_seen_item(gt_ctx):
    out = graph_text_recommend(gt_ctx, user_id=2, text=TEXT, alpha=0.3, k=20)
    seen = {r["item_id"] for r in gt_ctx.history(2)}
    assert out.ranked_by == "blend" and out.items and not seen & set(out.item_ids)
    with pytest.raises(UnknownUserError):
        graph_text_recommend(gt_ctx, user_id=99999, text=TEXT)


def test_hard_filters_are_payload_filters_with_the_sql_meaning(gt_ctx):
    conditions = FilterRequest(
        genres=["Comedy"], release_year=[{"request": "at_least", "threshold": 1990}]
    )
    out = graph_text_recommend(gt_ctx, history=LIKED, text=TEXT, conditions=conditions, k=50)
    allowed = set(filter_items(gt_ctx, conditions).item_ids)
    assert out.items and set(out.item_ids) <= allowed
    embedded = allowed & set(range(1, 161)) - set(LIKED)
    assert set(out.item_ids) == embedded or len(out.items) == 50


def _without(ratings, user: int, item: int):
    keep = ~((ratings.user_id == user) & (ratings.item_id == item))
    assert (~keep).sum() == 1
    return ratings[keep]


def test_the_test_view_never_uses_test_interactions(
    tmp_path, tool_settings, catalog, ratings_df, users_df, tool_recommender, tool_vectors,
    swing_index, sqlite_url,
):  # fmt: skip
    split = Split.load(split_path(tool_settings))
    pick = lambda part: next(p for p in split.part(part).tolist() if p[1] <= 160)  # noqa: E731
    base = _context(tool_settings, sqlite_url, tool_recommender, tool_vectors, swing_index, "test")
    stores = []
    try:
        build_graph_text(base, force=True)
        before = _all_vectors(base)[1]
        vectors = {}
        for part in ("test", "train"):
            user, item = pick(part)
            url = f"sqlite:///{tmp_path / part}.sqlite"
            engine = make_engine(url)
            load_metadata(engine, catalog, users_df, _without(ratings_df, user, item),
                          show_progress=False)  # fmt: skip
            engine.dispose()
            ctx = _context(tool_settings, url, tool_recommender, tool_vectors, swing_index, "test")
            stores.append(ctx)
            build_graph_text(ctx, force=True)
            vectors[part] = _all_vectors(ctx)[1]
        np.testing.assert_array_equal(vectors["test"], before)  # a hidden rating: no change
        assert not np.allclose(vectors["train"], before)  # a visible one: the graph changed
    finally:
        build_graph_text(base, force=True)
        for ctx in [*stores, base]:
            _release(ctx)
