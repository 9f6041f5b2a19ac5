"""``eval tools``: the chain / filter / constraint metrics on hand-made cases, and the runner end
to end on suite queries with a SCRIPTED planner (wiring only: never evidence about a model)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from recagents.assistant import Assistant, AssistantConfig
from recagents.cli.eval import eval_app
from recagents.errors import DataError
from recagents.eval import tool_use
from recagents.eval.tool_use_metrics import (
    HEADLINE_KEYS,
    chain_f1,
    filter_accuracy,
    normalise_chain,
    normalise_filter,
    peer_chain,
    peer_filter,
    summary,
)
from recagents.settings import Settings


# --- metrics -------------------------------------------------------------------------------
def test_display_only_item_metadata_is_dropped():
    assert normalise_chain(["filter_items", "recommend_items", "item_metadata"]) == [
        "filter_items",
        "recommend_items",
    ]
    assert normalise_chain(["recent_interactions", "item_metadata"]) == ["recent_interactions"]
    # item_metadata that feeds the reasoning (after popular_items, or first) stays
    kept = ["filter_items", "popular_items", "item_metadata"]
    assert normalise_chain(kept) == kept
    assert normalise_chain(["item_metadata", "search_plots"]) == ["item_metadata", "search_plots"]
    calls = [{"tool_name": "item_filter_tool"}, {"tool_name": "get_top_k_recommendations_tool"},
             {"tool_name": "get_item_metadata_tool"}]  # fmt: skip
    assert peer_chain(calls) == ["filter_items", "recommend_items"]


def test_chain_f1_over_name_multisets():
    assert chain_f1(["a", "b"], ["a", "b"]) == 1.0
    assert chain_f1(["b", "a"], ["a", "b"]) == 1.0  # order: only the exact match sees it
    assert chain_f1(["a"], ["a", "b"]) == pytest.approx(2 / 3)
    assert chain_f1(["a", "a"], ["a"]) == pytest.approx(2 / 3)
    assert chain_f1([], []) == 1.0
    assert chain_f1([], ["a"]) == 0.0
    assert chain_f1(["c"], ["a"]) == 0.0


def test_filter_arguments_compare_as_bounds_and_lower_cased_names():
    peer = {"genres": ["horror"], "release_year": {"request": "lower", "threshold": 1996},
            "imdb_rating": {"request": "higher", "threshold": 6}}  # fmt: skip
    ours = {"genres": ["Horror"], "release_year": {"request": "at_most", "threshold": 1995},
            "imdb_rating": {"request": "at_least", "threshold": 6.1}}  # fmt: skip
    assert normalise_filter(ours) == normalise_filter(peer)
    assert filter_accuracy(ours, peer) == (1.0, True)
    off_by_one = {**ours, "release_year": {"request": "at_most", "threshold": 1996}}
    acc, exact = filter_accuracy(off_by_one, peer)
    assert acc == pytest.approx(2 / 3) and not exact
    assert filter_accuracy(None, {"genres": ["horror"]}) == (0.0, False)
    assert filter_accuracy({"genres": "not a list of names"}, {"genres": ["x"]})[1] is False
    assert normalise_filter({"bogus_key": 1}) == {"invalid": True}


def test_peer_filter_is_translated_to_ours():
    calls = [{"tool_name": "item_filter_tool",
              "arguments": {"director": ["Quentin Tarantino"], "country": "unk",
                            "release_date": {"request": "lower", "threshold": 1996}}},
             {"tool_name": "get_top_k_recommendations_tool", "arguments": {"user": 1}}]  # fmt: skip
    assert peer_filter(calls) == {"directors": ["Quentin Tarantino"],
                                  "release_year": {"request": "lower", "threshold": 1996}}  # fmt: skip
    assert peer_filter(calls[1:]) is None


def test_summary_means_where_they_apply():
    rows = [
        {"exact": True, "f1": 1.0, "filter_key_acc": 1.0, "filter_exact": True, "in_filter": 1.0,
         "unseen": 1.0, "seconds": 2.0, "full": False, "tokens_in": 100, "tokens_out": 10},
        {"exact": False, "f1": 0.5, "seconds": 4.0, "full": False, "tokens_in": 300,
         "tokens_out": 30},
        {"exact": False, "f1": 0.0, "seconds": 9.0, "full": True, "tokens_in": 200,
         "tokens_out": 20, "error": "boom"},
    ]  # fmt: skip
    s = summary(rows)
    assert set(HEADLINE_KEYS) <= set(s)
    assert s["queries"] == 3 and s["chain_exact"] == 0.333 and s["chain_f1"] == 0.5
    assert s["filter_keys"] == 1.0 and s["filter_exact"] == 1.0  # only where the peer filtered
    assert s["s_per_query_p50"] == 3.0 and s["s_full_p50"] == 9.0
    assert s["tokens_in"] == 200.0 and s["tokens_out"] == 20.0 and s["errors"] == 1


def test_verdict_figures_count_wrong_items_not_reported_shortfalls():
    from recagents.eval.tool_use_metrics import verdict_figures

    verdict = {"satisfied": False, "items": [5, 6, 7, 8],
               "violations": ["Heat (1995) (id 6) breaks genres=['Horror']",
                              "Heat (1995) (id 6) was already rated by user 3",
                              "Alien (1979) (id 8) was already rated by user 3",
                              "count: 4 movies where 5 were asked"]}  # fmt: skip
    figures = verdict_figures(verdict)
    assert figures["items_satisfy"] == 0.5 and not figures["constraints_satisfied"]
    short = verdict_figures({"satisfied": False, "items": [1], "violations": ["count: 1 of 2"]})
    assert short["items_satisfy"] == 1.0 and short["violations"] == ["count: 1 of 2"]


def test_bad_suite_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="evaluation_easy.json"):
        tool_use.load_cases(tmp_path)


# --- the runner with a scripted planner -----------------------------------------------------
HORROR = "easy/example_1"  # "Recommend some horror movies to user 3."
TARANTINO = "easy/example_2"  # "Recommend to user 56 some drama movies directed by Quentin …"
PLANS = {
    HORROR: {  # the peer's chain: filter, then top-k over the filtered items
        "action": "run_tools",
        "steps": [
            {"tool": "filter_items", "args": {"genres": ["Horror"]}},
            {"tool": "recommend_items", "args": {"user_id": 3, "k": 5, "items": "$1"}},
        ],
    },
    TARANTINO: {  # forgets the filter
        "action": "run_tools",
        "steps": [{"tool": "recommend_items", "args": {"user_id": 56, "k": 5}}],
    },
}


@pytest.fixture
def cases(suite_dir):
    by_id = {c["id"]: c for c in tool_use.load_cases(suite_dir)}
    assert len(by_id) == 50
    return [by_id[HORROR], by_id[TARANTINO]]


@pytest.fixture
def opener(agent_services, scripted_llm, cases):
    """opener(model) -> an assistant whose planner answers each case with PLANS[case]."""
    queries = {c["query"]: PLANS[c["id"]] for c in cases}

    def reply(messages):
        text = "\n".join(str(m.content) for m in messages)
        plan = next((p for q, p in queries.items() if q in text), None)
        assert plan is not None, "the planner was not shown a suite query"
        return json.dumps(plan)

    @contextmanager
    def open_(model):
        yield Assistant(
            agent_services,
            scripted_llm(reply),
            checkpointer=InMemorySaver(),
            config=AssistantConfig(recommend_via="engine"),
            mode="plan",
        )

    return open_


def test_runner_scores_the_peer_chain_as_exact(opener, cases, suite_dir, tmp_path):
    with opener("scripted") as assistant:
        rows = tool_use.run_queries(assistant, cases, label="scripted", show_progress=False)
    horror, tarantino = rows
    assert horror["chain"] == horror["peer_chain"] == ["filter_items", "recommend_items"]
    assert horror["exact"] is True and horror["f1"] == 1.0
    assert horror["filter_key_acc"] == 1.0 and horror["filter_exact"] is True
    assert horror["unseen"] == 1.0 and horror["in_filter"] == 1.0
    assert tarantino["chain"] == ["recommend_items"] and tarantino["exact"] is False
    assert tarantino["f1"] == pytest.approx(2 / 3, abs=1e-3)
    assert tarantino["filter_key_acc"] == 0.0 and tarantino["filter_exact"] is False
    assert all(r["seconds"] >= 0 and not r["full"] and "error" not in r for r in rows)


def test_report_and_cli_json_line(opener, cases, suite_dir, tmp_path, monkeypatch):
    real_run = tool_use.run_tool_use

    def scripted_run(settings, suite, models, **kwargs):
        assert kwargs["mode"] == "plan" and kwargs["limit"] == 2
        return real_run(settings, suite, models, **{**kwargs, "opener": opener},
                        show_progress=False)  # fmt: skip

    # the first two suite queries are not ours: run exactly the two scripted cases
    monkeypatch.setattr(tool_use, "load_cases", lambda _suite: cases)
    monkeypatch.setattr(tool_use, "run_tool_use", scripted_run)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    monkeypatch.setattr("recagents.cli.eval.get_settings", lambda: settings)
    result = CliRunner().invoke(
        eval_app,
        ["tools", "--suite", str(suite_dir), "--models", "m1,m2", "--limit", "2", "--json"],
    )
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(last) == {"models", "report"} and set(last["models"]) == {"m1", "m2"}
    for figures in last["models"].values():
        assert set(figures) == set(HEADLINE_KEYS)
        assert figures["chain_exact"] == 0.5 and figures["filter_exact"] == 0.5
        assert figures["unseen"] == 1.0
    path = Path(last["report"])
    assert path.parent.parent == settings.data_dir / "reports"
    assert path.parent.name.endswith("-tools")
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["queries"] == 2 and len(report["models"]["m1"]["rows"]) == 2
    assert "| m1 | 2 | 0.5 |" in (path.parent / "report.md").read_text(encoding="utf-8")
    assert (path.parent / "quality.png").stat().st_size > 0
