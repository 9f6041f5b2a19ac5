"""The peer replay over a real metadata store (SQLite fixture; MariaDB in the mysql run)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from recagents.cli.eval import eval_app
from recagents.errors import DataError
from recagents.eval import peer_compat as pc
from recagents.eval.tools_replay import load_suite, peer_universe, run_replay
from recagents.settings import Settings
from recagents.stores.metadata import MetadataStore, make_engine


@pytest.fixture(scope="module")
def report(metadata_url, suite_dir, tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("replay"), database_url=metadata_url, _env_file=None
    )
    return run_replay(settings, suite_dir, show_progress=False)


@pytest.mark.real_enrichment
def test_replay_matches_the_peer(report):
    assert report.calls >= 60
    assert report.match_rate >= 0.9
    assert report.matches == sum(s["matches"] for s in report.per_tool.values())
    assert set(report.per_tool) == set(pc.PEER_DATA_ONLY)
    assert report.universe_size == 1540
    for mismatch in report.mismatches:
        assert mismatch["reason"] and mismatch["tool"] in pc.PEER_DATA_ONLY
    # the model-dependent calls are not replayed, and say so
    assert set(report.skipped) == {"get_top_k_recommendations_tool", "vector_store_search_tool"}


@pytest.mark.real_enrichment
def test_every_residual_mismatch_is_the_peer_quoting_quirk(report):
    """Documented: the peer kept raw CSV quoting in some text fields. Anything else is a bug."""
    for mismatch in report.mismatches:
        assert "raw CSV quoting" in mismatch["reason"], mismatch


@pytest.mark.real_enrichment
def test_peer_universe_is_the_loader_kept_records(metadata_url, catalog):
    store = MetadataStore(make_engine(metadata_url, read_only=True))
    try:
        universe = peer_universe(store)
    finally:
        store.close()
    assert len(universe) == 1540
    assert {50, 98} - universe == {50, 98}  # multi-line descriptions: the peer never saw them
    assert universe <= {c["item_id"] for c in catalog if c["enriched"]}


@pytest.mark.real_enrichment
def test_cli_prints_one_json_line(sqlite_url, suite_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RECAGENTS_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(
        eval_app,
        ["tools-replay", "--suite", str(suite_dir), "--database-url", sqlite_url, "--json"],
    )
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"match_rate", "calls", "mismatches"} <= set(last)
    assert last["match_rate"] >= 0.9 and last["calls"] >= 60


def test_bad_suite_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="evaluation_easy.json"):
        load_suite(tmp_path)
    (tmp_path / "evaluation_easy.json").write_text("{not json")
    with pytest.raises(DataError, match="not readable JSON"):
        load_suite(tmp_path)


def test_translation_and_rendering():
    name, args = pc.translate_call(
        "item_filter_tool",
        {"director": ["Quentin Tarantino"], "release_date": {"request": "lower", "threshold": 1996},
         "country": "unk", "producer": []},
    )  # fmt: skip
    assert name == "filter_items"
    assert args == {"directors": ["Quentin Tarantino"],
                    "release_year": {"request": "lower", "threshold": 1996}}  # fmt: skip
    assert pc.translate_call("get_popular_items_tool", {"popularity": "standard", "k": 3}) == (
        "popular_items",
        {"k": 3},
    )
    with pytest.raises(pc.UntranslatableCall):
        pc.translate_call("get_item_metadata_tool", {"items": [1], "get": ["n_ratings_kid"]})
    assert pc.join_names(["A"]) == "A"
    assert pc.join_names(["A", "B"]) == "A and B"
    assert pc.join_names(["A", "B", "C"]) == "A, B, and C"
    assert pc.join_names([]) == "unknown"
    assert pc.raw_csv_quirk('"He said ""hi"""', 'He said "hi"')
    assert not pc.raw_csv_quirk("He said hi", "He said hi!")


def test_interaction_ties_are_recognised():
    stamps = {1: 10, 2: 20, 3: 20, 4: 30}
    expected = {"status": "success", "data": ["1", "2", "3", "4"]}
    reason = pc.compare(
        "get_interacted_items_tool", expected, "success", ["1", "3", "2", "4"], stamps
    )
    assert reason.startswith(pc.TIE_EQUIVALENT)
    wrong = pc.compare(
        "get_interacted_items_tool", expected, "success", ["2", "1", "3", "4"], stamps
    )
    assert not wrong.startswith(pc.TIE_EQUIVALENT)
