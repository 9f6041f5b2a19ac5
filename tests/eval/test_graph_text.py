"""``eval ranking --graph-text`` over the real test stores (BPR 2 epochs, plot vectors of items
1..160): the rows, the choice on valid and the cold-start protocol's table."""

from __future__ import annotations

import pytest

from recagents.eval.graph_text import ALPHA_GRID, COLD_ROWS, LAYERS_GRID
from recagents.eval.ranking import run_ranking
from recagents.eval.ranking_run import RankingOptions
from recagents.eval.report import markdown
from recagents.services import ServiceContext
from recagents.stores.metadata import MetadataStore, make_engine
from tests.eval.test_ranking import check_report, eval_settings, tiny_config  # noqa: F401 (fixture)


@pytest.fixture
def services(eval_settings, sqlite_url, tool_settings, tool_recommender, tool_vectors):  # noqa: F811
    # the session's plot vectors (qdrant_path follows data_dir; the client registry resolves
    # links, so this shares the session's local-mode client)
    (eval_settings.data_dir / "qdrant").symlink_to(
        tool_settings.qdrant_path, target_is_directory=True
    )
    settings = eval_settings
    store = MetadataStore(make_engine(sqlite_url, read_only=True))
    ctx = ServiceContext(settings, store, recommender=tool_recommender, vectors=tool_vectors)
    yield ctx
    store.close()


def test_graph_text_rows_and_cold_start(services):
    options = RankingOptions(
        users=8, seed=1, llm=False, resamples=100, progress=False, graph_text=True, cold_users=12
    )
    report = run_ranking(services, options, config=tiny_config())
    check_report(report)
    assert {"text_mean", "graph_text"} <= set(report["methods"])
    assert report["methods"]["graph_text"]["reference"] == "bpr"
    section = report["graph_text"]
    assert section["layers"] in LAYERS_GRID and section["alpha"] in ALPHA_GRID
    assert set(section["choice"]["layers"]["grid"]) == set(LAYERS_GRID)
    cold = section["cold_start"]
    assert cold["users"] == 12 and list(cold["methods"]) == list(COLD_ROWS)
    assert cold["methods"]["bpr_foldin"]["vs_reference"] == {}
    for entry in cold["methods"].values():
        ci = entry["metrics"]["ndcg@10"]
        assert 0 <= ci["lo"] <= ci["mean"] <= ci["hi"] <= 1
    assert "Cold start: 5 liked items given, 12 test users" in markdown(report)


def test_the_eval_needs_no_test_items_to_choose(services):
    """L and alpha are chosen on the valid view: its users' targets are valid items."""
    options = RankingOptions(
        users=4, seed=2, llm=False, resamples=50, progress=False, graph_text=True, cold_users=6
    )
    choice = run_ranking(services, options, config=tiny_config())["graph_text"]["choice"]
    assert choice["view"] == "valid" and choice["alpha"]["layers"] == choice["layers"]["chosen"]
