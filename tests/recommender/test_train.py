"""The short-schedule BPR run: metrics, files, and that it beats popularity."""

from __future__ import annotations

import json

import pytest
import torch

from recagents.errors import InvalidArgumentError
from recagents.recommender import compat
from recagents.recommender.train import (
    METRIC_KEYS,
    checkpoint_path,
    metrics_path,
    read_metrics,
    train_bpr,
)

from .conftest import SHORT_EPOCHS, make_settings


def test_bpr_beats_popularity_on_the_same_split(bpr_run):
    metrics = bpr_run.metrics
    assert metrics["test"]["ndcg@10"] > metrics["popularity_test"]["ndcg@10"]
    assert metrics["test"]["recall@10"] > metrics["popularity_test"]["recall@10"]
    assert metrics["valid"]["ndcg@10"] > metrics["popularity_valid"]["ndcg@10"]


def test_metrics_json_has_the_documented_schema(bpr_run):
    on_disk = json.loads(metrics_path(bpr_run.settings).read_text())
    assert on_disk == bpr_run.metrics == read_metrics(bpr_run.settings)
    assert on_disk["model"] == "BPR"
    for section in ("valid", "test", "popularity_test"):
        assert set(on_disk[section]) == set(METRIC_KEYS)
        assert all(0.0 <= v <= 1.0 for v in on_disk[section].values())
    assert 0 <= on_disk["best_epoch"] < on_disk["epochs_run"] <= SHORT_EPOCHS
    assert on_disk["train_seconds"] > 0
    assert on_disk["config"]["embedding_size"] > 0
    assert on_disk["n_users"] == 943 and on_disk["n_items"] == 1682


def test_overrides_win_and_command_line_flags_are_ignored(bpr_run):
    # the fixture put --epochs=2 --learning_rate=0.5 into sys.argv during training
    config = bpr_run.metrics["config"]
    assert config["epochs"] == SHORT_EPOCHS
    assert config["learning_rate"] != 0.5
    assert bpr_run.metrics["epochs_run"] > 2


def test_nothing_is_written_to_the_working_directory(bpr_run):
    assert bpr_run.cwd_after == []


def test_checkpoint_logs_and_events_live_under_the_checkpoint_dir(bpr_run):
    out = bpr_run.settings.checkpoint_dir
    assert out == bpr_run.settings.data_dir / "bpr"
    assert checkpoint_path(bpr_run.settings).is_file()
    logs = list((out / "logs").glob("bpr-*.log"))
    assert len(logs) == 1 and "evaluating" in logs[0].read_text()
    assert list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]  # no half-written files


def test_exported_checkpoint_loads_without_unpickling_code(bpr_run):
    state = torch.load(checkpoint_path(bpr_run.settings), weights_only=True)
    assert state["model"] == "BPR"
    assert state["scores"].shape == (len(state["user_ids"]), len(state["item_ids"])) == (944, 1683)
    assert state["item_vectors"].shape == (1683, bpr_run.metrics["config"]["embedding_size"])
    assert state["interactions"].shape == (100_000, 2)


def test_recbole_native_checkpoint_needs_and_gets_the_compat_loader(bpr_run):
    native = bpr_run.settings.checkpoint_dir / "recbole" / "BPR-best.pth"
    state = compat.load_recbole_checkpoint(native)
    assert state["epoch"] == bpr_run.metrics["best_epoch"]
    assert state["config"]["model"] == "BPR"


def test_zero_epochs_is_refused_before_training(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(InvalidArgumentError, match="epochs must be at least 1"):
        train_bpr(settings, overrides={"epochs": 0}, show_progress=False)
    assert not checkpoint_path(settings).exists()
