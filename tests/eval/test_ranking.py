"""`recagents eval ranking`: BPR against RecBole's own numbers, the runner without an LLM, its
wiring with a scripted LLM (ablations, cache, tuning on the valid view), and one small run with
the real local 0.5B (marker llm) plus its cached re-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from recagents.agents import RecRequest, recommend_with_agents
from recagents.agents.config import AgentsConfig, tuned_config_path
from recagents.cli import eval as cli_eval
from recagents.eval import arag_runs
from recagents.eval.baselines import bpr_check
from recagents.eval.ranking import run_ranking
from recagents.eval.ranking_run import RankingOptions, view_context
from recagents.eval.report import write_report
from recagents.recommender.split import Split
from recagents.recommender.train import split_path
from recagents.services import ServiceContext
from recagents.stores.metadata import MetadataStore, make_engine
from tests.agents.conftest import arag_reply

ARAG_METHODS = ("arag_llm", "arag_fused", "arag_llm_no_nli", "arag_llm_no_cs")


@pytest.fixture(scope="module")
def store(sqlite_url):
    store = MetadataStore(make_engine(sqlite_url, read_only=True))
    yield store
    store.close()


@pytest.fixture
def scripted(scripted_llm):
    """An LLMHandle whose chat model answers every ARAG agent with valid JSON (wiring only)."""
    return lambda **options: scripted_llm(arag_reply(**options))


@pytest.fixture
def eval_settings(tool_settings, tool_recommender, tmp_path):
    """The fixture's trained BPR (and split, metrics.json) under a data_dir of this test only:
    reports, the LLM cache and a tuned agents.yaml land in tmp_path."""
    (tmp_path / "bpr").symlink_to(tool_settings.checkpoint_dir, target_is_directory=True)
    return tool_settings.model_copy(update={"data_dir": tmp_path})


@pytest.fixture
def services(eval_settings, store, tool_recommender):
    return ServiceContext(eval_settings, store, recommender=tool_recommender)


def tiny_config(pool: int = 6, generated: bool = False, **ranker) -> AgentsConfig:
    """A small pool; ``generated``: the earlier design (generated verdicts and permutation)."""
    method = "generate" if generated else "score"
    ranker = {"method": "generate" if generated else "fusion", **ranker}
    return AgentsConfig.model_validate(
        {
            "retrieval": {"pool_size": pool},
            "nli": {"chunk_size": pool, "min_keep": 4, "method": method},
            "ranker": ranker,
        }
    )


def check_report(report: dict) -> None:
    for name, entry in report["methods"].items():
        if entry["users"] == 0:  # e.g. @pool: no sampled user has a test item in the pool
            assert all(ci["mean"] is None for ci in entry["metrics"].values()), name
            continue
        for key, ci in entry["metrics"].items():
            assert 0.0 <= ci["lo"] <= ci["mean"] <= ci["hi"] <= 1.0, (name, key, ci)
    for name, per_user in report["rankings"].items():
        for user, ranked in per_user.items():
            assert len(ranked) == len(set(ranked)), (name, user)
            if name == "pool" or name.startswith("arag_"):
                assert set(ranked) <= set(report["pools"][user]), (name, user)


def scores(report: dict) -> dict:
    """The numbers (not the timings) of every method."""
    return {n: (e["metrics"], e["vs_reference"]) for n, e in report["methods"].items()}


# --- BPR = RecBole's test evaluation ---------------------------------------------------------
def test_bpr_metrics_equal_recboles(services):
    """Every test user, full catalogue, train + valid masked (RecBole's full-sort test phase)."""
    check = bpr_check(view_context(services, "test"), _test_targets(services))
    assert check["same_model"]
    assert set(check["recbole"]) == {"ndcg@10", "recall@10", "hit@10", "mrr@10"}
    assert check["max_abs_diff"] <= 1e-3, check


def _test_targets(services) -> dict[int, set[int]]:
    return Split.load(split_path(services.settings)).per_user("test")


# --- without an LLM ----------------------------------------------------------------------------
def test_no_llm_run_and_report(services, eval_settings):
    options = RankingOptions(users=6, seed=1, llm=False, resamples=200, progress=False)
    report = run_ranking(services, options, config=tiny_config())
    assert set(report["methods"]) == {"popularity", "bpr", "swing", "pool", "pool@pool"}
    assert len(report["users"]) == 6 and report["model"] is None and not report["cost"]
    check_report(report)
    targets = _test_targets(services)
    for user in report["users"]:
        history = {r["item_id"] for r in view_context(services, "test").history(user)}
        for name in ("popularity", "bpr", "swing"):
            ranked = report["rankings"][name][user]
            assert not set(ranked) & history and len(ranked) <= 10
        # no query text: the pool is BPR's top-N, in BPR's order
        assert report["rankings"]["pool"][user] == report["rankings"]["bpr"][user][:6]
        assert targets[user]
    assert report["methods"]["bpr"]["reference"] is None
    assert report["methods"]["pool@pool"]["relevant"] == "test items inside the pool"
    assert report["methods"]["popularity"]["vs_reference"]["ndcg@10"]["mean"] is not None

    path = write_report(report, eval_settings.data_dir)
    assert path.parent.parent == eval_settings.data_dir / "reports"
    saved = json.loads(path.read_text())
    assert saved["methods"]["bpr"]["metrics"]["ndcg@10"]["mean"] == pytest.approx(
        report["methods"]["bpr"]["metrics"]["ndcg@10"]["mean"]
    )
    names = {p.name for p in path.parent.iterdir()}
    assert {"report.json", "report.md", "metrics.png", "tradeoff.png"} <= names
    assert "| `swing` |" in (path.parent / "report.md").read_text()


def test_cli_no_llm_prints_one_json_line(eval_settings, sqlite_url, monkeypatch):
    settings = eval_settings.model_copy(update={"database_url": sqlite_url})
    monkeypatch.setattr(cli_eval, "get_settings", lambda: settings)
    args = ["ranking", "--no-llm", "--users", "3", "--resamples", "50", "--json"]
    result = CliRunner().invoke(cli_eval.eval_app, args)
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(last["methods"]) == {"popularity", "bpr", "swing", "pool", "pool@pool"}
    assert 0 <= last["methods"]["bpr"]["ndcg@10"] <= 1 and last["users"] == 3
    assert Path(last["report"]).is_file() and str(settings.data_dir) in last["report"]


# --- wiring with a scripted LLM ------------------------------------------------------------------
def test_ablation_switches(services, scripted):
    handle = scripted()
    ctx = view_context(services, "test")
    config = tiny_config(generated=True)
    req = RecRequest(user_id=13, k=3)
    no_nli = recommend_with_agents(ctx, req, handle, config=config.ablated(nli=False))
    assert no_nli.blackboard["verdicts"] == []
    assert no_nli.blackboard["accepted"] == no_nli.candidates
    assert not any("TASK (NLI)" in c for c in handle.chat_model.calls)
    handle.chat_model.calls.clear()
    no_cs = recommend_with_agents(ctx, req, handle, config=config.ablated(context_summary=False))
    assert not any("TASK (Context Summary)" in c for c in handle.chat_model.calls)
    assert "NLI verdicts" in no_cs.blackboard["summary"]  # the ranker reads the evidence itself
    assert no_cs.usage.llm_rounds == 2 and not no_cs.fallback
    assert config.nli.enabled and config.context_summary.enabled  # the original is untouched


def test_scored_run_rows_generated_rows_and_the_sampled_protocol(services, scripted):
    handle = scripted()
    options = RankingOptions(users=3, seed=5, k=3, resamples=100, progress=False, generated=1,
                             sampled=2)  # fmt: skip
    config = tiny_config(pool=20, fusion_weight=0.5)
    report = run_ranking(services, options, llm=handle, config=config)
    check_report(report)
    assert {"arag_llm", "arag_fused", "arag_generated", "arag_generated_fused"} <= set(
        report["methods"]
    )
    assert "arag_llm_no_nli" not in report["methods"]  # ablations belong to the generated design
    assert report["checks"]["fused_order_mismatches"] == []
    assert set(report["cost"]) == {"full", "generated"} and len(report["cost"]["generated"]) == 1
    # the order needs only the scores: one scoring prompt per candidate, no profile, no prose
    for user, cost in report["cost"]["full"].items():
        assert cost["llm_calls"] == len(report["pools"][user]) and cost["tokens_out"] == 0
    sampled = report["sampled"]
    assert sampled["users"] == 2 and sampled["candidates"] == 20
    assert set(sampled["methods"]) == {"random", "popularity", "engine", "llm", "fused"}
    for name, entry in sampled["methods"].items():
        assert 0 <= entry["ndcg@5"]["mean"] <= entry["hit@5"]["mean"] <= 1, name
        assert ("vs_engine" in entry) == (name != "engine")


def test_scripted_run_ablations_and_cache(services, scripted, eval_settings):
    handle = scripted()
    options = RankingOptions(users=3, seed=5, k=3, resamples=100, progress=False)
    config = tiny_config(pool=20, generated=True, fusion_weight=0.5)
    first = run_ranking(services, options, llm=handle, config=config)
    for name in ARAG_METHODS:
        assert name in first["methods"] and f"{name}@pool" in first["methods"]
    assert first["checks"]["fused_order_mismatches"] == []
    assert "pool_differs" not in first["checks"]
    check_report(first)
    assert first["methods"]["arag_fused@pool"]["users"] >= 1
    cost = first["cost"]
    assert set(cost) == {"full", "no_nli", "no_cs"}
    # UU, NLI (one chunk), CS, ranker
    assert sum(c["llm_calls"] for c in cost["full"].values()) == 3 * 4
    # the ablations reuse answers with byte-identical prompts (UU; NLI in no_cs) from the cache
    assert all(c["cache_hits"] >= 1 for v in ("no_nli", "no_cs") for c in cost[v].values())
    user = first["users"][0]
    # the scripted ranker reverses the accepted ids: the pure LLM order is the reverse of the pool
    assert first["rankings"]["arag_llm"][user][:3] == list(reversed(first["pools"][user]))[:3]
    calls = len(handle.chat_model.calls)

    again = run_ranking(services, options, llm=handle, config=config)
    assert len(handle.chat_model.calls) == calls  # the chat model was not called
    assert all(c["llm_calls"] == 0 for v in again["cost"].values() for c in v.values())
    assert scores(again) == scores(first) and again["rankings"] == first["rankings"]
    for variant, per_user in first["cost"].items():  # the timings of the run that computed
        assert {u: c["computed"] for u, c in again["cost"][variant].items()} == {
            u: c["computed"] for u, c in per_user.items()
        }
    assert (eval_settings.data_dir / "eval" / "llm_cache.sqlite").is_file()


def test_tuning_uses_the_valid_view_and_writes_the_weight(
    services, scripted, eval_settings, monkeypatch
):
    seen: list[tuple[str, int]] = []
    original = arag_runs.arag_once

    def spy(ctx, llm, cache, config, user, k):
        seen.append((ctx.holdout, user))
        return original(ctx, llm, cache, config, user, k)

    monkeypatch.setattr(arag_runs, "arag_once", spy)
    options = RankingOptions(users=2, seed=3, k=3, resamples=50, tune=True, ablations=False,
                             progress=False, grid=(0.0, 0.5, 1.0))  # fmt: skip
    report = run_ranking(services, options, llm=scripted(), config=tiny_config())
    tuning = report["tuning"]
    assert [h for h, _ in seen[:2]] == ["valid", "valid"] and {h for h, _ in seen[2:]} == {"test"}
    valid = Split.load(split_path(eval_settings)).per_user("valid")
    assert all(valid[u] for u in tuning["users"])
    assert set(tuning["grid"]) == {"0.0", "0.5", "1.0"} and tuning["chosen"] in (0.0, 0.5, 1.0)
    assert report["config"]["ranker"]["fusion_weight"] == tuning["chosen"]
    path = tuned_config_path(eval_settings)
    assert yaml.safe_load(path.read_text())["ranker"]["fusion_weight"] == tuning["chosen"]
    loaded = AgentsConfig.load(eval_settings)  # the package's defaults + the tuned override
    assert loaded.ranker.fusion_weight == tuning["chosen"]
    assert loaded.retrieval.pool_size == AgentsConfig().retrieval.pool_size


def test_an_interrupted_run_scores_the_users_done(services, scripted, monkeypatch):
    """Ctrl-C during the LLM part: the users every variant finished are scored, the rest not."""
    original, calls = arag_runs.arag_once, []

    def interrupt_third_user(ctx, llm, cache, config, user, k):
        calls.append(user)
        if len(set(calls)) == 3:
            raise KeyboardInterrupt
        return original(ctx, llm, cache, config, user, k)

    monkeypatch.setattr(arag_runs, "arag_once", interrupt_third_user)
    options = RankingOptions(users=4, seed=5, k=3, resamples=50, progress=False)
    report = run_ranking(services, options, llm=scripted(), config=tiny_config())
    done = list(dict.fromkeys(calls))[:2]
    assert report["users"] == done
    assert report["checks"]["interrupted"] == {"users_done": 2, "users_planned": 4}
    for name, entry in report["methods"].items():  # every row over the same two users
        assert entry["users"] <= 2, name
    assert all(set(per_user) == set(done) for per_user in report["cost"].values())
    check_report(report)


# --- the real local model ----------------------------------------------------------------------
@pytest.mark.llm
def test_real_model_run_then_cached_rerun(services, local_handle, eval_settings):
    options = RankingOptions(users=2, seed=11, k=3, resamples=200, ablations=False,
                             progress=False)  # fmt: skip
    config = tiny_config()
    first = run_ranking(services, options, llm=local_handle, config=config)
    check_report(first)
    assert first["model"]["model"] == local_handle.model
    cost = first["cost"]["full"]
    assert sum(c["llm_calls"] for c in cost.values()) >= 2 * 4
    assert all(c["tokens_in"] > 0 and c["seconds"] > 0 for c in cost.values())
    assert first["checks"]["fused_order_mismatches"] == []
    for user in first["users"]:
        assert sorted(first["rankings"]["arag_fused"][user]) == sorted(first["pools"][user])

    again = run_ranking(services, options, llm=local_handle, config=config)
    assert all(c["llm_calls"] == 0 for c in again["cost"]["full"].values())
    assert scores(again) == scores(first) and again["rankings"] == first["rankings"]
    for user, c in again["cost"]["full"].items():
        assert c["computed"] == first["cost"]["full"][user]["computed"]
        assert c["computed"]["per_node_seconds"]["nli"] > c["per_node_seconds"]["nli"]
    path = write_report(again, eval_settings.data_dir)
    assert (path.parent / "latency.png").is_file()


def test_a_weight_is_chosen_only_when_it_beats_zero_significantly_on_valid():
    """Weight 0 costs no scoring call (NLI skips there): a gain within noise does not pay."""
    within_noise = {0.0: [0.20, 0.30, 0.25, 0.10] * 10, 0.1: [0.22, 0.29, 0.25, 0.10] * 10}
    chosen, rule = arag_runs.choose_weight(within_noise, 0.0, 500, 0)
    assert chosen == 0.0 and rule["best_on_valid"] == 0.1 and "not significant" in rule["why"]
    clear = {0.0: [0.2] * 20 + [0.1] * 20, 0.5: [0.3] * 20 + [0.2] * 20, 1.0: [0.0] * 40}
    chosen, rule = arag_runs.choose_weight(clear, 0.0, 500, 0)
    assert chosen == 0.5 and rule["gain_vs_0"]["significant"] and "why" not in rule
    best_is_zero = {0.0: [0.3] * 10, 0.5: [0.2] * 10}
    assert arag_runs.choose_weight(best_is_zero, 0.5, 500, 0)[0] == 0.0
