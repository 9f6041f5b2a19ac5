"""Engine choice: any RecBole general recommender trains from the shared YAML, exports a score
matrix the service ranks with, on BPR's exact split, and our metrics reproduce RecBole's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recagents.errors import InvalidArgumentError, NotBuiltError
from recagents.eval.engines import parse_engines, recbole_check, run_engines
from recagents.recommender.inference import Recommender, get_recommender
from recagents.recommender.split import HistoryView, Split
from recagents.recommender.train import checkpoint_path, read_metrics, split_path, train_engine
from recagents.settings import ENGINES, Settings, engine_name

from .conftest import make_settings

# short schedules: the point is the plumbing and RecBole agreement, not the best model
SHORT = {"EASE": None, "MultiVAE": {"epochs": 2}, "LightGCN": {"epochs": 2}}


@pytest.fixture(scope="module")
def engines(bpr_run):
    """EASE, Mult-VAE and LightGCN trained into the BPR run's data dir (so beside its split)."""
    metrics = {
        name: train_engine(bpr_run.settings, name, overrides=over, show_progress=False)
        for name, over in SHORT.items()
    }
    return bpr_run.settings, metrics


def test_engine_names_are_recbole_class_names_case_insensitively(tmp_path):
    assert engine_name("ease") == "EASE" and engine_name(" lightgcn ") == "LightGCN"
    assert engine_name("NeuMF") == "NeuMF"  # any other RecBole model is kept as written
    settings = Settings(data_dir=tmp_path, recommender="multivae", _env_file=None)
    assert settings.recommender == "MultiVAE"
    assert settings.checkpoint_dir == tmp_path.resolve() / "multivae"
    assert settings.engine_dir("BPR") == tmp_path.resolve() / "bpr"
    assert all(settings.engine_config(e).is_file() for e in ENGINES)


@pytest.mark.parametrize(
    ("name", "message"),
    [("NotAModel", "is not a RecBole model"), ("SASRec", "not a RecBole general recommender")],
)
def test_only_general_recommenders_train(tmp_path, name, message):
    settings = make_settings(tmp_path)
    with pytest.raises(InvalidArgumentError, match=message):
        train_engine(settings, name, show_progress=False)
    assert not checkpoint_path(settings, name).exists()


def test_each_engine_writes_its_own_checkpoint_on_bprs_split(engines, bpr_run):
    settings, metrics = engines
    bpr_split = Split.load(split_path(settings, "BPR"))
    for name, m in metrics.items():
        assert m["model"] == name and read_metrics(settings, name) == m
        assert checkpoint_path(settings, name) == settings.data_dir / name.lower() / (
            f"{name.lower()}.pth"
        )
        split = Split.load(split_path(settings, name))
        for part in ("train", "valid", "test"):
            assert np.array_equal(split.part(part), bpr_split.part(part)), (name, part)
        # Pop is evaluated on the same split whatever loaders the engine uses
        assert m["popularity_test"] == bpr_run.metrics["popularity_test"]
        state = torch.load(checkpoint_path(settings, name), weights_only=True)
        assert state["scores"].shape == (944, 1683)
    assert metrics["EASE"]["config"]["reg_weight"] == 250.0  # its own YAML's key


def test_our_metrics_of_every_engine_reproduce_recboles(engines):
    """The exported score matrix IS the model: full-sort top-10 with train + valid masked gives
    RecBole's own test metrics for each engine."""
    settings, _ = engines
    view = HistoryView.from_split(Split.load(split_path(settings, "BPR")), "test")
    targets = Split.load(split_path(settings, "BPR")).per_user("test")
    for name in SHORT:
        check = recbole_check(Recommender.load(settings, name), settings, view, targets)
        assert check["same_model"], name
        assert check["max_abs_diff"] is not None and check["max_abs_diff"] < 1e-3, (name, check)


def test_the_service_ranks_with_the_active_engine(engines, ml100k_ratings):
    settings, _ = engines
    active = settings.model_copy(update={"recommender": "EASE"})
    rec = get_recommender(active)
    assert rec.model == "EASE" and get_recommender(active) is rec
    assert get_recommender(settings).model == "BPR"  # the default is untouched
    top = rec.top_k(17, k=10)
    assert top.model == "EASE" and len(top.item_ids) == 10
    assert not set(top.item_ids) & ml100k_ratings[17]  # nothing seen
    assert set(top.item_ids) <= set(rec.item_ids)
    inside = rec.top_k(17, k=5, candidates=[1, 50, 100, 181, 258, 300])
    assert set(inside.item_ids) <= {1, 50, 100, 181, 258, 300} - ml100k_ratings[17]
    unknown = rec.top_k(99_999, k=3)
    assert unknown.fallback and unknown.model == "popularity"


def test_fold_in_works_without_embeddings(engines):
    """EASE has no embeddings: fold-in uses its score profiles; the history is left out."""
    settings, _ = engines
    rec = Recommender.load(settings, "EASE")
    scores = rec.fold_in_scores({1: 5.0, 50: 4.0})
    assert scores and 1 not in scores and 50 not in scores
    assert all(np.isfinite(v) for v in scores.values())
    lightgcn = torch.load(checkpoint_path(settings, "LightGCN"), weights_only=True)
    assert lightgcn["item_vectors"].shape == (1683, 64)  # propagated embeddings


def test_a_missing_engine_says_how_to_train_it(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(NotBuiltError, match="recagents train --model ItemKNN"):
        Recommender.load(settings, "itemknn")


def test_eval_rows_per_engine(engines):
    settings, _ = engines
    split = Split.load(split_path(settings, "BPR"))
    targets = split.per_user("test")
    users = sorted(u for u, t in targets.items() if t)[:25]
    rankings, seconds, checks = run_engines(
        settings,
        parse_engines("EASE,multivae,BPR"),
        users=users,
        view=HistoryView.from_split(split, "test"),
        targets=targets,
        progress=False,
    )
    assert set(rankings) == {"ease", "multivae"}  # BPR is the baseline row, not repeated
    for method, per_user in rankings.items():
        assert set(per_user) == set(users) and seconds[method] >= 0
        assert not checks[method]["trained_now"] and checks[method]["max_abs_diff"] < 1e-3
        for u in users:
            assert len(per_user[u]) == 10 and not set(per_user[u]) & split.per_user("train")[u]
    assert parse_engines("all") == ENGINES and parse_engines(None) == ()
